import numpy as np
import pytest

from streamz_speaker.speaker_id.classifier import SpeakerClassifier
from streamz_speaker.core.errors import ModelFormatError
from streamz_speaker.speaker_id.persistence import SpeakerModel, load_model, save_model


@pytest.fixture
def model(rng):
    X = rng.standard_normal((40, 6)).astype(np.float32)
    y = np.repeat(["alice", "bob"], 20)
    clf = SpeakerClassifier(hidden_sizes=(5,), max_epochs=2, random_state=0).fit(X, y)
    return SpeakerModel(classifier=clf, learned={"ab" * 32: "alice"}, history=[{"files": 2}],
                        memory_X=X[:4], memory_y=y[:4]), X


def test_save_load_predicts_identically(tmp_path, model):
    m, X = model
    path = save_model(m, tmp_path / "model")  # written as named: no .npz is appended
    assert path == tmp_path / "model" and path.is_file()
    loaded = load_model(path)
    assert np.array_equal(loaded.classifier.predict_proba(X), m.classifier.predict_proba(X))
    assert loaded.speakers == ["alice", "bob"] and loaded.learned == m.learned
    assert loaded.history == [{"files": 2}] and loaded.feature_config == m.feature_config
    # the replay memory is stored at half precision and comes back as float32
    assert np.load(path)["memory_X"].dtype == np.float16
    assert loaded.memory_X.dtype == np.float32
    np.testing.assert_allclose(loaded.memory_X, m.memory_X, rtol=1e-3, atol=1e-3)
    assert loaded.memory_y.tolist() == m.memory_y.tolist()
    # training can continue after loading
    loaded.classifier.partial_fit(X, np.repeat(["alice", "bob"], 20))


def test_corrupt_and_foreign_files(tmp_path, model):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelFormatError, match="not a readable streamz model"):
        load_model(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ModelFormatError, match="missing keys: format_version"):
        load_model(other)
    with pytest.raises(ModelFormatError, match="model not found"):
        load_model(tmp_path / "none.npz")
    m, _ = model
    path = save_model(m, tmp_path / "m.npz")
    data = dict(np.load(path))
    data["format_version"] = np.array(99)
    np.savez(path, **data)
    with pytest.raises(ModelFormatError, match="version 99 is not supported"):
        load_model(path)


def test_failed_write_leaves_old_model(tmp_path, model, monkeypatch):
    m, X = model
    path = save_model(m, tmp_path / "m.npz")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save_model(m, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def mfcc_model(rng):
    """An MFCC-kind model with per-file profile windows: two files each of two speakers."""
    from streamz_speaker.core.config import FeatureConfig

    centers = {"alice": np.full(6, 2.0), "bob": np.full(6, -2.0)}
    X = np.concatenate([c + rng.standard_normal((20, 6)) for c in centers.values()])
    y = np.repeat(list(centers), 20).astype(str)
    clf = SpeakerClassifier(hidden_sizes=(8,), max_epochs=20, random_state=0).fit(X, y)
    windows = X.astype(np.float32)
    keys = np.repeat([0, 2, 4, 6], 10).astype(np.int32)  # clean windows of files 0..3
    return SpeakerModel(classifier=clf, feature_config=FeatureConfig(kind="mfcc"),
                        profile_y=np.array(["alice", "alice", "bob", "bob"]),
                        profile_windows_X=windows, profile_windows_key=keys)


def test_mfcc_profile_windows_round_trip_and_hidden_scorer(tmp_path, rng):
    m = mfcc_model(rng)
    path = save_model(m, tmp_path / "m.npz")
    loaded = load_model(path)
    assert loaded.format_version == 3
    np.testing.assert_array_equal(loaded.profile_windows_key, m.profile_windows_key)
    np.testing.assert_array_equal(loaded.profile_windows_X, m.profile_windows_X)
    scorer = loaded.scorer()
    assert scorer is not None and scorer.centroids.shape == (2, 8)
    # the scorer works on hidden-layer embeddings: alice-like windows score alice higher
    probe = np.full((3, 6), 2.0, np.float32)
    cos = scorer.cosine(loaded.embed(probe).mean(axis=0))
    assert cos[0] > cos[1]


def test_format_2_mfcc_model_falls_back_to_softmax(tmp_path, rng):
    """A format 2 file has no profile windows: it loads, and scores with the softmax."""
    m = mfcc_model(rng)
    path = save_model(m, tmp_path / "m.npz")
    data = dict(np.load(path))
    for key in ("profile_windows_X", "profile_windows_key"):
        del data[key]
    data["format_version"] = np.array(2)
    data["profile_y"] = np.zeros(0, dtype=str)   # format 2 kept no MFCC profiles
    np.savez(path, **data)
    loaded = load_model(path)
    assert loaded.format_version == 2 and loaded.profile_windows_X.size == 0
    assert loaded.scorer() is None


def test_format_3_without_profile_windows_is_corrupt(tmp_path, rng):
    path = save_model(mfcc_model(rng), tmp_path / "m.npz")
    data = dict(np.load(path))
    del data["profile_windows_key"]
    np.savez(path, **data)
    with pytest.raises(ModelFormatError, match="missing keys: profile_windows_key"):
        load_model(path)
    data["profile_windows_key"] = np.full(len(data["profile_windows_X"]), 99, np.int32)
    np.savez(path, **data)
    with pytest.raises(ModelFormatError, match="profile windows do not match"):
        load_model(path)
