import numpy as np

from streamz.open_set import DEFAULT_THRESHOLD, CosineScorer, eer_threshold, fit_scorer


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_eer_threshold_known_answers():
    # separable: the middle of the gap
    assert np.isclose(eer_threshold(np.array([0.8, 0.9]), np.array([0.2, 0.4])), 0.6)
    # one target below one impostor: the crossing lies between them
    t = eer_threshold(np.array([0.3, 0.8, 0.9, 0.95]), np.array([0.1, 0.2, 0.5, 0.25]))
    assert 0.3 < t <= 0.5


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
    assert np.isclose(CosineScorer(["a"], X[:1]).confidence(DEFAULT_THRESHOLD), 0.5)
