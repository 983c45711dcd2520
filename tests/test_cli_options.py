"""Options of `streamz train` and `streamz identify` reach the library and change the result."""

import json

import pytest

from cli_support import cache_args, invoke, write_clips
from streamz_speaker.speaker_id.persistence import load_model


@pytest.fixture
def clips(tmp_path):
    write_clips(tmp_path, n=3)
    return tmp_path


def _train(folder, *args):
    """Retrain on two clips each of alice and bob plus unlabelled alice2; alice2's assignment."""
    lst = folder / "train.txt"
    lst.write_text("alice0.wav,alice\nalice1.wav,alice\nbob0.wav,bob\nbob1.wav,bob\nalice2.wav\n")
    result = invoke("-q", "train", lst, "--model", folder / "m.npz", "--epochs", 5, "--retrain",
                    "--json", *cache_args(folder), *args)
    assert result.exit_code == 0, result.output
    [assigned] = json.loads(result.stdout)["assigned"]
    return assigned["label"], assigned["confidence"], assigned["new"]


def test_train_threshold_burn_in_and_speaker_cap(clips):
    # the MFCC front end: its confidence in alice2 stays below 1 (the CAM++ one rounds to 1
    # on these clean synthetic voices, and the burn-in rule needs room above it)
    def _train_mfcc(folder, *args):
        return _train(folder, "--features", "mfcc", *args)

    label, c, new = _train_mfcc(clips, "--threshold", "0", "--burn-in-limit", "0")
    assert (label, new) == ("alice", False) and 0.5 < c < 1
    # --threshold: above the confidence, a new speaker
    assert _train_mfcc(clips, "--threshold", "1", "--burn-in-limit", "0")[::2] \
        == ("speaker_001", True)
    # --max-speakers: none can be created, so the best match
    assert _train_mfcc(clips, "--threshold", "1", "--burn-in-limit", "0",
                       "--max-speakers", "2") == ("alice", c, False)
    # --burn-in-limit: the burn-in rule asks for (1 + t) / 2 > c; without burn-in, t <= c
    t = (3 * c - 1) / 2
    assert _train_mfcc(clips, "--threshold", t, "--burn-in-limit", "0")[::2] == ("alice", False)
    assert _train_mfcc(clips, "--threshold", t)[::2] == ("speaker_001", True)  # default: 10 files


def test_train_features_option(clips):
    _train(clips, "--features", "mfcc")
    assert load_model(clips / "m.npz").feature_config.kind == "mfcc"
    _train(clips)
    assert load_model(clips / "m.npz").feature_config.kind == "embedding"


def test_identify_threshold_and_list(clips):
    _train(clips, "--burn-in-limit", "0")

    def identify(*args):
        result = invoke("-q", "identify", clips / "alice2.wav", "--model", clips / "m.npz",
                        "--json", "--list", *cache_args(clips), *args)
        assert result.exit_code == 0, result.output
        [row] = json.loads(result.stdout)
        return row

    low, high = identify("--threshold", "0"), identify("--threshold", "1")
    assert (low["speaker"], high["speaker"]) == ("alice", "unknown")
    assert low["best"] == high["best"] == "alice" and low["confidence"] == high["confidence"]
    # --list: every window counts for alice at threshold 0, for nobody at 1
    assert [(s["speaker"], s["share"]) for s in low["speakers"]] == [("alice", 1.0)]
    assert [(s["speaker"], s["share"]) for s in high["speakers"]] == [("unknown", 1.0)]
