import numpy as np
import pytest
import soundfile as sf

from streamz._fileio import file_lock
from streamz.config import FeatureConfig
from streamz.errors import LockError
from streamz.extraction import CacheConfig
from streamz.persistence import load_model
from streamz.training import TrainConfig, train

FAST = dict(epochs=25, update_epochs=8, burn_in_limit=0)


@pytest.fixture
def cache(tmp_path):
    return CacheConfig(feature_dir=tmp_path / "fc", wav_dir=tmp_path / "wc")


def write_list(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def corpus(make_wav):
    """Three clips each of alice and bob, two of carol (held back as a new voice)."""
    for speaker in ("alice", "bob", "carol"):
        for i in range(3):
            make_wav(f"{speaker}{i}.wav", speaker, seconds=1.5, seed=10 * i + len(speaker))
    return make_wav("x.wav").parent


def test_train_then_skip_learned(corpus, cache):
    lst = write_list(corpus / "train.txt", ["alice0.wav,alice", "alice1.wav,alice",
                                            "bob0.wav,bob", "bob1.wav,bob"])
    report = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    assert len(report.learned) == 4 and report.skipped == 0
    model = load_model(corpus / "m.npz")
    assert model.speakers == ["alice", "bob"] and len(model.learned) == 4
    again = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    assert again.learned == [] and again.skipped == 4
    assert list(cache.feature_dir.glob("*.npy"))  # features were cached


# The MFCC front end decides with a softmax over the known speakers, which is confident even
# for a new voice (0.97 for carol here, 0.999 for alice2): its rule is exercised with a
# threshold between the two. The embedding front end's calibrated score works at 0.8.
@pytest.mark.parametrize("kind,threshold", [("embedding", 0.8), ("mfcc", 0.99)])
def test_unlabelled_files_matched_or_new_and_written_back(corpus, cache, kind, threshold):
    lst = write_list(corpus / "train.txt", ["# two speakers", "alice0.wav,alice",
                                            "alice1.wav,alice", "bob0.wav,bob", "bob1.wav,bob",
                                            "alice2.wav", "carol0.wav"])
    report = train(lst, corpus / "m.npz", TrainConfig(threshold=threshold, **FAST),
                   feature_config=FeatureConfig(kind=kind), cache=cache)
    decided = {p.name: (label, new) for p, label, _, new in report.assigned}
    assert decided["alice2.wav"] == ("alice", False)
    assert decided["carol0.wav"] == ("speaker_001", True)
    text = lst.read_text().splitlines()
    assert text[0] == "# two speakers" and text[5:] == ["alice2.wav,alice", "carol0.wav,speaker_001"]
    assert load_model(corpus / "m.npz").speakers == ["alice", "bob", "speaker_001"]


def test_integer_labels_continue_and_cap(corpus, cache):
    lst = write_list(corpus / "train.txt", ["alice0.wav,0", "bob0.wav,1", "carol0.wav"])
    train(lst, corpus / "m.npz", TrainConfig(threshold=1.0, **FAST), cache=cache)
    assert lst.read_text().splitlines()[2] == "carol0.wav,2"
    capped = write_list(corpus / "more.txt", ["carol1.wav"])
    report = train(capped, corpus / "m.npz", TrainConfig(threshold=1.0, max_speakers=3, **FAST),
                   cache=cache)
    assert report.new_speakers == [] and report.assigned[0][1] in {"0", "1", "2"}


def test_incremental_runs_keep_old_speakers(corpus, cache):
    first = write_list(corpus / "a.txt", ["alice0.wav,alice", "alice1.wav,alice",
                                          "bob0.wav,bob", "bob1.wav,bob"])
    train(first, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    second = write_list(corpus / "b.txt", ["carol0.wav,carol", "carol1.wav,carol"])
    train(second, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    from streamz.identification import identify_file

    model = load_model(corpus / "m.npz")
    for name in ("alice2", "bob2", "carol2"):
        assert identify_file(model, corpus / f"{name}.wav", threshold=0.0).best == name[:-1]


def test_bad_files_skipped_and_reported(corpus, cache):
    (corpus / "empty.wav").write_bytes(b"")
    sf.write(corpus / "silent.wav", np.zeros(16000), 16000)
    lst = write_list(corpus / "train.txt", ["alice0.wav,alice", "empty.wav,bob", "silent.wav,bob",
                                            "missing.wav,bob", "bob0.wav,bob"])
    before = lst.read_text()
    report = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    failed = {p.name: m for p, m in report.failures}
    assert failed == {"empty.wav": "file is empty", "missing.wav": "file not found",
                      "silent.wav": failed["silent.wav"]}
    assert "silent" in failed["silent.wav"]
    assert len(report.learned) == 2 and lst.read_text() == before


def test_concurrent_run_fails_fast_and_model_survives(corpus, cache):
    lst = write_list(corpus / "train.txt", ["alice0.wav,alice", "bob0.wav,bob"])
    train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    before = (corpus / "m.npz").read_bytes()
    with file_lock(corpus / "m.npz.lock"):
        with pytest.raises(LockError, match="locked by another streamz process"):
            train(lst, corpus / "m.npz", TrainConfig(retrain=True, **FAST), cache=cache)
    assert (corpus / "m.npz").read_bytes() == before


def test_target_list_refreshed(corpus, cache):
    lst = write_list(corpus / "train.txt", ["alice0.wav,alice", "bob0.wav,bob"])
    targets = write_list(corpus / "target_files.txt", ["alice0.wav,alice", "alice1.wav,alice"])
    report = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache, target_list=targets)
    assert report.targets_removed == [corpus / "alice0.wav"]
    assert targets.read_text() == "alice1.wav,alice\n"
