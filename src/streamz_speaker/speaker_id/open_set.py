"""Open-set scoring: cosine to speaker centroids after removing the enrolled mean and the
within-speaker nuisance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Steepness of the cosine -> probability map until a model has both kinds of trials (then
#: learned from them, see :func:`gaussian_slope`). An unregularised logistic fit to the
#: same/different-speaker trials of the dev corpus' training list gives 22.5 for CAM++.
DEFAULT_SLOPE = 20.0
#: Bounds of the slope learned from a model's trials (see :func:`gaussian_slope`).
MIN_SLOPE, MAX_SLOPE = 5.0, 200.0
#: Files left out in turn to make the trials that set the threshold and slope.
MAX_TRIAL_FILES = 200
#: Confidences stop this far from 0 and 1.
MIN_CONFIDENCE = 1e-6
#: Prior on the spread of trial scores (cosine units) and its weight in trials.
PRIOR_TRIAL_STD, PRIOR_TRIALS = 0.1, 10
#: Equal-odds cosine used until a model has both kinds of trials.
DEFAULT_THRESHOLD = 0.6
#: Nuisance directions removed by front end: the strongest directions in which one
#: speaker's files differ from each other (channel, noise, text), estimated from each
#: model's own speakers. MFCC: chosen on dev-wide spk01-14 + unk01 (benchmarks/RESULTS.md,
#: "Open-set speaker ID and naming"); CAM++: 5 with centring, chosen on the real-voice
#: tuning part (English Drascula cast) and dev-wide spk01-14 + unk01 together
#: (benchmarks/RESULTS.md, "Speaker ID on real voices").
NUISANCE_RANK = {"embedding": 5, "mfcc": 20}
#: Whether the mean of the model's enrolled embeddings is removed before scoring, by front
#: end. CAM++ embeddings of any two voices share a large common part (cosines of unrelated
#: voices sit near 0.2-0.3); removing the model's own mean spreads its speakers apart and
#: adapts to the recordings it was trained on. The MFCC front end's hidden-layer
#: embeddings are not centred (their scorer settings were chosen without it).
CENTRE = {"embedding": True, "mfcc": False}
#: The mean removed is shrunk towards zero as if this many speakers with a zero mean were
#: enrolled beside the model's own: ``mean * n / (n + CENTRE_PRIOR_SPEAKERS)``. With few
#: speakers their mean is mostly their own voices (two speakers: removing it would leave
#: little but their difference, and a third voice would fall on one side of it).
CENTRE_PRIOR_SPEAKERS = 2
#: (nuisance rank, centring) by front end for the speakers of a diarized conversation
#: (clusters, turns, live voices) rather than whole files. The rules that name them were
#: chosen with these settings; with the centred ones an unknown voice of a tuning-half
#: conversation crossed the threshold (benchmarks/RESULTS.md, "Speaker ID on real voices").
NAMING_SCORER = {"embedding": (10, False), "mfcc": (20, False)}
#: At most this share of the dimensions, and of the within-speaker degrees of freedom (rows
#: less speakers), is ever removed (few files: few directions).
MAX_NUISANCE_SHARE = 0.25


@dataclass(frozen=True)
class CosineScorer:
    """Scores embeddings against each enrolled speaker's centroid.

    Embeddings are first length-normalised, less ``mean`` (the mean of the model's own
    enrolled embeddings, zero when not centred) and normalised again, then projected off the
    ``nuisance`` directions (within-speaker variability of the model's own training files)
    and length-normalised, and compared by cosine to the centroids, which live in the same
    space.

    Attributes
    ----------
    speakers : list of str
    centroids : ndarray of shape (n_speakers, dimension), unit rows
    threshold : float
        Cosine at equal error rate of the training trials: confidence 0.5.
    slope : float
        ``confidence = 1 / (1 + exp(-slope * (cos - threshold)))``.
    nuisance : ndarray of shape (rank, dimension)
        Orthonormal directions removed before scoring (rank 0: plain cosine).
    mean : ndarray of shape (dimension,)
        Subtracted from unit embeddings first (zeros: no centring).
    """

    speakers: list
    centroids: np.ndarray
    threshold: float = DEFAULT_THRESHOLD
    slope: float = DEFAULT_SLOPE
    nuisance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    mean: np.ndarray | None = None

    def project(self, E: np.ndarray) -> np.ndarray:
        """Embeddings without their nuisance part, unit length.

        Parameters
        ----------
        E : ndarray of shape (n, dimension) or (dimension,)

        Returns
        -------
        ndarray of the same shape, float64
        """
        return _project(np.asarray(E, dtype=np.float64), self.nuisance, self.mean)

    def cosine(self, E: np.ndarray) -> np.ndarray:
        """Cosine similarity of (projected) embeddings to centroids.

        Parameters
        ----------
        E : ndarray of shape (n, dimension) or (dimension,)

        Returns
        -------
        ndarray of shape (n, n_speakers) or (n_speakers,)
        """
        return self.project(E) @ self.centroids.T

    def confidence(self, cosine: np.ndarray) -> np.ndarray:
        """Calibrated probability that each score is a same-speaker trial.

        Kept inside [MIN_CONFIDENCE, 1 - MIN_CONFIDENCE]: no score is certain, and a
        ``--threshold`` of 1 must reject everything.
        """
        p = 1.0 / (1.0 + np.exp(-self.slope * (np.asarray(cosine) - self.threshold)))
        return np.clip(p, MIN_CONFIDENCE, 1 - MIN_CONFIDENCE)


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Vectors along the last axis scaled to unit length (zero vectors stay zero; dtype kept)."""
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-12)


