import numpy as np
import pytest

from streamz.classifier import SpeakerClassifier
from streamz.errors import ModelFormatError
from streamz.persistence import SpeakerModel, load_model, save_model


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
