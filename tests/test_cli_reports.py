"""What train and eval say they did: summaries, list edits, warnings, JSON, progress."""

import json

from cli_support import cache_args, invoke, write_clips
from streamz_speaker.speaker_id.extraction import CacheConfig
from streamz_speaker.speaker_id.training import TrainConfig, train


def _setup(tmp_path):
    write_clips(tmp_path, n=3)
    lst = tmp_path / "train.txt"
    lst.write_text("alice0.wav,alice\nbob0.wav,bob\n")
    targets = tmp_path / "target_files.txt"
    targets.write_text("alice0.wav,alice   # learned by the run below\nbob1.wav,bob\n")
    return lst, targets, tmp_path / "model.npz"


def test_train_says_what_it_learned_and_removed(tmp_path):
    lst, targets, model = _setup(tmp_path)
    result = invoke("train", lst, "--model", model, "--epochs", "5", *cache_args(tmp_path))
    assert result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if not line.startswith(
        ("hashing", "features", "training"))]  # progress labels (stderr is not a terminal)
    assert notices == [
        f"learned 2 files, skipped 0 already learned, 2 new speakers (alice, bob); model: {model}",
        f"removed 1 line from {targets}, whose audio is now learned (evaluation stays on unseen "
        "audio):", f"  {tmp_path / 'alice0.wav'}"]
    assert targets.read_text() == "bob1.wav,bob\n"
    lst.write_text(lst.read_text() + "alice1.wav,alice\n")
    again = invoke("train", lst, "--model", model, "--epochs", "5", *cache_args(tmp_path))
    assert again.stderr.splitlines()[-1] == (f"learned 1 file, skipped 2 already learned, "
                                             f"0 new speakers; model: {model}")


def test_train_json_gives_every_file_as_an_object(tmp_path):
    lst, targets, model = _setup(tmp_path)
    lst.write_text(lst.read_text() + "alice1.wav\nmissing.wav,bob\n")
    result = invoke("-q", "train", lst, "--model", model, "--epochs", "5", "--json",
                    *cache_args(tmp_path))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["learned"][0] == {"path": str(tmp_path / "alice0.wav"), "label": "alice"}
    assert set(report["assigned"][0]) == {"path", "label", "confidence", "new"}
    assert report["failures"] == [{"path": str(tmp_path / "missing.wav"),
                                   "error": "file not found"}]
    assert report["target_list"] == str(targets)
    assert report["targets_removed"] == [str(tmp_path / "alice0.wav")]
    assert report["new_speakers"][:2] == ["alice", "bob"]


def test_eval_warns_when_the_audio_was_learned(tmp_path):
    lst, targets, model = _setup(tmp_path)
    assert invoke("-q", "train", lst, "--model", model, "--epochs", "5", "--target-list",
                  tmp_path / "none.txt", *cache_args(tmp_path)).exit_code == 0
    learned = invoke("-q", "eval", lst, "--model", model, *cache_args(tmp_path))
    assert learned.exit_code == 0, learned.output
    assert learned.stderr == ("Warning: the model was trained on 2 of the 2 files evaluated: "
                              "these figures overstate its accuracy on new audio\n")
    assert learned.stdout.startswith("files: 2 (of known speakers: 2, of unknown speakers: 0)")
    unseen = tmp_path / "unseen.txt"
    unseen.write_text("alice2.wav,alice\nbob2.wav,bob\n")
    result = invoke("-q", "eval", unseen, "--model", model, "--json", *cache_args(tmp_path))
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["learned_files"] == []


def test_every_progress_step_reaches_its_total(tmp_path):
    lst, _, model = _setup(tmp_path)
    lst.write_text(lst.read_text() + "alice1.wav\n")
    last = {}

    def hook(step, artifact=None, total=None, completed=None):
        last[step] = (completed, total)

    train(lst, model, TrainConfig(epochs=3), hook=hook,
          cache=CacheConfig(feature_dir=tmp_path / "f", wav_dir=tmp_path / "c"))
    assert set(last) == {"hashing", "features", "training", "enrolling"}
    assert all(completed == total for completed, total in last.values()), last


def test_paths_are_printed_the_same_way_from_lists_and_arguments(tmp_path, monkeypatch):
    write_clips(tmp_path / "clips")
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "train.txt").write_text(
        "../clips/alice0.wav,alice\n../clips/bob0.wav,bob\n../clips/bob1.wav\nmissing.wav,bob\n")
    monkeypatch.chdir(tmp_path)
    cache = ["--cache-dir", "cache", "--feature-cache", "features"]
    result = invoke("-q", "train", "lists/train.txt", "--epochs", "5", *cache)
    assert result.exit_code == 1
    assert result.stdout.startswith("clips/bob1.wav\t")
    assert result.stderr == "Error: lists/missing.wav: file not found\n1 file failed.\n"
    report = json.loads(invoke("-q", "train", "lists/train.txt", "--json", *cache).stdout)
    assert report["model"] == "models/model.npz"
    assert report["failures"] == [{"path": "lists/missing.wav", "error": "file not found"}]
    identified = invoke("-q", "identify", "./clips/bob1.wav", tmp_path / "clips" / "bob0.wav",
                        "lists/missing.wav", *cache)
    assert [line.split("\t")[0] for line in identified.stdout.splitlines()] == [
        "clips/bob1.wav", "clips/bob0.wav"]
    assert identified.stderr.startswith("Error: lists/missing.wav: file not found\n")
