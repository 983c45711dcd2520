"""Clustered local activity -> discrete (frame-level) global diarization."""

from __future__ import annotations

import numpy as np

from .aggregation import aggregate
from .config import (FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS, SEGMENTATION_STEP_SECONDS,
                     SEGMENTATION_WINDOW_SECONDS)

#: hard_clusters value of a local speaker that is inactive or not assigned.
INACTIVE = -2


def clustered_activity(activity: np.ndarray, hard_clusters: np.ndarray,
                       num_speakers: int | None = None) -> np.ndarray:
    """Re-index local-speaker activity by global cluster.

    Parameters
    ----------
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary (or soft) local activity.
    hard_clusters : ndarray of shape (num_chunks, num_local_speakers), int
        Cluster of each local speaker; negative values (``-2``) are ignored.
    num_speakers : int, optional
        Number of clusters; defaults to ``hard_clusters.max() + 1``.

    Returns
    -------
    clustered : ndarray of shape (num_chunks, num_frames, num_speakers), float32
        For each chunk and cluster, the maximum activity of the local speakers assigned to it;
        NaN where no local speaker of the chunk is assigned to the cluster.
    """
    activity = np.asarray(activity, dtype=np.float32)
    hard_clusters = np.asarray(hard_clusters)
    if activity.ndim != 3 or hard_clusters.shape != (activity.shape[0], activity.shape[2]):
        raise ValueError(f"activity {activity.shape} and hard_clusters {hard_clusters.shape} "
                         "must be (num_chunks, num_frames, num_local_speakers) and "
                         "(num_chunks, num_local_speakers)")
    if num_speakers is None:
        num_speakers = int(hard_clusters.max(initial=-1)) + 1
    num_chunks, num_frames, _ = activity.shape
    out = np.full((num_chunks, num_frames, num_speakers), np.nan, dtype=np.float32)
    for k in range(num_speakers):
        assigned = hard_clusters == k                                   # (chunks, local)
        present = assigned.any(axis=1)
        masked = np.where(assigned[:, None, :], activity, -np.inf).max(axis=2)
        out[present, :, k] = masked[present]
    return out


def reconstruct(activity: np.ndarray, hard_clusters: np.ndarray, count: np.ndarray, *,
                exclusive: bool = False, num_speakers: int | None = None,
                centre_weighted: bool = True,
                step_seconds: float = SEGMENTATION_STEP_SECONDS,
                window_seconds: float = SEGMENTATION_WINDOW_SECONDS,
                frame_step: float = FRAME_STEP_SECONDS,
                frame_duration: float = FRAME_DURATION_SECONDS) -> np.ndarray:
    """Build the discrete diarization: per frame, the ``count`` most active clusters.

    As pyannote's ``SpeakerDiarization.reconstruct``: cluster activations are summed over the
    overlapping chunks (no averaging; with ``centre_weighted``, each chunk's frames weighted
    by a Hamming window, so that a frame's cluster is decided mostly by the chunks it is
    central in, where the segmentation has context on both sides and where the clustering
    looked), then in every global frame the ``count[t]`` clusters
    with the highest sum are marked active (ties go to the lower cluster index), among the
    clusters with some activity in that frame: when a frame asks for more speakers than are
    active there, only the active ones are marked (pyannote would pad with a silent speaker
    and mark it, inventing a speaker).

    Parameters
    ----------
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity (decoded segmentation).
    hard_clusters : ndarray of shape (num_chunks, num_local_speakers), int
        Output of clustering; ``-2`` marks inactive/unassigned local speakers.
    count : ndarray of shape (num_global_frames,), int
        Instantaneous speaker count from :func:`aggregation.speaker_count`.
    exclusive : bool
        At most one speaker per frame (the count is clipped to 1).
    num_speakers : int, optional
        Number of clusters (columns); defaults to ``hard_clusters.max() + 1``.
    centre_weighted : bool
        Weight each chunk's frames by a Hamming window (see above).
    step_seconds, window_seconds, frame_step, frame_duration : float
        Geometry, see :func:`aggregation.aggregate`.

    Returns
    -------
    discrete : ndarray of shape (num_global_frames, num_speakers), float32
        1.0 where a speaker is active.
    """
    count = np.asarray(count).astype(np.int64).reshape(-1)
    if exclusive:
        count = np.minimum(count, 1)
    clustered = clustered_activity(activity, hard_clusters, num_speakers)
    if centre_weighted:
        clustered *= np.hamming(clustered.shape[1]).astype(np.float32)[None, :, None]
    activations = aggregate(clustered, step_seconds=step_seconds, window_seconds=window_seconds,
                            frame_step=frame_step, frame_duration=frame_duration,
                            skip_average=True, missing=0.0)
    num_frames = min(activations.shape[0], count.shape[0])
    activations, count = activations[:num_frames], count[:num_frames]
    order = np.argsort(-activations, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(order.shape[1])[None, :], axis=1)
    # A cluster none of whose local speakers is active in a frame is never picked there, even
    # when the count asks for more speakers than are active (that would invent a speaker).
    return ((ranks < count[:, None]) & (activations > 0)).astype(np.float32)
