"""Global speaker clustering of (chunk, local speaker) embeddings: spectral (eigengap) or VBx."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.linalg import eigh
from scipy.optimize import linear_sum_assignment
from scipy.sparse.linalg import eigsh
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans

from .config import SEGMENTATION_WINDOW_SECONDS, ClusteringConfig
from .plda import Plda, estimate_plda
from .reconstruct import INACTIVE
from .vbx import ahc, cluster_vbx, l2_normalize


#: Most embeddings the clustering sees (about 25 min of audio at the 1 s step); longer
#: recordings cluster an evenly spaced subsample of this size (bounded memory and time).
MAX_CLUSTERED = 3000
#: Most speakers the eigengap looks for when ``max_speakers`` is not given.
MAX_AUTO_SPEAKERS = 15


@dataclass(frozen=True)
class SpeakerCount:
    """How the number of speakers was decided, and how clear the decision was."""

    speakers: int                # clusters found
    runner_up: int | None        # the count with the second-largest eigengap
    gap_ratio: float | None      # largest / second-largest eigengap: near 1 means unsure
    method: str                  # "eigengap", "given" (num_speakers), "vbx", "bounded", "single"


@dataclass(frozen=True)
class ClusteringResult:
    """Output of :func:`cluster`."""

    hard_clusters: np.ndarray   # (num_chunks, num_local_speakers) int64, -2 = inactive
    centroids: np.ndarray       # (num_speakers, dimension) float32
    num_train: int              # whole-chunk embeddings clean enough to cluster
    count: SpeakerCount


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


def spectral(x: np.ndarray, *, neighbours: int, min_k: int = 1, max_k: int = MAX_AUTO_SPEAKERS,
             num: int | None = None, times: np.ndarray | None = None,
             far_neighbours: int = 0) -> tuple[np.ndarray, SpeakerCount]:
    """Spectral clustering of unit vectors with the speaker count from the largest eigengap.

    The affinity keeps, for every vector, its cosine similarity to its ``neighbours`` most
    similar vectors (0 elsewhere), and with ``times`` also to its ``far_neighbours`` most
    similar vectors among those at least ``FAR_SECONDS`` away (one that is both counts
    twice), made symmetric. The number of clusters is where the
    eigenvalues of its (unnormalised) graph Laplacian jump the most: ``k`` loosely connected
    groups give ``k`` eigenvalues near 0. The partition is k-means on the first ``k``
    eigenvectors. No distance threshold is involved: the count comes from the structure of
    each recording's own affinity graph.

    Parameters
    ----------
    x : ndarray of shape (n, dimension)
        Length-normalised embeddings, n >= 2.
    neighbours : int
        Neighbours kept per vector.
    min_k, max_k : int
        A count from the eigengap (searched up to ``MAX_AUTO_SPEAKERS``, or further when the
        bounds ask) outside ``[min_k, max_k]`` is moved to the nearest bound.
    num : int, optional
        Use this count instead of the eigengap.
    times : ndarray of shape (n,), optional
        Seconds at which each vector was taken (e.g. its chunk's start).
    far_neighbours : int
        Neighbours kept per vector among those ``FAR_SECONDS`` or more away (needs
        ``times``). Vectors of consecutive chunks hear much of the same audio, so the nearest
        neighbours of a long single-speaker turn all lie inside it and the turn would form a
        group, and count as a speaker, of its own.

    Returns
    -------
    labels : ndarray of shape (n,), int64
    count : SpeakerCount
    """
    n = len(x)
    search = max(MAX_AUTO_SPEAKERS, min_k, max_k)
    top = int(min(n - 1, max(search, num or 1)))
    laplacian = _knn_laplacian(x, neighbours, times=times, far_neighbours=far_neighbours)
    values, vectors = _smallest_eigenpairs(laplacian, top + 1)
    gaps = np.diff(values)                  # gaps[k - 1]: between eigenvalues k - 1 and k
    order = np.argsort(-gaps[: max(1, min(search, top))])
    if num is not None:
        count = SpeakerCount(num, None, None, "given")
    else:
        k = int(order[0]) + 1
        runner_up = int(order[1]) + 1 if len(order) > 1 else None
        ratio = float(gaps[order[0]] / max(gaps[order[1]], 1e-12)) if len(order) > 1 else None
        bounded = int(np.clip(k, min_k, max_k))
        count = SpeakerCount(bounded, runner_up, ratio,
                             "eigengap" if bounded == k else "bounded")
    k = min(count.speakers, n)
    if k == 1:
        return np.zeros(n, dtype=np.int64), count
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors[:, :k])
    return labels.astype(np.int64), count


#: Rows of the similarity matrix computed at a time (bounded memory for long recordings).
_ROW_BLOCK = 512
#: Far neighbours (see :func:`spectral`) are this far apart at least: chunks this far apart
#: share no audio.
FAR_SECONDS = SEGMENTATION_WINDOW_SECONDS
#: Below this many vectors the Laplacian is decomposed densely; above, sparse shift-invert.
_DENSE_LIMIT = 600


def _knn_laplacian(x: np.ndarray, neighbours: int, *, times: np.ndarray | None = None,
                   far_neighbours: int = 0):
    """Sparse graph Laplacian ``D - W`` of the symmetrised k-nearest-neighbour cosine graph
    (plus the far neighbours of :func:`spectral`)."""
    n = len(x)
    p = int(np.clip(neighbours, 1, n - 1))
    far = int(np.clip(far_neighbours, 0, n - 1)) if times is not None else 0
    rows, cols, weights = [], [], []

    def link(block, mine, count):
        """Edges from each row of ``block`` to its ``count`` most similar candidates."""
        top = np.argpartition(block, n - count, axis=1)[:, n - count:]        # (block, count)
        similarity = np.take_along_axis(block, top, axis=1)
        kept = np.isfinite(similarity)              # fewer far candidates than asked: skip
        rows.append(np.repeat(mine, count)[kept.ravel()])
        cols.append(top[kept])
        weights.append(np.maximum(similarity[kept], 0.0))

    for start in range(0, n, _ROW_BLOCK):
        block = x[start: start + _ROW_BLOCK] @ x.T                    # (block, n)
        mine = np.arange(start, start + len(block))
        block[np.arange(len(block)), mine] = -np.inf
        link(block, mine, p)
        if far:         # then only vectors FAR_SECONDS or more away are candidates
            block[np.abs(times[mine, None] - times[None, :]) < FAR_SECONDS] = -np.inf
            link(block, mine, far)
    w = sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows),
                                                     np.concatenate(cols))), shape=(n, n))
    w = 0.5 * (w + w.T)
    return sparse.diags(np.asarray(w.sum(axis=1)).ravel()) - w


def _smallest_eigenpairs(laplacian, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` smallest eigenvalues (ascending) and their eigenvectors."""
    n = laplacian.shape[0]
    if n <= _DENSE_LIMIT or count >= n - 1:
        return eigh(laplacian.toarray(), subset_by_index=[0, count - 1])
    # shift-invert just below 0 (the Laplacian is positive semi-definite); a fixed start
    # vector keeps ARPACK deterministic
    start = np.random.default_rng(0).standard_normal(n)
    values, vectors = eigsh(laplacian.tocsc(), k=count, sigma=-1e-3, which="LM", v0=start)
    order = np.argsort(values)
    return values[order], vectors[:, order]


def _spectral_centroids(embeddings, central, mask, cfg: ClusteringConfig, step_seconds: float,
                        lo: int, hi: float, num: int | None):
    # Cluster the central embeddings (or the whole-chunk ones when none are given); each
    # speaker's centroid is the mean of the whole-chunk embeddings of the local speakers whose
    # central embedding went to it (longer context: steadier centroids).
    source = np.where(mask[..., None], embeddings, np.nan)
    if central is not None and np.all(np.isfinite(central), axis=2).sum() >= 2:
        source = central
    index = np.flatnonzero(np.all(np.isfinite(source), axis=2))      # usable (chunk, local)
    if len(index) > MAX_CLUSTERED:
        index = index[np.linspace(0, len(index) - 1, MAX_CLUSTERED).round().astype(np.int64)]
    x = l2_normalize(source.reshape(-1, source.shape[-1])[index].astype(np.float64))
    neighbours = max(1, int(round(cfg.neighbour_seconds / step_seconds)))
    max_k = int(hi) if np.isfinite(hi) else MAX_AUTO_SPEAKERS
    labels, count = spectral(x, neighbours=neighbours, min_k=lo, max_k=max_k, num=num,
                             times=(index // mask.shape[1]) * step_seconds,
                             far_neighbours=int(round(cfg.far_neighbour_share * neighbours)))
    flat = embeddings.reshape(-1, embeddings.shape[-1]).astype(np.float64)
    whole = mask.reshape(-1)[index]
    centroids = []
    for k in range(int(labels.max()) + 1):
        members = index[(labels == k) & whole]
        centroids.append(flat[members].mean(axis=0) if len(members)
                         else x[labels == k].mean(axis=0))
    fixed = np.full(mask.size, -1, dtype=np.int64)
    fixed[index] = labels
    return np.stack(centroids), count, fixed.reshape(mask.shape)


def _assign(embeddings: np.ndarray, centroids: np.ndarray, inactive: np.ndarray,
            constrained: bool, fixed: np.ndarray | None = None) -> np.ndarray:
    num_chunks, num_local, dimension = embeddings.shape
    flat = embeddings.reshape(-1, dimension).astype(np.float64)
    finite = np.all(np.isfinite(flat), axis=1)
    score = np.full((flat.shape[0], len(centroids)), np.nan)
    if finite.any():
        score[finite] = 2.0 - cdist(flat[finite], centroids.astype(np.float64), metric="cosine")
    score = score.reshape(num_chunks, num_local, -1)
    if fixed is not None:
        # local speakers already clustered (central embeddings) keep their cluster: a score
        # above any cosine score (at most 2)
        chunk, local = np.nonzero(fixed >= 0)
        score[chunk, local, fixed[chunk, local]] = 3.0
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
    # With fewer clusters than active local speakers in a chunk, the ones left over join
    # their closest cluster rather than lose their speech.
    left = (hard == INACTIVE) & ~inactive
    hard[left] = np.argmax(score[left], axis=1)
    return hard


def cluster(embeddings: np.ndarray, activity: np.ndarray,
            cfg: ClusteringConfig = ClusteringConfig(), *, central: np.ndarray | None = None,
            step_seconds: float = 1.0, plda: Plda | None = None) -> ClusteringResult:
    """Cluster local speakers into global speakers.

    - ``cfg.method == "spectral"`` (default): :func:`spectral` clustering of the central
      embeddings (each local speaker pooled over the middle of its chunk, so that consecutive
      chunks see different audio), the number of speakers from the largest eigengap within
      ``[min_speakers, max_speakers]`` (or ``num_speakers``); a local speaker with a central
      embedding belongs to its cluster; a speaker's centroid is the mean of the whole-chunk
      embeddings of its local speakers. Without central embeddings (the WeSpeaker models),
      the whole-chunk embeddings of local speakers with enough single-speaker frames are
      clustered.
    - ``"vbx"``: AHC on length-normalised whole-chunk embeddings initialises VBx, which runs
      in a PLDA space (``plda`` when given, e.g. pyannote's for WeSpeaker; otherwise estimated
      from this recording's AHC clusters, see :func:`plda.estimate_plda`); speaker-count
      constraints re-cluster with k-means when the count violates them.

    The other local speakers are assigned to the closest centroid (cosine), one-to-one inside
    each chunk.

    Parameters
    ----------
    embeddings : ndarray of shape (num_chunks, num_local_speakers, dimension)
        Whole-chunk embeddings; NaN rows for skipped local speakers.
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity (decoded segmentation).
    cfg : ClusteringConfig
    central : ndarray of shape (num_chunks, num_local_speakers, dimension), optional
        Central embeddings (:func:`embedding.run`); NaN where there are none.
    step_seconds : float
        Chunk step (the spectral affinity keeps ``cfg.neighbour_seconds / step_seconds``
        neighbours).
    plda : Plda, optional
        A pretrained PLDA matching the embeddings.

    Returns
    -------
    ClusteringResult
        ``hard_clusters`` of shape (num_chunks, num_local_speakers) with ``-2`` for inactive
        local speakers, ``centroids`` of shape (num_speakers, dimension) (mean of the raw
        embeddings of each speaker), and how the count was decided.
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    activity = np.asarray(activity)
    if central is not None and np.shape(central) != embeddings.shape:
        raise ValueError(f"central embeddings {np.shape(central)} must have the shape of the "
                         f"embeddings {embeddings.shape}")
    if embeddings.ndim != 3 or activity.ndim != 3 or \
            activity.shape[0] != embeddings.shape[0] or activity.shape[2] != embeddings.shape[1]:
        raise ValueError(f"embeddings {embeddings.shape} and activity {activity.shape} must be "
                         "(num_chunks, num_local_speakers, dimension) and "
                         "(num_chunks, num_frames, num_local_speakers)")
    num_chunks, num_local, dimension = embeddings.shape
    inactive = np.sum(activity > 0.5, axis=1) == 0                   # (chunks, local)
    mask = train_mask(embeddings, activity, min_active_ratio=cfg.min_active_ratio)
    train = embeddings[mask].astype(np.float64)                       # (num_train, dimension)
    if len(train) > MAX_CLUSTERED:
        # Long recordings: clustering is O(n^2) in memory and time, so the speakers are found
        # on an evenly spaced subsample; every embedding is still assigned to the centroids.
        train = train[np.linspace(0, len(train) - 1, MAX_CLUSTERED).round().astype(np.int64)]
    num, lo, hi = _speaker_bounds(cfg, len(train))

    if len(train) < 2 or hi < 2:
        # pyannote: no clustering with fewer than two embeddings -> a single speaker
        hard = np.zeros((num_chunks, num_local), dtype=np.int64)
        hard[inactive] = INACTIVE
        finite = embeddings[np.all(np.isfinite(embeddings), axis=2)]
        source = train if len(train) else finite
        centroid = source.mean(axis=0, keepdims=True) if len(source) else \
            np.zeros((1, dimension))
        return ClusteringResult(hard, centroid.astype(np.float32), len(train),
                                SpeakerCount(1, None, None, "single"))

    constrained, fixed = cfg.constrained_assignment, None
    if cfg.method == "spectral":
        centroids, count, fixed = _spectral_centroids(embeddings, central, mask, cfg,
                                                      step_seconds, lo, hi, num)
    else:
        centroids = _vbx_centroids(train, cfg, plda)
        count = SpeakerCount(len(centroids), None, None, "vbx")
        k = len(centroids)
        target = num if num is not None else (lo if k < lo else hi if k > hi else None)
        if target is not None and target != k:
            centroids = _kmeans_centroids(train, int(target))
            count = SpeakerCount(int(target), None, None, "given" if num else "bounded")
            constrained = False     # pyannote: forced counts are not assigned one-to-one
    hard = _assign(embeddings, centroids, inactive, constrained, fixed)
    hard[inactive] = INACTIVE
    return ClusteringResult(hard, centroids.astype(np.float32), len(train), count)


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
