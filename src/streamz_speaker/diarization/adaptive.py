"""Adaptive windows: run the segmentation on a coarse grid, fill the dense grid where windows agree.

Consecutive 10 s windows at a 1 s step hear 90% of the same audio. Where two computed windows
``left`` and ``right`` (``gap`` steps apart) say the same thing about the audio they share
(same local-speaker activity, up to a permutation of their local speakers), the windows
between them would say it too: their activity is taken from ``left`` before the middle of
the shared audio and from ``right`` (its speakers renamed to ``left``'s) after it, each
frame from the window whose frame is nearest in time. Where they disagree (a speaker
changes, overlaps, or the model hesitates), the middle window is computed and each half is
checked again, down to the dense step. So the dense grid keeps its chunks (every later
stage is unchanged) while the model runs on a fraction of them.
"""

from __future__ import annotations

from itertools import permutations
from collections.abc import Callable

import numpy as np

from .config import (FRAME_STEP_SECONDS, FRAMES_PER_WINDOW, NUM_LOCAL_SPEAKERS,
                     SEGMENTATION_WINDOW_SECONDS)

_PERMUTATIONS = np.array(list(permutations(range(NUM_LOCAL_SPEAKERS))))


def coarse_indices(first: int, last: int, factor: int, total: int) -> list[int]:
    """Chunks of ``first..last`` (inclusive) computed on the coarse grid.

    Multiples of ``factor``, plus ``last`` and, when it lies in the range, the zero-padded
    last chunk of the recording (``total - 1``), which no neighbour on its right can fill.
    """
    keep = set(range(first + (-first) % factor, last + 1, factor)) | {first, last}
    if first <= total - 1 <= last:
        keep.add(total - 1)
    return sorted(i for i in keep if i < total)


def align(left: np.ndarray, right: np.ndarray, gap: int, *, step_seconds: float,
          tolerance_frames: int = 0) -> tuple[np.ndarray, float]:
    """Best renaming of ``right``'s local speakers to ``left``'s on their shared audio.

    Parameters
    ----------
    left, right : ndarray of shape (num_frames, num_local_speakers)
        Binary activity of two windows; ``right`` starts ``gap * step_seconds`` later.
    gap : int
    step_seconds : float
    tolerance_frames : int
        Differences within this many frames of a speaker change (in either window) are not
        counted: two windows rarely put a turn's edge on the same frame.

    Returns
    -------
    permutation : ndarray of shape (num_local_speakers,), int
        ``right[:, permutation]`` uses ``left``'s speaker order.
    mismatch : float
        Share of the shared frames where the renamed activities differ (1.0 when the two
        windows share less than one frame).
    """
    j, shared = _shared_frames(gap * step_seconds / FRAME_STEP_SECONDS)
    if not shared.any():
        return np.arange(NUM_LOCAL_SPEAKERS), 1.0
    a = left[shared] > 0.5                            # (n, 3)
    b = right[j[shared]] > 0.5                        # (n, 3)
    differs = (a[:, None, :] != b[:, _PERMUTATIONS]).any(axis=2)              # (n, 6)
    if tolerance_frames > 0:
        change = np.zeros(a.shape[0], bool)
        change[1:] = (a[1:] != a[:-1]).any(axis=1) | (b[1:] != b[:-1]).any(axis=1)
        kernel = np.ones(2 * tolerance_frames + 1)
        near = np.convolve(change, kernel, mode="same") > 0
        differs = differs & ~near[:, None]
    counts = differs.sum(axis=0)
    best = int(np.argmin(counts))
    return _PERMUTATIONS[best], float(counts[best]) / a.shape[0]


