import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from streamz_speaker.cli import cli

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert cli.commands[command].help and len(result.output) > 100


def run(*args):
    return CliRunner().invoke(cli, ["-q", *map(str, args)])


@pytest.fixture
def trained(tmp_path, make_wav):
    for speaker in ("alice", "bob"):
        for i in range(2):
            make_wav(f"{speaker}{i}.wav", speaker, seed=i)
    lst = tmp_path / "train.txt"
    lst.write_text("alice0.wav,alice\nalice1.wav,alice\nbob0.wav,bob\nbob1.wav,bob\n")
    model = tmp_path / "models" / "model.npz"
    cache = ["--cache-dir", tmp_path / "c", "--feature-cache", tmp_path / "f"]
    result = run("train", lst, "--model", model, "--epochs", "20", *cache)
    assert result.exit_code == 0, result.output
    return tmp_path, model, cache


def test_train_identify_eval_roundtrip(trained, make_wav):
    tmp_path, model, cache = trained
    probe = make_wav("probe.wav", "bob", seed=5)
    result = run("identify", probe, "--model", model, "--threshold", "0.5", "--json", *cache)
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    assert row["speaker"] == "bob" and row["confidence"] > 0.5
    listed = run("identify", probe, "--model", model, "--list", *cache)
    assert listed.exit_code == 0 and "bob" in listed.stdout
    targets = tmp_path / "targets.txt"
    targets.write_text("probe.wav,bob\nalice1.wav,alice\n")
    result = run("eval", targets, "--model", model, "--json", *cache)
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["accuracy"] == 1.0 and report["n_known"] == 2
    checked = run("check-embeddings", tmp_path / "train.txt", "--model", model, "--json", *cache)
    stats = json.loads(checked.stdout)
    assert checked.exit_code == 0 and (stats["n_files"], stats["n_speakers"]) == (4, 2)
    assert stats["intra_similarity"] > stats["inter_similarity"] and stats["silhouette"] > 0.5
    clusters = run("cluster-embeddings", "2", tmp_path / "train.txt", "--model", model, "--json",
                   *cache)
    rows = json.loads(clusters.stdout)
    by_label = {}
    for r in rows:
        by_label.setdefault(r["label"], set()).add(r["cluster"])
    assert all(len(c) == 1 for c in by_label.values()) and len(rows) == 4


def _bad_files(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio at all")
    sf.write(tmp_path / "silent.wav", np.zeros(16000), 16000)
    sf.write(tmp_path / "nan.wav", np.full(16000, np.nan), 16000, subtype="FLOAT")
    sf.write(tmp_path / "one.wav", np.ones(1) * 0.5, 16000)
    sf.write(tmp_path / "rate.wav", np.zeros(50), 5)
    full = tmp_path / "cut.wav"
    sf.write(full, np.random.default_rng(0).standard_normal(16000) * 0.1, 16000)
    full.write_bytes(full.read_bytes()[:9000])
    return {"empty.wav": "file is empty", "text.wav": "not a readable audio file",
            "silent.wav": "silent", "nan.wav": "NaN", "one.wav": "too short",
            "rate.wav": "absurd sample rate", "cut.wav": "truncated",
            "missing.wav": "file not found"}


def test_identify_bad_files_batch_continues(trained):
    tmp_path, model, cache = trained
    bad = _bad_files(tmp_path)
    files = [tmp_path / "alice0.wav", *(tmp_path / name for name in bad)]
    result = run("identify", *files, "--model", model, *cache)
    assert result.exit_code == 1
    assert "alice0.wav\talice" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == len(bad)
    for name, problem in bad.items():
        assert any(str(tmp_path / name) in e and problem in e for e in errors), (name, errors)


def test_train_bad_files_keep_model_and_ledger(trained):
    tmp_path, model, cache = trained
    bad = _bad_files(tmp_path)
    before_model = model.read_bytes()
    lst = tmp_path / "more.txt"
    lst.write_text("".join(f"{name}\n" for name in bad))
    before_list = lst.read_text()
    result = run("train", lst, "--model", model, *cache)
    assert result.exit_code == 1
    assert f"{len(bad)} files failed." in result.stderr
    assert model.read_bytes() == before_model and lst.read_text() == before_list


def test_malformed_list_and_corrupt_model(trained):
    tmp_path, model, cache = trained
    lst = tmp_path / "bad.txt"
    lst.write_text("alice0.wav,alice\nbob0.wav,bad label\n")
    result = run("train", lst, "--model", model, *cache)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {lst}:2: malformed label 'bad label' (use letters, digits, '_', '-' or '.')"
    broken = tmp_path / "broken.npz"
    broken.write_bytes(model.read_bytes()[:500])
    result = run("identify", tmp_path / "alice0.wav", "--model", broken, *cache)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {broken}: not a readable streamz model")
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(trained):
    tmp_path, model, _ = trained
    assert run("train", "--threshold", "1.5").exit_code == 2
    assert run("identify").exit_code == 2
    assert run("cluster-embeddings", "0").exit_code == 2


def test_eval_split_leaves_model_untouched(trained):
    tmp_path, model, cache = trained
    for speaker in ("alice", "bob"):
        for i in range(2, 4):
            from conftest import SPEAKERS, synth_voice

            sf.write(tmp_path / f"{speaker}{i}.wav", synth_voice(*SPEAKERS[speaker], 1.5, seed=i),
                     16000)
    lst = tmp_path / "all.txt"
    lst.write_text("".join(f"{s}{i}.wav,{s}\n" for s in ("alice", "bob") for i in range(4)))
    before = model.read_bytes()
    result = run("eval", lst, "--eval-split", "0.25", "--json", *cache)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_known"] == 2 and report["accuracy"] is not None
    assert model.read_bytes() == before