def _project(X: np.ndarray, basis: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    X = unit_rows(X)
    if mean is not None:
        X = unit_rows(X - mean)
    if basis.size:
        X = X - (X @ basis.T) @ basis
    return unit_rows(X)


def nuisance_basis(profiles: np.ndarray, labels, rank: int) -> np.ndarray:
    """Main directions of within-speaker variability (nuisance attribute projection).

    Each row minus the mean of its speaker's rows; the leading right singular vectors of
    those differences are the directions in which recordings of one voice differ most.

    Parameters
    ----------
    profiles : ndarray of shape (n, dimension)
        Unit embeddings, several per speaker (e.g. files, and channel copies of them).
    labels : array-like of shape (n,)
    rank : int
        Directions wanted; fewer are returned when the data has fewer (speakers with one
        row give none) or when ``rank`` exceeds ``MAX_NUISANCE_SHARE`` of the dimension or
        of the within-speaker degrees of freedom.

    Returns
    -------
    ndarray of shape (r, dimension), orthonormal rows, r <= rank
    """
    X = unit_rows(np.asarray(profiles, dtype=np.float64))
    labels = np.asarray(labels).astype(str)
    d = X.shape[1] if X.ndim == 2 else 0
    rank = min(int(rank), int(MAX_NUISANCE_SHARE * d))
    rows = [X[labels == s] - X[labels == s].mean(axis=0) for s in np.unique(labels)
            if (labels == s).sum() > 1]
    if rank <= 0 or not rows:
        return np.zeros((0, d))
    # within-speaker degrees of freedom: estimating many directions from few files would
    # fit the training files' own differences (and make their trials look too good)
    dof = sum(len(r) - 1 for r in rows)
    rank = min(rank, int(MAX_NUISANCE_SHARE * dof))
    if rank <= 0:
        return np.zeros((0, d))
    _, sv, Vt = np.linalg.svd(np.concatenate(rows), full_matrices=False)
    keep = min(rank, int((sv > 1e-6 * max(sv[0], 1e-12)).sum()))
    return Vt[:keep]


def fit_scorer(profiles: np.ndarray, labels, speakers, *, copies: np.ndarray | None = None,
               rank: int = 0, centre: bool = False) -> CosineScorer:
    """Mean, nuisance directions, centroids and a threshold, learned from a model's own files.

    With ``centre``, the mean of all rows (``profiles`` and ``copies``, unit length), shrunk
    by :data:`CENTRE_PRIOR_SPEAKERS`, is removed from every embedding first. The nuisance
    directions come from the within-speaker scatter of ``profiles`` (and ``copies``, e.g.
    the telephone-channel copy of each file: a known nuisance). Every
    speaker's centroid is the mean of its projected rows. Each file is then scored against
    every centroid, its own rows left out of its speaker's centroid (leave-one-out),
    giving same-speaker and different-speaker trials; the threshold is their
    equal-error-rate point (the middle of the gap when they do not overlap) and the slope
    comes from their means and spread (:func:`gaussian_slope`). The left-out file also
    takes no part in the nuisance directions of its trials (see :func:`_trials`).

    Parameters
    ----------
    profiles : ndarray of shape (n_files, dimension)
        One embedding per learned file (mean of its unit window embeddings).
    labels : array-like of shape (n_files,)
        Speaker of each file.
    speakers : list of str
        Speakers in model order; each must have at least one file.
    copies : ndarray of shape (n_files, dimension), optional
        A second embedding of each file (another channel); joins the centroids and the
        nuisance estimate.
    rank : int
        Nuisance directions to remove (0: plain cosine to centroids).
    centre : bool
        Remove the mean of the enrolled embeddings first.

    Returns
    -------
    CosineScorer
    """
    X = unit_rows(np.asarray(profiles, dtype=np.float64))
    labels = np.asarray(labels).astype(str)
    rows, row_labels = X, labels
    if copies is not None and len(copies) == len(X):
        rows = np.concatenate([X, unit_rows(np.asarray(copies, dtype=np.float64))])
        row_labels = np.concatenate([labels, labels])
    mean = _enrolled_mean(rows, row_labels) if centre else None
    basis = nuisance_basis(_centred(rows, mean), row_labels, rank)
    R = _project(rows, basis, mean).reshape(2 if len(rows) > len(X) else 1, len(X), -1)
    per_file = R.sum(axis=0)                                    # (n_files, dimension)
    centroids = unit_rows(np.stack([per_file[labels == s].sum(axis=0) for s in speakers]))
    targets, impostors = _trials(rows, row_labels, len(X), list(speakers), rank, centre)
    threshold, slope = DEFAULT_THRESHOLD, DEFAULT_SLOPE
    if len(targets) >= 2 and len(impostors) >= 2:
        threshold = eer_threshold(targets, impostors)
        slope = gaussian_slope(targets, impostors)
    return CosineScorer(list(speakers), centroids, threshold, slope, nuisance=basis, mean=mean)


def _enrolled_mean(rows: np.ndarray, row_labels: np.ndarray) -> np.ndarray:
    """Mean of the enrolled rows, shrunk by :data:`CENTRE_PRIOR_SPEAKERS`."""
    n = len(np.unique(row_labels))
    return rows.mean(axis=0) * n / (n + CENTRE_PRIOR_SPEAKERS)


def _centred(rows: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    return rows if mean is None else unit_rows(rows - mean)


def _trials(rows: np.ndarray, row_labels: np.ndarray, n_files: int, speakers: list,
            rank: int, centre: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-file-out trials: each file (its first copy) against every centroid.

    The left-out file takes no part in its speaker's centroid, the mean nor the nuisance
    directions, as a new recording would not: trials scored with a basis fitted to the file
    itself look better than new audio does, and the threshold would be set too high. At
    most ``MAX_TRIAL_FILES`` files (evenly spread) are left out in turn.
    """
    copies = len(rows) // n_files
    file_of = np.tile(np.arange(n_files), copies)
    labels = row_labels[:n_files]
    index = {s: i for i, s in enumerate(speakers)}
    counts = np.array([(labels == s).sum() for s in speakers])
    chosen = np.unique(np.linspace(0, n_files - 1, min(n_files, MAX_TRIAL_FILES)).astype(int))
    targets, impostors = [], []
    for i in chosen:
        keep = file_of != i
        mean = _enrolled_mean(rows[keep], row_labels[keep]) if centre else None
        basis = nuisance_basis(_centred(rows[keep], mean), row_labels[keep], rank)
        P = _project(rows[keep], basis, mean)
        sums = np.stack([P[row_labels[keep] == s].sum(axis=0) for s in speakers])
        present = np.linalg.norm(sums, axis=1) > 0
        cos = unit_rows(sums) @ _project(rows[i], basis, mean)
        own = index[labels[i]]
        if counts[own] > 1:
            targets.append(cos[own])
        impostors += [c for j, c in enumerate(cos) if j != own and present[j]]
    return np.array(targets), np.array(impostors)


def gaussian_slope(targets: np.ndarray, impostors: np.ndarray) -> float:
    """Logistic slope of P(same | cosine) for two Gaussians with a shared variance.

    ``(mean_target - mean_impostor) / variance``, the variance pooled over both kinds of
    trials and a prior (``PRIOR_TRIALS`` trials of spread ``PRIOR_TRIAL_STD``), bounded to
    [MIN_SLOPE, MAX_SLOPE]. The
    two front ends' cosines live on different scales (CAM++ spreads over [-0.2, 1], the
    MFCC classifier's ReLU embeddings over [0.7, 1]), so the slope is the model's own.

    Parameters
    ----------
    targets, impostors : ndarray of shape (n,)
        Same-speaker and different-speaker scores (two or more each).

    Returns
    -------
    float
    """
    squares = np.sum((targets - targets.mean()) ** 2) + np.sum((impostors - impostors.mean()) ** 2)
    # a prior of PRIOR_TRIALS trials of spread PRIOR_TRIAL_STD keeps a model of a few files
    # from a near-infinite slope
    var = (squares + PRIOR_TRIALS * PRIOR_TRIAL_STD ** 2) \
        / (len(targets) + len(impostors) - 2 + PRIOR_TRIALS)
    slope = (targets.mean() - impostors.mean()) / var
    return float(np.clip(slope, MIN_SLOPE, MAX_SLOPE))


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
