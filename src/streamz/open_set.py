"""Calibrated open-set scoring: cosine to speaker centroids, mapped to a probability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Steepness of the cosine -> probability map. An unregularised logistic fit to the
#: same/different-speaker trials of the dev corpus' training list gives 22.5 for CAM++
#: (benchmarks/RESULTS.md); the threshold itself is learned from each model's own data.
DEFAULT_SLOPE = 20.0
#: Equal-odds cosine used until a model has both kinds of trials.
DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class CosineScorer:
    """Scores embeddings against each enrolled speaker's centroid.

    Attributes
    ----------
    speakers : list of str
    centroids : ndarray of shape (n_speakers, dimension), unit rows
    threshold : float
        Cosine at equal error rate of the training trials: confidence 0.5.
    slope : float
        ``confidence = 1 / (1 + exp(-slope * (cos - threshold)))``.
    """

    speakers: list
    centroids: np.ndarray
    threshold: float = DEFAULT_THRESHOLD
    slope: float = DEFAULT_SLOPE

    def cosine(self, E: np.ndarray) -> np.ndarray:
        """Cosine similarity of embeddings to centroids.

        Parameters
        ----------
        E : ndarray of shape (n, dimension) or (dimension,)

        Returns
        -------
        ndarray of shape (n, n_speakers) or (n_speakers,)
        """
        E = np.asarray(E, dtype=np.float64)
        norms = np.linalg.norm(E, axis=-1, keepdims=True)
        return (E / np.maximum(norms, 1e-12)) @ self.centroids.T

    def confidence(self, cosine: np.ndarray) -> np.ndarray:
        """Calibrated probability that each score is a same-speaker trial."""
        return 1.0 / (1.0 + np.exp(-self.slope * (np.asarray(cosine) - self.threshold)))


def fit_scorer(profiles: np.ndarray, labels, speakers) -> CosineScorer:
    """Centroids from per-file embeddings and a threshold learned from them.

    Each file is scored against every speaker's centroid, its own file left out of its
    speaker's centroid (leave-one-out), giving same-speaker and different-speaker trials;
    the threshold is their equal-error-rate point (the middle of the gap when they do not
    overlap).

    Parameters
    ----------
    profiles : ndarray of shape (n_files, dimension)
        One embedding per learned file (mean of its unit window embeddings).
    labels : array-like of shape (n_files,)
        Speaker of each file.
    speakers : list of str
        Speakers in model order; each must have at least one file.

    Returns
    -------
    CosineScorer
    """
    X = np.asarray(profiles, dtype=np.float64)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(labels).astype(str)
    sums = np.stack([X[labels == s].sum(axis=0) for s in speakers])
    counts = np.array([(labels == s).sum() for s in speakers])
    centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    index = {s: i for i, s in enumerate(speakers)}
    targets, impostors = [], []
    for x, label in zip(X, labels):
        own = index[label]
        loo = sums.copy()
        loo[own] -= x
        cos = (loo @ x) / np.maximum(np.linalg.norm(loo, axis=1), 1e-12)
        if counts[own] > 1:
            targets.append(cos[own])
        impostors += np.delete(cos, own).tolist()
    if len(targets) < 2 or len(impostors) < 2:
        return CosineScorer(list(speakers), centroids)
    return CosineScorer(list(speakers), centroids, eer_threshold(np.array(targets),
                                                                 np.array(impostors)))


def eer_threshold(targets: np.ndarray, impostors: np.ndarray) -> float:
    """Score where the miss and false-alarm rates are closest (the middle of such scores).

    Parameters
    ----------
    targets, impostors : ndarray of shape (n,)
        Same-speaker and different-speaker scores.
    """
    scores = np.unique(np.concatenate([targets, impostors]))
    candidates = np.concatenate([[scores[0] - 1e-6], (scores[1:] + scores[:-1]) / 2,
                                 [scores[-1] + 1e-6]])
    miss = (targets[None, :] < candidates[:, None]).mean(axis=1)
    false_alarm = (impostors[None, :] >= candidates[:, None]).mean(axis=1)
    cost = np.abs(miss - false_alarm) + miss + false_alarm
    best = np.flatnonzero(np.isclose(cost, cost.min()))
    return float((candidates[best[0]] + candidates[best[-1]]) / 2)
