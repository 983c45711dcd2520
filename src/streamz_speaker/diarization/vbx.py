"""AHC and VBx clustering of speaker embeddings, float64."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.special import logsumexp, softmax

from .config import VbxConfig


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit Euclidean norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def ahc(embeddings: np.ndarray, *, threshold: float = 0.6) -> np.ndarray:
    """Centroid-linkage agglomerative clustering of length-normalised embeddings.

    Parameters
    ----------
    embeddings : ndarray of shape (num_embeddings, dimension)
        Finite embeddings.
    threshold : float
        Euclidean distance between (normalised) cluster centroids above which clusters are not
        merged; 0.6 matches pyannote community-1.

    Returns
    -------
    labels : ndarray of shape (num_embeddings,), int64
        Cluster indices ``0 .. num_clusters - 1``, numbered by first appearance.
    """
    x = l2_normalize(embeddings)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"expected finite embeddings of shape (num_embeddings, dimension), "
                         f"got shape {np.shape(embeddings)}")
    if x.shape[0] < 2:
        return np.zeros(x.shape[0], dtype=np.int64)
    dendrogram = linkage(x, method="centroid", metric="euclidean")
    raw = fcluster(dendrogram, threshold, criterion="distance")
    _, first, labels = np.unique(raw, return_index=True, return_inverse=True)
    # renumber by first appearance so the result does not depend on scipy's numbering
    order = np.argsort(np.argsort(first))
    return order[labels].astype(np.int64)


def vbx(fea: np.ndarray, phi: np.ndarray, gamma_init: np.ndarray,
        cfg: VbxConfig = VbxConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Variational Bayes clustering of embeddings (VBx without the HMM, as in pyannote 4).

    Model (Landini et al., 2022): ``fea[n] = V y_s + noise``, with identity within-speaker
    covariance, speaker factors ``y_s ~ N(0, I)`` and across-speaker covariance
    ``diag(phi)``. ``Fa`` scales the likelihood, ``Fb`` the speaker prior.

    Parameters
    ----------
    fea : ndarray of shape (num_embeddings, dimension)
        Embeddings in the PLDA space (see :mod:`plda`).
    phi : ndarray of shape (dimension,)
        Across-speaker covariance diagonal in that space.
    gamma_init : ndarray of shape (num_embeddings, num_speakers)
        Initial responsibilities (rows sum to 1).
    cfg : VbxConfig
        ``fa``, ``fb``, ``max_iters`` and ``epsilon`` (stop when the ELBO gains less).

    Returns
    -------
    gamma : ndarray of shape (num_embeddings, num_speakers), float64
        Responsibilities.
    pi : ndarray of shape (num_speakers,), float64
        Speaker priors; speakers VBx dropped have priors near 0.
    """
    x = np.asarray(fea, dtype=np.float64)
    phi = np.asarray(phi, dtype=np.float64)
    gamma = np.asarray(gamma_init, dtype=np.float64)
    if x.ndim != 2 or phi.shape != (x.shape[1],) or gamma.ndim != 2 \
            or gamma.shape[0] != x.shape[0]:
        raise ValueError(f"shape mismatch: fea {x.shape}, phi {phi.shape}, gamma {gamma.shape}")
    dimension = x.shape[1]
    pi = np.full(gamma.shape[1], 1.0 / gamma.shape[1])
    # per-embedding constant of the log-likelihood, eq. (23)
    g = -0.5 * (np.sum(x ** 2, axis=1) + dimension * np.log(2 * np.pi))
    rho = x * np.sqrt(phi)
    ratio = cfg.fa / cfg.fb
    previous = -np.inf
    for _ in range(cfg.max_iters):
        inv_l = 1.0 / (1.0 + ratio * gamma.sum(axis=0)[:, None] * phi)      # eq. (17)
        alpha = ratio * inv_l * (gamma.T @ rho)                              # eq. (16)
        log_p = cfg.fa * (rho @ alpha.T - 0.5 * (inv_l + alpha ** 2) @ phi + g[:, None])
        log_p += np.log(pi + 1e-8)
        log_px = logsumexp(log_p, axis=1)
        gamma = np.exp(log_p - log_px[:, None])
        pi = gamma.sum(axis=0)
        pi /= pi.sum()
        elbo = log_px.sum() + cfg.fb * 0.5 * np.sum(np.log(inv_l) - inv_l - alpha ** 2 + 1)
        if elbo - previous < cfg.epsilon:
            break
        previous = elbo
    return gamma, pi


def cluster_vbx(ahc_labels: np.ndarray, fea: np.ndarray, phi: np.ndarray,
                cfg: VbxConfig = VbxConfig()) -> tuple[np.ndarray, np.ndarray]:
    """VBx initialised from AHC labels smoothed by ``softmax(init_smoothing * one_hot)``.

    Parameters
    ----------
    ahc_labels : ndarray of shape (num_embeddings,), int
    fea : ndarray of shape (num_embeddings, dimension)
    phi : ndarray of shape (dimension,)
    cfg : VbxConfig

    Returns
    -------
    gamma : ndarray of shape (num_embeddings, num_clusters), float64
    pi : ndarray of shape (num_clusters,), float64
    """
    labels = np.asarray(ahc_labels, dtype=np.int64)
    one_hot = np.zeros((labels.size, int(labels.max(initial=0)) + 1))
    one_hot[np.arange(labels.size), labels] = 1.0
    init = one_hot if cfg.init_smoothing < 0 else softmax(one_hot * cfg.init_smoothing, axis=1)
    return vbx(fea, phi, init, cfg)
