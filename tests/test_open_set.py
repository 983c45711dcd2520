import numpy as np
import pytest

from streamz_speaker.speaker_id.open_set import (CENTRE_PRIOR_SPEAKERS, DEFAULT_THRESHOLD,
                                                 MAX_SLOPE, MIN_SLOPE, PRIOR_TRIAL_STD,
                                                 PRIOR_TRIALS, CosineScorer, eer_threshold,
                                                 fit_scorer, gaussian_slope, nuisance_basis)


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def at(degrees):
    """Unit vector in the plane at an angle from the x axis."""
    r = np.radians(degrees)
    return np.array([np.cos(r), np.sin(r)])


def test_eer_threshold_known_answers():
    # separable: the middle of the gap
    assert np.isclose(eer_threshold(np.array([0.8, 0.9]), np.array([0.2, 0.4])), 0.6)
    # one target below one impostor: the crossing lies between them
    t = eer_threshold(np.array([0.3, 0.8, 0.9, 0.95]), np.array([0.1, 0.2, 0.5, 0.25]))
    assert 0.3 < t <= 0.5


def test_cosine_and_confidence_known_answers():
    scorer = CosineScorer(["a", "b"], np.eye(2), threshold=0.7, slope=10.0)
    np.testing.assert_allclose(scorer.cosine(np.array([3.0, 4.0])), [0.6, 0.8])
    np.testing.assert_allclose(scorer.cosine(np.array([[0.0, -2.0]])), [[0.0, -1.0]])
    # 1 / (1 + exp(-10 * (cos - 0.7)))
    np.testing.assert_allclose(scorer.confidence(np.array([0.6, 0.7, 0.8])),
                               [1 / (1 + np.e), 0.5, 1 / (1 + 1 / np.e)])


def test_fit_scorer_leaves_each_file_out_of_its_own_centroid():
    """Two speakers, two files each, at +-20 degrees around the x and the y axis.

    Leaving a file out of its own centroid, its same-speaker score is its cosine to the
    other file of its speaker, cos(40 deg); scored with itself included it would be
    cos(20 deg). Different-speaker scores are +-sin(20 deg). The threshold is the middle of
    the gap between the two kinds of trials.
    """
    X = np.stack([at(20), at(-20), at(70), at(110)])
    scorer = fit_scorer(3 * X, ["a", "a", "b", "b"], ["a", "b"])
    np.testing.assert_allclose(scorer.centroids, np.eye(2), atol=1e-12)
    target, impostor = np.cos(np.radians(40)), np.sin(np.radians(20))
    assert scorer.threshold == pytest.approx((target + impostor) / 2)


def test_fit_scorer_separates_speakers(rng):
    centers = np.eye(16)[:3]  # orthogonal voices
    X = np.concatenate([unit(c + 0.3 * rng.standard_normal((4, 16))) for c in centers])
    y = np.repeat(["a", "b", "c"], 4)
    scorer = fit_scorer(X, y, ["a", "b", "c"])
    same = scorer.cosine(X)[np.arange(12), np.repeat([0, 1, 2], 4)]
    assert scorer.centroids.shape == (3, 16)
    assert np.allclose(np.linalg.norm(scorer.centroids, axis=1), 1)
    conf = scorer.confidence(scorer.cosine(unit(centers)))
    assert np.all(np.diag(conf) > 0.9) and np.all(conf[~np.eye(3, dtype=bool)] < 0.5)
    assert same.min() > scorer.threshold


def test_fit_scorer_prior_without_trials(rng):
    X = unit(rng.standard_normal((2, 8)))
    scorer = fit_scorer(X, ["a", "b"], ["a", "b"])  # one file each: no same-speaker trial
    assert scorer.threshold == DEFAULT_THRESHOLD
    np.testing.assert_allclose(scorer.centroids, X)


def test_gaussian_slope_known_answer():
    # means 0.8 and 0.2; each kind is +-0.1 around its mean: squared deviations 4 * 0.01
    # per kind, pooled over 4 + 4 - 2 degrees of freedom and the prior's trials
    targets = np.array([0.7, 0.9, 0.7, 0.9])
    impostors = np.array([0.1, 0.3, 0.1, 0.3])
    var = (8 * 0.01 + PRIOR_TRIALS * PRIOR_TRIAL_STD ** 2) / (6 + PRIOR_TRIALS)
    assert gaussian_slope(targets, impostors) == pytest.approx(0.6 / var)
    # no spread, many trials: the upper bound
    assert gaussian_slope(np.full(5000, 0.9), np.full(5000, 0.1)) == MAX_SLOPE
    # targets below impostors: the lower bound
    assert gaussian_slope(np.array([0.1, 0.2]), np.array([0.8, 0.9])) == MIN_SLOPE


