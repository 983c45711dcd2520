"""Overlap-add of chunk-level frame scores onto the global frame timeline, and speaker count."""

from __future__ import annotations

import numpy as np

from .config import (FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS, SEGMENTATION_STEP_SECONDS,
                     SEGMENTATION_WINDOW_SECONDS)


def _closest_frame(t: np.ndarray | float, frame_step: float, frame_duration: float):
    # pyannote.core SlidingWindow.closest_frame with the frames starting at 0: the frame whose
    # middle is closest to t.
    return np.rint((np.asarray(t, dtype=np.float64) - 0.5 * frame_duration) / frame_step
                   ).astype(np.int64)


def chunk_start_frames(num_chunks: int, *, step_seconds: float = SEGMENTATION_STEP_SECONDS,
                       frame_step: float = FRAME_STEP_SECONDS,
                       frame_duration: float = FRAME_DURATION_SECONDS) -> np.ndarray:
    """Index of the global frame where each chunk's first frame lands.

    Chunk ``c`` starts at ``c * step_seconds`` (the zero-padded last chunk too, as in
    pyannote's ``Inference.slide``).

    Returns
    -------
    starts : ndarray of shape (num_chunks,), int64
    """
    chunk_starts = np.arange(num_chunks, dtype=np.float64) * step_seconds
    return _closest_frame(chunk_starts + 0.5 * frame_duration, frame_step, frame_duration)


def num_global_frames(num_chunks: int, *, step_seconds: float = SEGMENTATION_STEP_SECONDS,
                      window_seconds: float = SEGMENTATION_WINDOW_SECONDS,
                      frame_step: float = FRAME_STEP_SECONDS,
                      frame_duration: float = FRAME_DURATION_SECONDS) -> int:
    """Length of the global frame timeline covering ``num_chunks`` chunks (pyannote's formula)."""
    if num_chunks < 1:
        return 0
    end = window_seconds + (num_chunks - 1) * step_seconds
    return int(_closest_frame(end + 0.5 * frame_duration, frame_step, frame_duration)) + 1


def aggregate(scores: np.ndarray, *, step_seconds: float = SEGMENTATION_STEP_SECONDS,
              window_seconds: float = SEGMENTATION_WINDOW_SECONDS,
              frame_step: float = FRAME_STEP_SECONDS,
              frame_duration: float = FRAME_DURATION_SECONDS,
              skip_average: bool = False, missing: float = 0.0) -> np.ndarray:
    """Overlap-add chunk-level frame scores into one global frame timeline.

    Same semantics as pyannote's ``Inference.aggregate`` with ``hamming=False`` and no
    warm-up: every chunk frame contributes with weight 1; NaN scores (e.g. a cluster absent
    from a chunk) contribute nothing; frames no chunk covers get ``missing``.

    Parameters
    ----------
    scores : ndarray of shape (num_chunks, num_frames_per_chunk, num_classes)
        Chunk scores; chunk ``c`` starts at ``c * step_seconds``. The last (zero-padded)
        chunk is aggregated like the others.
    step_seconds : float
        Chunk step (1 s, or 2 s in fast mode).
    window_seconds, frame_step, frame_duration : float
        Chunk and frame geometry of the segmentation model, in seconds.
    skip_average : bool
        Return the sum over overlapping chunks instead of the average.
    missing : float
        Value for global frames that no (non-NaN) chunk frame covers.

    Returns
    -------
    aggregated : ndarray of shape (num_frames, num_classes), float32
        Global frame ``i`` spans ``[i * frame_step, i * frame_step + frame_duration]`` s.

    Raises
    ------
    ValueError
        If ``scores`` is not three-dimensional.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 3:
        raise ValueError(f"expected scores of shape (num_chunks, num_frames, num_classes), "
                         f"got {scores.shape}")
    num_chunks, frames_per_chunk, num_classes = scores.shape
    num_frames = num_global_frames(num_chunks, step_seconds=step_seconds,
                                   window_seconds=window_seconds, frame_step=frame_step,
                                   frame_duration=frame_duration)
    # float32 accumulators as in pyannote, so that rounding (speaker count) matches.
    total = np.zeros((num_frames, num_classes), dtype=np.float32)
    count = np.zeros((num_frames, num_classes), dtype=np.float32)
    starts = chunk_start_frames(num_chunks, step_seconds=step_seconds, frame_step=frame_step,
                                frame_duration=frame_duration)
    for chunk, start in zip(scores, starts):
        mask = ~np.isnan(chunk)
        stop = min(start + frames_per_chunk, num_frames)
        n = stop - start
        total[start:stop] += np.where(mask, chunk, 0.0)[:n]
        count[start:stop] += mask[:n]
    covered = count > 0
    if skip_average:
        out = total
    else:
        out = total / np.maximum(count, 1e-12)
    out[~covered] = missing
    return out


def speaker_count(activity: np.ndarray, *, step_seconds: float = SEGMENTATION_STEP_SECONDS,
                  window_seconds: float = SEGMENTATION_WINDOW_SECONDS,
                  frame_step: float = FRAME_STEP_SECONDS,
                  frame_duration: float = FRAME_DURATION_SECONDS,
                  max_speakers: int | None = None, threshold: float = 0.5) -> np.ndarray:
    """Number of simultaneously active speakers in every global frame.

    For each global frame, the number of active local speakers is averaged over the chunks
    that overlap it and rounded: with ``threshold=0.5`` half-to-even (``np.rint``, as
    pyannote does); otherwise the count is ``n`` when the average is at least
    ``n - 1 + threshold`` (a higher threshold trims turn edges that only some chunks see).

    Parameters
    ----------
    activity : ndarray of shape (num_chunks, num_frames_per_chunk, num_local_speakers)
        Binary local-speaker activity.
    step_seconds, window_seconds, frame_step, frame_duration : float
        Geometry, see :func:`aggregate`.
    max_speakers : int, optional
        Cap the count (pyannote caps it by ``max_speakers``).
    threshold : float in (0, 1)
        Rounding threshold, see above.

    Returns
    -------
    count : ndarray of shape (num_frames,), int32
    """
    activity = np.asarray(activity, dtype=np.float32)
    if activity.ndim != 3:
        raise ValueError(f"expected activity of shape (num_chunks, num_frames, "
                         f"num_local_speakers), got {activity.shape}")
    summed = np.nansum(activity, axis=-1, keepdims=True)
    avg = aggregate(summed, step_seconds=step_seconds, window_seconds=window_seconds,
                    frame_step=frame_step, frame_duration=frame_duration, missing=0.0)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if threshold == 0.5:
        count = np.rint(avg[:, 0]).astype(np.int32)
    else:
        # float32 average: a small tolerance keeps e.g. 0.7 from missing 7/10 chunks
        count = np.floor(avg[:, 0] + (1.0 - threshold) + 1e-5).astype(np.int32)
    if max_speakers is not None:
        count = np.minimum(count, max_speakers)
    return count
