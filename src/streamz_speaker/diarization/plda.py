"""PLDA transform for VBx (float64): pyannote's published files, or estimated per recording."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.linalg import eigh

from ..core.errors import ModelLoadError
from .vbx import l2_normalize

#: Keys of pyannote's ``xvec_transform.npz`` and ``plda.npz``.
TRANSFORM_KEYS = ("mean1", "mean2", "lda")
PLDA_KEYS = ("mu", "tr", "psi")
PLDA_METHODS = ("lda", "isotropic")


@dataclass(frozen=True, eq=False)
class Plda:
    """Embedding -> PLDA-space transform, in pyannote's layout.

    ``transform(x) = ((sqrt(L) * l2norm(lda.T @ (sqrt(D) * l2norm(x - mean1)) - mean2)) - mu) @ tr.T``
    keeps the first ``lda_dimension`` coordinates; in that space the within-speaker covariance
    is the identity and the across-speaker covariance is ``diag(psi)``.

    Attributes
    ----------
    mean1 : ndarray of shape (dimension,)
    lda : ndarray of shape (dimension, L)
    mean2 : ndarray of shape (L,)
    mu : ndarray of shape (L,)
    tr : ndarray of shape (L, L)
        Rows are the PLDA directions, by decreasing ``psi``.
    psi : ndarray of shape (L,)
        Across-speaker variances, decreasing.
    lda_dimension : int
        Number of PLDA dimensions kept (at most L).
    """

    mean1: np.ndarray
    lda: np.ndarray
    mean2: np.ndarray
    mu: np.ndarray
    tr: np.ndarray
    psi: np.ndarray
    lda_dimension: int

    @property
    def dimension(self) -> int:
        """Embedding dimension the transform expects."""
        return self.mean1.shape[0]

    @property
    def phi(self) -> np.ndarray:
        """Across-speaker covariance diagonal, shape (lda_dimension,), float64."""
        return self.psi[: self.lda_dimension]

    def _preprocess(self, embeddings: np.ndarray) -> np.ndarray:
        x = np.asarray(embeddings, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dimension:
            raise ValueError(f"expected embeddings of shape (num_embeddings, {self.dimension}), "
                             f"got {x.shape}")
        d, l = self.lda.shape
        y = (np.sqrt(d) * l2_normalize(x - self.mean1)) @ self.lda
        return np.sqrt(l) * l2_normalize(y - self.mean2)

    def transform(self, embeddings: np.ndarray) -> np.ndarray:
        """Map embeddings into the PLDA space.

        Parameters
        ----------
        embeddings : ndarray of shape (num_embeddings, dimension)

        Returns
        -------
        fea : ndarray of shape (num_embeddings, lda_dimension), float64
        """
        return ((self._preprocess(embeddings) - self.mu) @ self.tr.T)[:, : self.lda_dimension]


def _load_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise ModelLoadError(f"{path}: missing PLDA arrays {missing}; "
                                     f"expected keys {list(keys)}, found {sorted(data.files)}")
            return {k: np.asarray(data[k], dtype=np.float64) for k in keys}
    except ModelLoadError:
        raise
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{path}: cannot read PLDA file: {e}") from e


def load_plda(transform_path: os.PathLike | str, plda_path: os.PathLike | str, *,
              lda_dimension: int = 128) -> Plda:
    """Load pyannote's ``xvec_transform.npz`` (mean1, mean2, lda) and ``plda.npz`` (mu, tr, psi).

    As pyannote's ``vbx_setup``, the PLDA is re-diagonalised: with within-class covariance
    ``W = inv(tr.T tr)`` and across-class ``B = inv((tr.T / psi) tr)``, the generalised
    eigenproblem ``B v = psi' W v`` gives the directions and variances, by decreasing
    ``psi'``.

    Raises
    ------
    ModelLoadError
        If a file is missing, unreadable, lacks a key, or the shapes do not fit together.
    """
    t = _load_npz(Path(transform_path), TRANSFORM_KEYS)
    p = _load_npz(Path(plda_path), PLDA_KEYS)
    d, l = t["lda"].shape if t["lda"].ndim == 2 else (0, 0)
    if (t["mean1"].shape != (d,) or t["mean2"].shape != (l,) or p["mu"].shape != (l,)
            or p["tr"].shape != (l, l) or p["psi"].shape != (l,) or d == 0):
        raise ModelLoadError(
            f"{transform_path}, {plda_path}: inconsistent PLDA shapes: mean1 "
            f"{t['mean1'].shape}, lda {t['lda'].shape}, mean2 {t['mean2'].shape}, mu "
            f"{p['mu'].shape}, tr {p['tr'].shape}, psi {p['psi'].shape}")
    try:
        within = np.linalg.inv(p["tr"].T @ p["tr"])
        across = np.linalg.inv((p["tr"].T / p["psi"]) @ p["tr"])
        psi, vectors = eigh(across, within)
    except (np.linalg.LinAlgError, ValueError) as e:
        raise ModelLoadError(f"{plda_path}: PLDA matrices are not invertible: {e}") from e
    return Plda(mean1=t["mean1"], lda=t["lda"], mean2=t["mean2"], mu=p["mu"],
                tr=vectors.T[::-1].copy(), psi=psi[::-1].copy(),
                lda_dimension=min(lda_dimension, l))


def _scatter(z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within- and between-class covariance of rows of ``z`` (normalised by num_embeddings)."""
    n, dim = z.shape
    mean = z.mean(axis=0)
    within = np.zeros((dim, dim))
    between = np.zeros((dim, dim))
    for k in np.unique(labels):
        members = z[labels == k]
        centred = members - members.mean(axis=0)
        within += centred.T @ centred
        offset = members.mean(axis=0) - mean
        between += len(members) * np.outer(offset, offset)
    return within / n, between / n