def test_nuisance_projection_removes_a_known_channel_shift():
    """Two voices on axes 0 and 1; every file's channel adds a shift along axis 2.

    The within-speaker scatter lies along axis 2 only, so the basis is that axis, and after
    projection a file of speaker a in any channel scores exactly 1 against a's centroid
    and exactly 0 against b's: the shift that lowered its raw cosine is gone.
    """
    X = np.array([[0.6, 0.0, t] for t in (0.8, -0.8)] * 2
                 + [[0.0, 0.6, t] for t in (0.8, -0.8)] * 2)
    y = ["a"] * 4 + ["b"] * 4      # unit rows that differ only along axis 2 within a voice
    wide = np.zeros((8, 12))
    wide[:, :3] = X
    basis = nuisance_basis(wide, y, rank=1)
    assert basis.shape == (1, 12)
    np.testing.assert_allclose(np.abs(basis[0, 2]), 1.0, atol=1e-9)
    scorer = fit_scorer(wide, y, ["a", "b"], rank=1)
    test = np.zeros(12)
    test[[0, 2]] = [1.0, 3.0]      # speaker a through a channel never seen
    raw = test[0] / np.linalg.norm(test)
    assert raw < 0.4
    np.testing.assert_allclose(scorer.cosine(test), [1.0, 0.0], atol=1e-9)
    # without the projection the same file scores its raw cosine
    plain = fit_scorer(wide, y, ["a", "b"], rank=0)
    assert plain.nuisance.shape[0] == 0
    assert plain.cosine(test)[0] < 0.5


def test_nuisance_rank_is_bounded_by_the_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 40))
    # one file per speaker: no within-speaker scatter, nothing removed
    assert nuisance_basis(X, list("abcdef"), rank=5).shape == (0, 40)
    # two speakers of three files: 4 within-speaker degrees of freedom, a quarter kept
    assert nuisance_basis(X, list("aaabbb"), rank=8).shape == (1, 40)
    # never more than a quarter of the dimensions
    assert nuisance_basis(rng.standard_normal((40, 8)), ["a", "b"] * 20, rank=8).shape == (2, 8)


def test_detection_figures_known_answers():
    from streamz_speaker.speaker_id.evaluation import detection_figures

    known = np.array([0.9, 0.8, 0.7, 0.3])
    unknown = np.array([0.1, 0.2, 0.4, 0.6])
    d = detection_figures(known, unknown, target_far=0.25, p_target=0.5)
    # accept at >= 0.6 admits one unknown of four (FAR 25%) and rejects one known (0.3)
    assert d["far_threshold"] == 0.6 and d["far_achieved"] == 0.25 and d["frr_at_far"] == 0.25
    # p_target 0.5: cost = miss + false alarm; best 0.25 (e.g. threshold 0.7)
    assert d["min_dcf"] == pytest.approx(0.25)
    strict = detection_figures(known, unknown, target_far=0.0)
    assert strict["far_threshold"] == 0.7 and strict["frr_at_far"] == 0.25
    # p_target 0.01: a false accept costs 99 misses, so the best is to accept no unknown
    assert strict["min_dcf"] == pytest.approx(0.25)
    assert detection_figures(known, np.array([]))["min_dcf"] is None


def test_centring_removes_the_voices_common_part(rng):
    """Embeddings of every voice share a large common direction; removing the enrolled mean
    (shrunk for few speakers) spreads the centroids apart and keeps files with their own."""
    common = np.zeros(16)
    common[0] = 3.0
    voices = rng.standard_normal((4, 16))
    X = np.concatenate([common + v + 0.3 * rng.standard_normal((3, 16)) for v in voices])
    y = np.repeat(["a", "b", "c", "d"], 3)
    plain = fit_scorer(X, y, ["a", "b", "c", "d"])
    centred = fit_scorer(X, y, ["a", "b", "c", "d"], centre=True)
    rows = X / np.linalg.norm(X, axis=1, keepdims=True)
    np.testing.assert_allclose(centred.mean, rows.mean(axis=0) * 4 / (4 + CENTRE_PRIOR_SPEAKERS))
    assert plain.mean is None
    off_diagonal = ~np.eye(4, dtype=bool)
    assert (centred.centroids @ centred.centroids.T)[off_diagonal].max() < \
        (plain.centroids @ plain.centroids.T)[off_diagonal].max()
    assert (centred.cosine(X).argmax(axis=1) == np.repeat(np.arange(4), 3)).all()
