from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from streamz_speaker.core.fileio import file_lock
from streamz_speaker.core.config import FeatureConfig
from streamz_speaker.core.errors import LockError
from streamz_speaker.speaker_id.extraction import CacheConfig
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.speaker_id.training import TrainConfig, train

FAST = dict(epochs=25, update_epochs=8, burn_in_limit=0)
#: Two labelled files each of alice and bob.
KNOWN = ["alice0.wav,alice", "alice1.wav,alice", "bob0.wav,bob", "bob1.wav,bob"]


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
    lst = write_list(corpus / "train.txt", KNOWN)
    report = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    assert len(report.learned) == 4 and report.skipped == 0
    model = load_model(corpus / "m.npz")
    assert model.speakers == ["alice", "bob"] and len(model.learned) == 4
    again = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    assert again.learned == [] and again.skipped == 4
    assert list(cache.feature_dir.glob("*.npy"))  # features were cached


# Both front ends decide with the open-set scorer (MFCC: on the classifier's last hidden
# layer).
@pytest.mark.parametrize("kind,threshold", [("embedding", 0.8), ("mfcc", 0.99)])
def test_unlabelled_files_matched_or_new_and_written_back(corpus, cache, kind, threshold):
    lst = write_list(corpus / "train.txt", ["# two speakers", "alice0.wav,alice",
                                            "alice1.wav,alice", "bob0.wav,bob", "bob1.wav,bob",
                                            "alice2.wav", "carol0.wav"])
    report = train(lst, corpus / "m.npz", TrainConfig(threshold=threshold, **FAST),
                   feature_config=FeatureConfig(kind=kind), cache=cache)
    decided = {p.name: (label, new) for p, label, _, new in report.assigned}
    assert decided["alice2.wav"] == ("alice", False)
    carol = "speaker_001" if kind == "embedding" else decided["carol0.wav"][0]
    if kind == "mfcc":
        # a classifier trained on two voices has a hidden layer that only tells those two
        # apart: carol lands near bob (0.9998, a known limit of the MFCC front end with few
        # speakers). The rule still follows the confidence.
        [(_, label, confidence, new)] = [a for a in report.assigned
                                         if a[0].name == "carol0.wav"]
        assert new == (confidence < threshold) and label == ("speaker_001" if new else "bob")
    assert decided["carol0.wav"] == (carol, carol == "speaker_001")
    text = lst.read_text().splitlines()
    assert text[0] == "# two speakers" and text[5:] == ["alice2.wav,alice", f"carol0.wav,{carol}"]
    assert load_model(corpus / "m.npz").speakers == sorted({"alice", "bob", carol})


def test_integer_labels_continue_and_cap(corpus, cache):
    lst = write_list(corpus / "train.txt", ["alice0.wav,0", "bob0.wav,1", "carol0.wav"])
    train(lst, corpus / "m.npz", TrainConfig(threshold=1.0, **FAST), cache=cache)
    assert lst.read_text().splitlines()[2] == "carol0.wav,2"
    capped = write_list(corpus / "more.txt", ["carol1.wav"])
    report = train(capped, corpus / "m.npz", TrainConfig(threshold=1.0, max_speakers=3, **FAST),
                   cache=cache)
    # at the cap, a file below the threshold joins its best match (carol's "2") instead
    [(_, label, confidence, is_new)] = report.assigned
    assert report.new_speakers == [] and (label, is_new) == ("2", False) and confidence < 1.0


