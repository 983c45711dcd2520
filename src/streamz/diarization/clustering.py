"""Global speaker clustering of (chunk, local speaker) embeddings: cannot-link AHC or VBx."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans

from .config import ClusteringConfig
from .plda import Plda, estimate_plda
from .reconstruct import INACTIVE
from .vbx import ahc, cluster_vbx, constrained_ahc, l2_normalize


#: Most embeddings AHC/k-means/VBx see (about 25 min of audio at the 1 s step); longer
#: recordings cluster an evenly spaced subsample of this size (bounded memory and time).
MAX_CLUSTERED = 3000


@dataclass(frozen=True)
class ClusteringResult:
    """Output of :func:`cluster`."""

    hard_clusters: np.ndarray   # (num_chunks, num_local_speakers) int64, -2 = inactive
    centroids: np.ndarray       # (num_speakers, dimension) float32
    num_train: int              # embeddings that took part in AHC/VBx


def train_mask(embeddings: np.ndarray, activity: np.ndarray, *,
               min_active_ratio: float = 0.2) -> np.ndarray:
    """Which (chunk, local speaker) embeddings are clean enough to cluster.

    An embedding is kept when it is finite and its speaker is the only active one in at least
    ``min_active_ratio * num_frames`` frames of the chunk (pyannote's ``filter_embeddings``).

    Parameters
    ----------
    embeddings : ndarray of shape (num_chunks, num_local_speakers, dimension)
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity.
    min_active_ratio : float

    Returns
    -------
    mask : ndarray of shape (num_chunks, num_local_speakers), bool
    """
    activity = np.asarray(activity) > 0.5
    single = activity.sum(axis=2, keepdims=True) == 1
    clean_frames = np.sum(activity & single, axis=1)
    valid = np.all(np.isfinite(embeddings), axis=2)
    return (clean_frames >= min_active_ratio * activity.shape[1]) & valid


def _speaker_bounds(cfg: ClusteringConfig, num_train: int) -> tuple[int | None, int, float]:
    num = cfg.num_speakers
    lo = num or cfg.min_speakers
    hi = num or cfg.max_speakers or np.inf
    if lo > num_train:
        warnings.warn(f"only {num_train} embeddings to cluster: cannot find {lo} speakers")
    return num, lo, hi


def _kmeans_centroids(train: np.ndarray, k: int, n_init: int = 3) -> np.ndarray:
    k = min(k, len(train))
    labels = KMeans(n_clusters=k, n_init=n_init, random_state=42).fit_predict(
        l2_normalize(train))
    return np.stack([train[labels == i].mean(axis=0) for i in range(k)])


def _cannot_link_centroids(train: np.ndarray, chunk: np.ndarray,
                           cfg: ClusteringConfig) -> np.ndarray:
    # Speaker count from AHC with cannot-link constraints (local speakers of one chunk are
    # different people), ignoring clusters too small to be a speaker; the partition itself
    # from k-means with that count (on the dev corpus k-means partitions better than the
    # constrained AHC's own clusters, see benchmarks/RESULTS.md).
    labels = constrained_ahc(train, chunk, threshold=cfg.link_threshold,
                             tolerance=cfg.link_tolerance)
    k = max(1, int(np.sum(np.bincount(labels) >= cfg.min_cluster_size)))
    return _kmeans_centroids(train, k, n_init=10)


def _assign(embeddings: np.ndarray, centroids: np.ndarray, inactive: np.ndarray,
            constrained: bool) -> np.ndarray:
    num_chunks, num_local, dimension = embeddings.shape
    flat = embeddings.reshape(-1, dimension).astype(np.float64)
    finite = np.all(np.isfinite(flat), axis=1)
    score = np.full((flat.shape[0], len(centroids)), np.nan)
    if finite.any():
        score[finite] = 2.0 - cdist(flat[finite], centroids.astype(np.float64), metric="cosine")
    score = score.reshape(num_chunks, num_local, -1)
    if not constrained:
        hard = np.argmax(np.nan_to_num(score, nan=-np.inf), axis=2)
        return hard.astype(np.int64)
    # pyannote: missing scores get the lowest score, inactive speakers lower still, then a
    # one-to-one (Hungarian) assignment of local speakers to clusters inside each chunk.
    floor = np.nanmin(score) if np.isfinite(score).any() else 0.0
    score = np.nan_to_num(score, nan=floor)
    score[inactive] = floor - 1.0
    hard = np.full((num_chunks, num_local), INACTIVE, dtype=np.int64)
    for c in range(num_chunks):
        rows, cols = linear_sum_assignment(score[c], maximize=True)
        hard[c, rows] = cols
    return hard


def cluster(embeddings: np.ndarray, activity: np.ndarray,
            cfg: ClusteringConfig = ClusteringConfig(), *,
            plda: Plda | None = None) -> ClusteringResult:
    """Cluster local speakers into global speakers.

    Embeddings of local speakers with enough single-speaker frames are clustered.

    - ``cfg.method == "cannot_link"`` (default): the number of speakers is the number of
      clusters (of at least ``min_cluster_size`` embeddings) left by centroid AHC that never
      merges two clusters holding local speakers of one chunk (:func:`vbx.constrained_ahc`);
      k-means with that number gives the centroids.
    - ``"vbx"``: AHC on length-normalised embeddings initialises VBx, which runs in a PLDA
      space (``plda`` when given, e.g. pyannote's for WeSpeaker; otherwise estimated from
      this recording's AHC clusters, see :func:`plda.estimate_plda`).

    Speaker-count constraints re-cluster with k-means when the count violates them. Every
    local speaker is then assigned to the closest centroid (cosine), one-to-one inside each
    chunk.

    Parameters
    ----------
    embeddings : ndarray of shape (num_chunks, num_local_speakers, dimension)
        NaN rows for skipped local speakers.
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity (decoded segmentation).
    cfg : ClusteringConfig
    plda : Plda, optional
        A pretrained PLDA matching the embeddings.

    Returns
    -------
    ClusteringResult
        ``hard_clusters`` of shape (num_chunks, num_local_speakers) with ``-2`` for inactive
        local speakers, and ``centroids`` of shape (num_speakers, dimension) (mean of the raw
        embeddings of each speaker).
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    activity = np.asarray(activity)
    if embeddings.ndim != 3 or activity.ndim != 3 or \
            activity.shape[0] != embeddings.shape[0] or activity.shape[2] != embeddings.shape[1]:
        raise ValueError(f"embeddings {embeddings.shape} and activity {activity.shape} must be "
                         "(num_chunks, num_local_speakers, dimension) and "
                         "(num_chunks, num_frames, num_local_speakers)")
    num_chunks, num_local, dimension = embeddings.shape
    inactive = np.sum(activity > 0.5, axis=1) == 0                   # (chunks, local)
    mask = train_mask(embeddings, activity, min_active_ratio=cfg.min_active_ratio)
    train = embeddings[mask].astype(np.float64)                       # (num_train, dimension)
    train_chunks = np.nonzero(mask)[0]
    if len(train) > MAX_CLUSTERED:
        # Long recordings: AHC is O(n^2) in memory and time, so the speakers are found on an
        # evenly spaced subsample; every embedding is still assigned to the centroids below.
        keep = np.linspace(0, len(train) - 1, MAX_CLUSTERED).round().astype(np.int64)
        train, train_chunks = train[keep], train_chunks[keep]
    num, lo, hi = _speaker_bounds(cfg, len(train))

    if len(train) < 2 or hi < 2:
        # pyannote: no clustering with fewer than two embeddings -> a single speaker
        hard = np.zeros((num_chunks, num_local), dtype=np.int64)
        hard[inactive] = INACTIVE
        finite = embeddings[np.all(np.isfinite(embeddings), axis=2)]
        source = train if len(train) else finite
        centroid = source.mean(axis=0, keepdims=True) if len(source) else \
            np.zeros((1, dimension))
        return ClusteringResult(hard, centroid.astype(np.float32), len(train))

    if cfg.method == "cannot_link":
        centroids = _cannot_link_centroids(train, train_chunks, cfg)
    else:
        centroids = _vbx_centroids(train, cfg, plda)

    constrained = cfg.constrained_assignment
    k = len(centroids)
    target = num if num is not None else (lo if k < lo else hi if k > hi else None)
    if target is not None and target != k:
        centroids = _kmeans_centroids(train, int(target))
        constrained = False     # pyannote: forced counts are not assigned one-to-one
    hard = _assign(embeddings, centroids, inactive, constrained)
    hard[inactive] = INACTIVE
    return ClusteringResult(hard, centroids.astype(np.float32), len(train))


def _vbx_centroids(train: np.ndarray, cfg: ClusteringConfig, plda: Plda | None) -> np.ndarray:
    labels = ahc(train, threshold=cfg.ahc_threshold)
    if plda is None:
        if labels.max() == 0:
            # one AHC cluster: no between-speaker scatter to estimate, keep it as is
            gamma, pi = np.ones((len(train), 1)), np.ones(1)
        else:
            plda = estimate_plda(train, labels, method=cfg.plda_method,
                                 shrinkage=cfg.plda_shrinkage)
    if plda is not None:
        gamma, pi = cluster_vbx(labels, plda.transform(train), plda.phi, cfg.vbx)
    weights = gamma[:, pi > cfg.vbx.min_prior]
    return (weights.T @ train) / weights.sum(axis=0)[:, None]
