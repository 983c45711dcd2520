"""Hysteresis thresholding with minimum on/off durations."""

from __future__ import annotations

import numpy as np

from .config import FRAME_STEP_SECONDS, BinarizeConfig


def _runs(track: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding of a 1-D boolean array: (starts, lengths, values)."""
    change = np.flatnonzero(track[1:] != track[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [track.size])))
    return starts, lengths, track[starts]


def _hysteresis(tracks: np.ndarray, onset: float, offset: float) -> np.ndarray:
    # tracks: (num_tracks, num_frames). A frame switches on above onset, off below offset,
    # and otherwise keeps the previous state; the state before the first frame is "off"
    # (pyannote binarize(..., initial_state=False)).
    on = tracks > onset
    defined = on | (tracks < offset)
    idx = np.where(defined, np.arange(tracks.shape[1]), -1)
    idx = np.maximum.accumulate(idx, axis=1)
    state = np.take_along_axis(on, np.maximum(idx, 0), axis=1)
    return state & (idx >= 0)


def _pad(track: np.ndarray, before: int, after: int) -> np.ndarray:
    # Every turn starts `before` frames earlier and ends `after` frames later (clipped).
    starts, lengths, values = _runs(track)
    out = track.copy()
    for s, n in zip(starts[values], lengths[values]):
        out[max(0, s - before): s + n + after] = True
    return out


def _min_durations(track: np.ndarray, min_on: int, min_off: int) -> np.ndarray:
    # Same order as pyannote's Binarize: fill short interior gaps, then drop short turns.
    track = track.copy()
    if min_off > 0:
        starts, lengths, values = _runs(track)
        for s, n, v in zip(starts, lengths, values):
            interior = s > 0 and s + n < track.size
            if not v and interior and n < min_off:
                track[s:s + n] = True
    if min_on > 0:
        starts, lengths, values = _runs(track)
        for s, n, v in zip(starts, lengths, values):
            if v and n < min_on:
                track[s:s + n] = False
    return track


def binarize(scores: np.ndarray, cfg: BinarizeConfig = BinarizeConfig(), *,
             frame_step: float = FRAME_STEP_SECONDS) -> np.ndarray:
    """Turn speaker activation scores into binary activity.

    Parameters
    ----------
    scores : ndarray of shape (num_frames, num_speakers) or (num_chunks, num_frames, num_local_speakers)
        Activation scores in [0, 1]; NaN counts as 0. Binarization runs along the frame axis
        (the second to last) independently for every track.
    cfg : BinarizeConfig
        ``onset``/``offset`` thresholds (a frame turns on when its score is > onset and off
        when it is < offset), ``pad_onset``/``pad_offset`` (every turn widened by that much
        before/after), then ``min_duration_off`` (interior pauses shorter than this are
        filled) and ``min_duration_on`` (turns shorter than this are removed), in seconds.
    frame_step : float
        Seconds between frames; a run of ``n`` frames lasts ``n * frame_step``.

    Returns
    -------
    activity : ndarray, same shape as ``scores``, float32
        1.0 for active frames, else 0.0.

    Examples
    --------
    >>> binarize(np.array([[0.1], [0.9], [0.4], [0.2]]), BinarizeConfig(onset=0.5, offset=0.3))[:, 0]
    array([0., 1., 1., 0.], dtype=float32)
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    if scores.ndim not in (2, 3):
        raise ValueError(f"expected scores of shape (num_frames, num_speakers) or (num_chunks, "
                         f"num_frames, num_local_speakers), got {scores.shape}")
    moved = np.moveaxis(scores, -2, -1)               # (..., tracks, frames)
    tracks = moved.reshape(-1, moved.shape[-1])
    active = _hysteresis(tracks, cfg.onset, cfg.offset)
    # Durations in frames; a tiny tolerance keeps e.g. 0.3 s / 0.016875 s from rounding up.
    min_on = int(np.ceil(cfg.min_duration_on / frame_step - 1e-9))
    min_off = int(np.ceil(cfg.min_duration_off / frame_step - 1e-9))
    before = int(np.rint(cfg.pad_onset / frame_step))
    after = int(np.rint(cfg.pad_offset / frame_step))
    if (before > 0 or after > 0) and active.size:
        active = np.stack([_pad(t, before, after) for t in active])
    if (min_on > 0 or min_off > 0) and active.size:
        active = np.stack([_min_durations(t, min_on, min_off) for t in active])
    return np.moveaxis(active.reshape(moved.shape), -1, -2).astype(np.float32)