def estimate_plda(embeddings: np.ndarray, labels: np.ndarray, *, method: str = "lda",
                  shrinkage: float = 0.1, pca_dimension: int | None = None,
                  lda_dimension: int = 128) -> Plda:
    """Estimate a PLDA from embeddings and (pseudo-)speaker labels.

    No PLDA is published for CAM++ embeddings. This estimates one from the recording's own
    embeddings grouped by, e.g., their AHC clusters: embeddings are centred and
    length-normalised (optionally PCA-reduced), then the within-class covariance ``Sw`` and
    the between-class covariance ``Sb`` of the groups define the space.

    - ``"lda"``: two-covariance PLDA, ``Sb v = psi Sw v`` with ``Sw`` shrunk towards
      ``trace(Sw) / L * I`` by ``shrinkage`` (needed: few embeddings, many dimensions).
    - ``"isotropic"``: ``Sw = sigma_w^2 I`` and ``Sb = sigma_b^2 I`` (two scalars, robust
      when the groups are few or impure).

    Parameters
    ----------
    embeddings : ndarray of shape (num_embeddings, dimension)
    labels : ndarray of shape (num_embeddings,), int
        Group of each embedding (at least two groups are needed for a useful estimate).
    method : {"lda", "isotropic"}
    shrinkage : float in [0, 1]
        Weight of the identity in the within-class covariance (``"lda"`` only).
    pca_dimension : int, optional
        Reduce to this many principal components first (default: no reduction).
    lda_dimension : int
        PLDA dimensions kept by :meth:`Plda.transform`.

    Returns
    -------
    Plda
    """
    if method not in PLDA_METHODS:
        raise ValueError(f"method must be one of [{', '.join(PLDA_METHODS)}], got {method!r}")
    if not 0 <= shrinkage <= 1:
        raise ValueError(f"shrinkage must be in [0, 1], got {shrinkage}")
    x = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    if x.ndim != 2 or labels.shape != (x.shape[0],) or x.shape[0] < 2:
        raise ValueError(f"need >= 2 embeddings of shape (num_embeddings, dimension) and one "
                         f"label each, got {x.shape} and {labels.shape}")
    dimension = x.shape[1]
    mean1 = x.mean(axis=0)
    xn = np.sqrt(dimension) * l2_normalize(x - mean1)
    if pca_dimension is not None and pca_dimension < dimension:
        centred = xn - xn.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        lda = vt[:pca_dimension].T
        if lda.shape[1] < pca_dimension:                    # fewer embeddings than dims
            lda = np.pad(lda, ((0, 0), (0, pca_dimension - lda.shape[1])))
    else:
        lda = np.eye(dimension)
    y = xn @ lda
    mean2 = y.mean(axis=0)
    l = lda.shape[1]
    z = np.sqrt(l) * l2_normalize(y - mean2)
    mu = z.mean(axis=0)
    within, between = _scatter(z, labels)
    if method == "isotropic":
        sigma_w2 = max(np.trace(within) / l, 1e-10)
        sigma_b2 = np.trace(between) / l
        tr = np.eye(l) / np.sqrt(sigma_w2)
        psi = np.full(l, sigma_b2 / sigma_w2)
    else:
        scale = max(np.trace(within) / l, 1e-10)
        within = (1 - shrinkage) * within + shrinkage * scale * np.eye(l)
        psi, vectors = eigh(between, within)
        psi = np.maximum(psi[::-1], 0.0)
        tr = vectors.T[::-1].copy()
    return Plda(mean1=mean1, lda=lda, mean2=mean2, mu=mu, tr=tr, psi=psi,
                lda_dimension=min(lda_dimension, l))