# The MFCC classifier keeps old speakers through its replay memory; the embedding front end
# through its per-file profiles.
@pytest.mark.parametrize("kind", ["embedding", "mfcc"])
def test_incremental_runs_keep_old_speakers(corpus, cache, kind):
    first = write_list(corpus / "a.txt", KNOWN)
    train(first, corpus / "m.npz", TrainConfig(**FAST), cache=cache,
          feature_config=FeatureConfig(kind=kind))
    second = write_list(corpus / "b.txt", ["carol0.wav,carol", "carol1.wav,carol"])
    train(second, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    from streamz_speaker.speaker_id.identification import identify_file

    model = load_model(corpus / "m.npz")
    for name in ("alice2", "bob2", "carol2"):
        assert identify_file(model, corpus / f"{name}.wav", threshold=0.0).best == name[:-1]


@pytest.mark.parametrize("kind", ["embedding", "mfcc"])
def test_new_speakers_retrain_from_memory_known_ones_update(corpus, cache, kind):
    cfg = TrainConfig(**FAST)
    train(write_list(corpus / "a.txt", KNOWN), corpus / "m.npz", cfg, cache=cache,
          feature_config=FeatureConfig(kind=kind))
    # a run with a new voice trains the network again on every remembered window (the
    # memory holds all of them here, below its bound), as one run on all files would
    train(write_list(corpus / "b.txt", ["carol0.wav,carol", "carol1.wav,carol"]),
          corpus / "m.npz", cfg, cache=cache)
    model = load_model(corpus / "m.npz")
    clf = model.classifier
    assert len(clf.loss_curve_) == cfg.epochs
    assert clf.n_samples_seen_ == cfg.epochs * len(model.memory_y)
    assert set(model.memory_y.tolist()) == {"alice", "bob", "carol"}
    # a run on known voices only goes on from there
    train(write_list(corpus / "c.txt", ["alice2.wav,alice"]), corpus / "m.npz", cfg, cache=cache)
    assert len(load_model(corpus / "m.npz").classifier.loss_curve_) == \
        cfg.epochs + cfg.update_epochs


def test_replay_memory_bounded_per_speaker(corpus, cache):
    lst = write_list(corpus / "train.txt", KNOWN)
    train(lst, corpus / "m.npz", TrainConfig(memory_per_speaker=3, **FAST), cache=cache)
    labels, counts = np.unique(load_model(corpus / "m.npz").memory_y, return_counts=True)
    assert dict(zip(labels.tolist(), counts.tolist())) == {"alice": 3, "bob": 3}


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


# -- the learning rules, each at its boundary ----------------------------------------------

def _assign_alice2(corpus, cache, *, threshold, burn_in_limit):
    """Train a fresh model on KNOWN + unlabelled alice2; (label, confidence, is_new) of alice2."""
    lst = write_list(corpus / "train.txt", KNOWN + ["alice2.wav"])
    cfg = replace(TrainConfig(**FAST), threshold=threshold, burn_in_limit=burn_in_limit,
                  retrain=True)
    report = train(lst, corpus / "m.npz", cfg, cache=cache)
    [(_, label, confidence, is_new)] = report.assigned
    return label, confidence, is_new


def test_threshold_is_inclusive(corpus, cache):
    """An unlabelled file whose confidence equals the threshold joins that speaker."""
    label, c, _ = _assign_alice2(corpus, cache, threshold=0.0, burn_in_limit=0)
    assert label == "alice" and 0.0 < c < 1.0
    assert _assign_alice2(corpus, cache, threshold=c, burn_in_limit=0) == ("alice", c, False)
    above = float(np.nextafter(c, 1.0))
    assert _assign_alice2(corpus, cache, threshold=above, burn_in_limit=0) == \
        ("speaker_001", c, True)


def test_burn_in_asks_halfway_to_one(corpus, cache):
    """During burn-in the confidence must reach (1 + threshold) / 2, after it the threshold."""
    _, c, _ = _assign_alice2(corpus, cache, threshold=0.0, burn_in_limit=0)
    assert 0.5 < c < 1.0
    threshold = (3 * c - 1) / 2          # threshold < c < (1 + threshold) / 2
    # alice2 is the fifth file: a burn-in of 5 files covers it, one of 4 does not
    assert _assign_alice2(corpus, cache, threshold=threshold, burn_in_limit=5)[2] is True
    assert _assign_alice2(corpus, cache, threshold=threshold, burn_in_limit=4) == \
        ("alice", c, False)
    # the default burn-in is 20% of the list but at least 10 files
    assert _assign_alice2(corpus, cache, threshold=threshold, burn_in_limit=None)[2] is True


def test_duplicate_content_in_one_list_learned_once(corpus, cache):
    (corpus / "alice0_copy.wav").write_bytes((corpus / "alice0.wav").read_bytes())
    (corpus / "alice2_copy.wav").write_bytes((corpus / "alice2.wav").read_bytes())
    lst = write_list(corpus / "train.txt", KNOWN + ["alice0_copy.wav,alice", "alice2.wav",
                                                    "alice2_copy.wav"])
    report = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    assert report.skipped == 2
    assert [p.name for p, _ in report.learned] == ["alice0.wav", "alice1.wav", "bob0.wav",
                                                    "bob1.wav", "alice2.wav"]
    model = load_model(corpus / "m.npz")
    assert sorted(model.profile_y.tolist()) == ["alice", "alice", "alice", "bob", "bob"]
    # the copy of an unlabelled file gets the same label in the same run
    assert lst.read_text().splitlines()[-2:] == ["alice2.wav,alice", "alice2_copy.wav,alice"]


def test_learned_line_left_unlabelled_is_labelled_by_the_next_run(corpus, cache):
    """A run that saved the model but stopped before writing the list: the next one labels it."""
    lst = write_list(corpus / "train.txt", KNOWN + ["alice2.wav"])
    train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    assert lst.read_text().splitlines()[-1] == "alice2.wav,alice"
    write_list(lst, KNOWN + ["alice2.wav"])       # the list as the interrupted run left it
    model_before = (corpus / "m.npz").read_bytes()
    report = train(lst, corpus / "m.npz", TrainConfig(**FAST), cache=cache)
    assert report.learned == [] and report.skipped == 5
    assert lst.read_text().splitlines()[-1] == "alice2.wav,alice"
    assert (corpus / "m.npz").read_bytes() == model_before
