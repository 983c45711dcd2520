import numpy as np
import pytest

from streamz_speaker.speaker_id.classifier import SpeakerClassifier
from streamz_speaker.core.errors import NotFittedError


def blobs(rng, n_classes=3, n=60, d=8):
    centers = rng.standard_normal((n_classes, d)) * 4
    X = np.concatenate([c + rng.standard_normal((n, d)) for c in centers]).astype(np.float32)
    y = np.repeat([f"s{i}" for i in range(n_classes)], n)
    return X, y


def test_fit_learns_separable_classes(rng):
    X, y = blobs(rng)
    clf = SpeakerClassifier(hidden_sizes=(16,), learning_rate=0.01, max_epochs=30,
                            random_state=0).fit(X, y)
    assert (clf.predict(X) == y).mean() > 0.95
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_partial_fit_n_times_equals_fit(rng):
    X, y = blobs(rng)
    fitted = SpeakerClassifier(hidden_sizes=(16,), max_epochs=4, random_state=7).fit(X, y)
    inc = SpeakerClassifier(hidden_sizes=(16,), random_state=7)
    for _ in range(4):
        inc.partial_fit(X, y, classes=np.unique(y))
    assert np.allclose(inc.predict_proba(X), fitted.predict_proba(X))


def test_seeded_reproducible(rng):
    X, y = blobs(rng)
    a = SpeakerClassifier(max_epochs=3, random_state=1).fit(X, y).predict_proba(X)
    b = SpeakerClassifier(max_epochs=3, random_state=1).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)


def test_partial_fit_class_rules(rng):
    X, y = blobs(rng)
    clf = SpeakerClassifier(hidden_sizes=(8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="differs from the fitted classes"):
        clf.partial_fit(X, y, classes=["s0", "s1"])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:2], ["zz", "s0"])


def test_add_classes_keeps_learned_columns(rng):
    X, y = blobs(rng, n_classes=4)
    old = y != "s3"
    clf = SpeakerClassifier(hidden_sizes=(16,), learning_rate=0.01, max_epochs=30,
                            random_state=0).fit(X[old], y[old])
    W_before = clf.coefs_[-1].copy()
    clf.add_classes(["s3", "s0"])
    assert clf.classes_.tolist() == ["s0", "s1", "s2", "s3"]
    assert np.array_equal(clf.coefs_[-1][:, :3], W_before)
    for _ in range(30):
        clf.partial_fit(X, y)
    assert (clf.predict(X) == y).mean() > 0.9


def test_unfitted_and_bad_input(rng):
    clf = SpeakerClassifier()
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((1, 3)))
    X, y = blobs(rng)
    clf.set_params(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((1, X.shape[1]), np.nan))
    with pytest.raises(ValueError, match="invalid parameter"):
        clf.set_params(bogus=1)


def test_params_are_the_ones_used(rng):
    clf = SpeakerClassifier(hidden_sizes=(4, 3), dropout=0.1)
    assert clf.get_params() == {"hidden_sizes": (4, 3), "dropout": 0.1, "learning_rate": 1e-3,
                                "alpha": 1e-4, "batch_size": 64, "max_epochs": 30,
                                "random_state": None}
    X, y = blobs(rng)
    clf.set_params(hidden_sizes=(5,), max_epochs=3).fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(8, 5), (5, 3)]
    assert len(clf.loss_curve_) == 3 and clf.n_samples_seen_ == 3 * len(X)


def test_predict_proba_known_answer(rng):
    """Standardise, ReLU, softmax, by hand: one input, one hidden layer, two classes."""
    clf = SpeakerClassifier(hidden_sizes=(2,), max_epochs=1).fit(rng.standard_normal((4, 2)),
                                                                 ["a", "b", "a", "b"])
    clf.mean_, clf.scale_ = np.array([1.0, 1.0], np.float32), np.array([2.0, 2.0], np.float32)
    clf.coefs_ = [np.eye(2, dtype=np.float32), np.array([[np.log(3), 0], [5, 5]], np.float32)]
    clf.intercepts_ = [np.array([0, -1], np.float32), np.zeros(2, np.float32)]
    # x = (3, 1) -> standardised (1, 0) -> hidden relu(1, -1) = (1, 0) -> logits (ln 3, 0)
    np.testing.assert_allclose(clf.predict_proba([[3.0, 1.0]]), [[0.75, 0.25]], rtol=1e-6)
    # x = (1, 5) -> (0, 2) -> relu(0, 1) = (0, 1) -> logits (5, 5)
    np.testing.assert_allclose(clf.predict_proba([[1.0, 5.0]]), [[0.5, 0.5]], rtol=1e-6)
    np.testing.assert_allclose(clf.transform([[3.0, 1.0], [1.0, 5.0]]), [[1, 0], [0, 1]])
