import numpy as np
import pytest

from streamz.open_set import DEFAULT_THRESHOLD, CosineScorer, eer_threshold, fit_scorer


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
    assert np.all(np.diag(conf) > 0.9) and np.all(conf[~np.eye(3, dtype=bool)] < 0.1)
    assert same.min() > scorer.threshold


def test_fit_scorer_prior_without_trials(rng):
    X = unit(rng.standard_normal((2, 8)))
    scorer = fit_scorer(X, ["a", "b"], ["a", "b"])  # one file each: no same-speaker trial
    assert scorer.threshold == DEFAULT_THRESHOLD
    np.testing.assert_allclose(scorer.centroids, X)