def interpolate(left: np.ndarray, right: np.ndarray, gap: int, *, step_seconds: float,
                max_mismatch: float, tolerance_frames: int = 0) -> np.ndarray | None:
    """Activity of the ``gap - 1`` windows between two computed ones, or None if they disagree.

    They disagree when, after :func:`align`, more than ``max_mismatch`` of their shared
    frames differ, or when a local speaker slot would join a speaker of ``left`` and another
    of ``right`` that the shared audio does not match (each active outside it only).

    Parameters
    ----------
    left, right : ndarray of shape (num_frames, num_local_speakers)
        Binary activity of windows ``c`` and ``c + gap``.
    gap : int
    step_seconds : float
    max_mismatch : float
    tolerance_frames : int
        See :func:`align`.

    Returns
    -------
    ndarray of shape (gap - 1, num_frames, num_local_speakers), float32, or None
    """
    permutation, mismatch = align(left, right, gap, step_seconds=step_seconds,
                                  tolerance_frames=tolerance_frames)
    if mismatch > max_mismatch:
        return None
    right = right[:, permutation]
    shift = gap * step_seconds / FRAME_STEP_SECONDS
    j, shared = _shared_frames(shift)
    # slots active in both windows on the audio they share: the speakers that audio matched
    matched = (left[shared].max(axis=0) > 0.5) & (right[j[shared]].max(axis=0) > 0.5)
    # the middle of the shared audio, in left's frames
    middle = (shift + FRAMES_PER_WINDOW) / 2
    k = np.arange(FRAMES_PER_WINDOW)
    out = np.empty((gap - 1, FRAMES_PER_WINDOW, left.shape[1]), np.float32)
    for i in range(1, gap):
        offset = i * step_seconds / FRAME_STEP_SECONDS       # window c + i in left's frames
        position = k + offset
        from_left = position < middle
        li = np.clip(np.rint(position).astype(np.int64), 0, FRAMES_PER_WINDOW - 1)
        ri = np.clip(np.rint(position - shift).astype(np.int64), 0, FRAMES_PER_WINDOW - 1)
        out[i - 1] = np.where(from_left[:, None], left[li], right[ri])
        # every slot active in both parts must be a speaker the shared audio matched
        both = ((left[li] * from_left[:, None]).max(axis=0) > 0.5) & \
            ((right[ri] * ~from_left[:, None]).max(axis=0) > 0.5)
        if not np.all(matched[both]):
            return None
    return out


def _shared_frames(shift: float) -> tuple[np.ndarray, np.ndarray]:
    """For each frame ``k`` of a window, the frame of a window ``shift`` frames later at the
    same time (rounded), and whether it lies inside that window."""
    j = np.rint(np.arange(FRAMES_PER_WINDOW) - shift).astype(np.int64)
    return j, (j >= 0) & (j < FRAMES_PER_WINDOW)


def fill(activity: dict[int, np.ndarray], compute: Callable[[list[int]], np.ndarray], *,
         step_seconds: float, max_mismatch: float, tolerance_frames: int = 0,
         min_shared_seconds: float = 4.0) -> dict[int, np.ndarray]:
    """Complete ``activity`` between its consecutive computed windows.

    Parameters
    ----------
    activity : dict of int to ndarray of shape (num_frames, num_local_speakers)
        Computed windows (at least the first and the last of the span). Not modified.
    compute : callable
        ``compute(indices)`` -> activity of those windows, shape
        ``(len(indices), num_frames, num_local_speakers)``; called once per level of
        refinement with every window that level needs.
    step_seconds : float
        Dense window step.
    max_mismatch : float
        See :func:`interpolate`.
    tolerance_frames : int
        See :func:`align`.
    min_shared_seconds : float
        Windows sharing less audio than this are never interpolated between.

    Returns
    -------
    dict of int to ndarray
        Every window from the first to the last key.
    """
    out = dict(activity)
    keys = sorted(out)
    pairs = list(zip(keys[:-1], keys[1:]))
    max_gap = (SEGMENTATION_WINDOW_SECONDS - min_shared_seconds) / step_seconds
    while pairs:
        needed, split = [], []
        for left, right in pairs:
            gap = right - left
            if gap < 2:
                continue
            filled = None
            if gap <= max_gap + 1e-9:
                filled = interpolate(out[left], out[right], gap, step_seconds=step_seconds,
                                     max_mismatch=max_mismatch,
                                     tolerance_frames=tolerance_frames)
            if filled is not None:
                for i in range(1, gap):
                    out[left + i] = filled[i - 1]
                continue
            middle = (left + right) // 2
            needed.append(middle)
            split += [(left, middle), (middle, right)]
        if needed:
            for index, value in zip(needed, compute(needed)):
                out[index] = value
        pairs = split
    return out
