"""How a run reports itself: -q/-v anywhere, silence when there is nothing to do, Ctrl-C."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from cli_support import EXAMPLES, cache_args, copy_model, invoke, train_small_model


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return folder, train_small_model(folder)


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_run_with_nothing_to_do_prints_nothing(small_model, where):
    folder, model = small_model
    args = ["train", folder / "train.txt", "--model", model, *cache_args(folder)]
    result = invoke(*(["-q", *args] if where == "before" else [*args, "-q"]))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    loud = invoke(*args)
    assert loud.exit_code == 0 and "skipped 4 already learned" in loud.stderr


def test_quiet_failures_still_print(small_model, tmp_path):
    folder, model = small_model
    lst = tmp_path / "more.txt"
    lst.write_text("missing.wav,alice\n")
    result = invoke("train", lst, "--model", copy_model(model, tmp_path), "-q",
                    *cache_args(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'missing.wav'}: file not found\n1 file failed.\n"


@pytest.mark.parametrize("option", ["-q", "-v", "-vv", "--quiet", "--verbose"])
def test_verbosity_options_after_the_command(small_model, option):
    folder, model = small_model
    result = invoke("identify", folder / "alice0.wav", "--model", model, option,
                    *cache_args(folder))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{folder / 'alice0.wav'}\talice\t")


def test_interrupted_train_exits_130_and_leaves_no_partial_file(small_model, tmp_path,
                                                                 monkeypatch):
    folder, model = small_model
    model = copy_model(model, tmp_path)
    before = model.read_bytes()
    lst = tmp_path / "new.txt"
    lst.write_text(f"{folder / 'bob0.wav'}\n")  # unlabelled: its label would be written back
    list_before = lst.read_text()

    def interrupted_savez(fh, **arrays):
        fh.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted_savez)
    result = invoke("-q", "train", lst, "--model", model, "--retrain", *cache_args(folder))
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted."
    assert model.read_bytes() == before and lst.read_text() == list_before
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.npz", "model.npz.lock"]


def _as_in_a_terminal():
    """Ctrl-C reaches the child as in a terminal. A test run started in the background of a
    non-interactive shell (`pytest &`, a CI runner) ignores SIGINT, the child inherits that
    across exec, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.models
def test_sigint_exits_130(tmp_path):
    # four minutes of audio: a loaded machine cannot finish before the signal arrives
    y, sr = sf.read(EXAMPLES / "meeting.flac", dtype="float32")
    sf.write(tmp_path / "long.flac", np.tile(y, 8), sr)
    out = tmp_path / "rttm"
    process = subprocess.Popen([sys.executable, "-m", "streamz_speaker", "diarize",
                                tmp_path / "long.flac", "-o", out],
                               stderr=subprocess.PIPE, text=True, preexec_fn=_as_in_a_terminal)
    seen = ""
    while "segmentation" not in seen:  # the first progress label: the run has started
        char = process.stderr.read(1)
        assert char, seen
        seen += char
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert rest.strip().endswith("Interrupted.")
    # no RTTM, half or whole, and no temporary file: only the batch's lock
    assert not out.exists() or [p.name for p in out.iterdir()] == ["manifest.jsonl.lock"]


@pytest.mark.parametrize("threshold", ["0.5", "1.0"])
def test_identify_list_shares_add_up(small_model, threshold):
    folder, model = small_model
    result = invoke("-q", "identify", folder / "bob1.wav", "--model", model, "--list",
                    "--json", "--threshold", threshold, *cache_args(folder))
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert sum(s["share"] for s in row["speakers"]) == pytest.approx(1.0, abs=1e-3)
    if threshold == "1.0":  # no window is that sure: all of them are unknown
        assert row["speakers"] == [{"speaker": "unknown", "windows": row["speakers"][0]["windows"],
                                    "share": 1.0}]
        text = invoke("-q", "identify", folder / "bob1.wav", "--model", model, "--list",
                      "--threshold", threshold, *cache_args(folder)).stdout.splitlines()
        assert text[1] == f"  best match: bob, confidence {row['confidence']:.3f}, below " \
                          "--threshold 1.0"
        assert text[2] == "  unknown\t100.0%\t(1 of 1 window: no speaker reaches 1.0)"
