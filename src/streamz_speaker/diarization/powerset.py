"""Powerset <-> multi-label conversion for pyannote segmentation-3.0 outputs."""

from __future__ import annotations

import itertools

import numpy as np

from .config import NUM_LOCAL_SPEAKERS

#: Largest set of simultaneous local speakers segmentation-3.0 predicts.
MAX_SET_SIZE = 2


def powerset_mapping(num_local_speakers: int = NUM_LOCAL_SPEAKERS,
                     max_set_size: int = MAX_SET_SIZE) -> np.ndarray:
    """Binary matrix mapping each powerset class to its set of local speakers.

    Classes are ordered by set size, then lexicographically (pyannote's order): for 3 speakers
    and sets of at most 2 this is ``{}, {A}, {B}, {C}, {A,B}, {A,C}, {B,C}``.

    Parameters
    ----------
    num_local_speakers : int
        Number of local speakers per chunk.
    max_set_size : int
        Largest number of simultaneously active speakers a class may hold.

    Returns
    -------
    mapping : ndarray of shape (num_classes, num_local_speakers), float32
        ``mapping[k, s] == 1`` when local speaker ``s`` is active in class ``k``.
    """
    if num_local_speakers < 1 or not 0 <= max_set_size <= num_local_speakers:
        raise ValueError(f"need num_local_speakers >= 1 and 0 <= max_set_size <= "
                         f"num_local_speakers, got {num_local_speakers}, {max_set_size}")
    rows = []
    for size in range(max_set_size + 1):
        for subset in itertools.combinations(range(num_local_speakers), size):
            row = np.zeros(num_local_speakers, dtype=np.float32)
            row[list(subset)] = 1.0
            rows.append(row)
    return np.stack(rows)


def to_multilabel(logits: np.ndarray, mapping: np.ndarray | None = None) -> np.ndarray:
    """Hard-decode powerset scores into binary per-speaker activity.

    Parameters
    ----------
    logits : ndarray of shape (..., num_classes)
        Powerset scores (log-probabilities or logits), typically
        ``(num_chunks, num_frames, num_classes)``. Only the argmax matters.
    mapping : ndarray of shape (num_classes, num_local_speakers), optional
        From :func:`powerset_mapping`; defaults to 3 speakers, sets of at most 2.

    Returns
    -------
    activity : ndarray of shape (..., num_local_speakers), float32
        1.0 where a local speaker is active, else 0.0; typically
        ``(num_chunks, num_frames, num_local_speakers)``.

    Raises
    ------
    ValueError
        If the last axis does not match the mapping or scores are not finite.
    """
    mapping = powerset_mapping() if mapping is None else np.asarray(mapping, dtype=np.float32)
    logits = np.asarray(logits)
    if logits.ndim < 1 or logits.shape[-1] != mapping.shape[0]:
        raise ValueError(f"expected scores with {mapping.shape[0]} powerset classes on the last "
                         f"axis, got shape {logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError("powerset scores contain NaN or infinite values")
    return mapping[np.argmax(logits, axis=-1)]


def to_powerset(activity: np.ndarray, mapping: np.ndarray | None = None) -> np.ndarray:
    """Map binary per-speaker activity back to powerset class indices.

    Parameters
    ----------
    activity : ndarray of shape (..., num_local_speakers)
        Binary activity (as returned by :func:`to_multilabel`).
    mapping : ndarray of shape (num_classes, num_local_speakers), optional
        Defaults to 3 speakers, sets of at most 2.

    Returns
    -------
    classes : ndarray of shape (...), int64
        Powerset class of every frame.

    Raises
    ------
    ValueError
        If a frame's set of active speakers has no powerset class (too many speakers).
    """
    mapping = powerset_mapping() if mapping is None else np.asarray(mapping, dtype=np.float32)
    activity = np.asarray(activity) > 0.5
    if activity.ndim < 1 or activity.shape[-1] != mapping.shape[1]:
        raise ValueError(f"expected {mapping.shape[1]} local speakers on the last axis, "
                         f"got shape {activity.shape}")
    weights = 1 << np.arange(mapping.shape[1])
    codes = activity.astype(np.int64) @ weights
    lookup = np.full(1 << mapping.shape[1], -1, dtype=np.int64)
    lookup[(mapping > 0.5).astype(np.int64) @ weights] = np.arange(mapping.shape[0])
    classes = lookup[codes]
    if np.any(classes < 0):
        raise ValueError("some frames have more active speakers than the powerset allows")
    return classes
