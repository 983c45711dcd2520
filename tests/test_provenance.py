"""What a model records about how it was made, `streamz info`, and models of format 1."""

import datetime as dt
import hashlib
import json

import numpy as np
import pytest

from cli_support import cache_args, copy_model, invoke, train_small_model
from streamz_speaker.core import provenance
from streamz_speaker.core.errors import ModelFormatError
from streamz_speaker.core.model_assets import load_manifest, package_models_dir
from streamz_speaker.speaker_id.persistence import FORMAT_VERSION, load_model, save_model
from streamz_speaker.speaker_id.training import TrainConfig


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return train_small_model(tmp_path_factory.mktemp("provenance"))


def test_learned_digest_depends_on_content_and_labels_only():
    a = {"1" * 64: "alice", "2" * 64: "bob"}
    assert provenance.learned_digest(a) == provenance.learned_digest(dict(reversed(a.items())))
    assert provenance.learned_digest(a) != provenance.learned_digest({**a, "2" * 64: "carol"})
    # the definition the docstring gives, computed by hand
    lines = "".join(sorted(f"{sha} {label}\n" for sha, label in a.items()))
    assert provenance.learned_digest(a) == hashlib.sha256(lines.encode()).hexdigest()


def test_a_trained_model_records_how_it_was_made(small_model):
    model = load_model(small_model)
    p = model.provenance
    assert p["streamz_version"] == provenance.package_version() != "unknown"
    assert p["seed"] == 0 and p["train_config"]["epochs"] == 10 and p["runs_total"] == 1
    manifest = {m["file"]: m["sha256"]
                 for m in load_manifest(package_models_dir())["models"]}
    assert p["front_end_models"] == {name: manifest[name] for name in
                                     ("campplus_backbone.onnx", "campplus_head.npz")}
    run = model.history[-1]
    assert (run["files"], run["skipped"], run["failures"], run["speakers"]) == (4, 0, 0, 2)
    assert run["new_speakers"] == ["alice", "bob"] and run["seconds"] >= 0
    assert dt.datetime.fromisoformat(run["time"]).tzinfo is not None


def test_info_prints_it(small_model):
    result = invoke("info", small_model)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    digest = provenance.learned_digest(load_model(small_model).learned)
    assert lines[0] == f"model: {small_model} (format {FORMAT_VERSION})"
    assert lines[1].startswith(f"written by: streamz {provenance.package_version()}, created ")
    assert lines[2].startswith("features: embedding; front-end models: campplus_backbone.onnx "
                               "sha256 ")
    assert lines[3] == "speakers: 2: alice (2 files), bob (2 files)"
    assert lines[4] == f"learned files: 4, digest sha256 {digest}"
    assert lines[5] == "seed: 0"
    assert "epochs=10" in lines[6] and lines[9] == "runs: 1"
    assert "learned 4  skipped 0  failed 0  new speakers: alice, bob" in lines[10]
    data = json.loads(invoke("info", small_model, "--json").stdout)
    assert data["learned_digest"] == digest and len(data["learned"]) == 4
    assert data["speakers"] == {"alice": 2, "bob": 2} and data["format_version"] == FORMAT_VERSION


def test_train_json_includes_it(small_model, tmp_path):
    model = copy_model(small_model, tmp_path)
    lst = tmp_path / "more.txt"
    clips = small_model.parent.parent
    lst.write_text(f"{clips / 'alice0.wav'},alice\n")
    report = json.loads(invoke("-q", "train", lst, "--model", model, "--json",
                               *cache_args(tmp_path)).stdout)
    info = report["model_info"]
    assert info["model"] == str(model) and info["runs_total"] == 1   # nothing new: no run
    assert info["learned_digest"] == provenance.learned_digest(load_model(model).learned)
    assert "learned" not in info    # the per-file list is `streamz info --json`'s


def test_history_is_bounded_and_counts_every_run(small_model, monkeypatch):
    model = load_model(small_model)
    monkeypatch.setattr(provenance, "MAX_RUNS", 3)
    started = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(5):
        provenance.record_run(model, TrainConfig(seed=i), started=started, seconds=1.0,
                              list_path="x.txt", learned=1, skipped=0, failures=0,
                              new_speakers=[])
    assert len(model.history) == 3 and model.provenance["runs_total"] == 6
    assert model.provenance["seed"] == 4 and model.history[-1]["config"]["seed"] == 4
    assert model.provenance["created"] == load_model(small_model).provenance["created"]


def as_format_1(path):
    """Rewrite a model file as streamz wrote it before format 2."""
    data = dict(np.load(path))
    del data["provenance_json"]
    data["format_version"] = np.array(1)
    data["history_json"] = np.array(json.dumps([{"time": "2026-01-01T00:00:00+00:00",
                                                 "list": "/x/train.txt", "files": 4,
                                                 "new_speakers": ["alice", "bob"],
                                                 "failures": 0}]))
    with open(path, "wb") as fh:
        np.savez(fh, **data)


def test_models_of_format_1_still_load_and_are_upgraded_when_saved(small_model, tmp_path):
    path = copy_model(small_model, tmp_path)
    before = load_model(path)
    as_format_1(path)
    old = load_model(path)
    assert old.format_version == 1 and old.provenance == {}
    assert old.learned == before.learned and old.speakers == before.speakers
    lines = invoke("info", path).stdout.splitlines()
    assert lines[0].endswith("(format 1)")
    assert lines[1] == ("written by: not recorded (model format 1, written before streamz "
                        "recorded it)")
    assert lines[-1].startswith("  2026-01-01T00:00:00+00:00  learned 4  skipped ?  failed 0")
    save_model(old, path)
    assert load_model(path).format_version == FORMAT_VERSION


def test_a_learned_list_that_does_not_match_its_digest_is_refused(small_model, tmp_path):
    path = copy_model(small_model, tmp_path)
    data = dict(np.load(path))
    data["learned_labels"] = np.array(["bob"] * len(data["learned_labels"]))
    with open(path, "wb") as fh:
        np.savez(fh, **data)
    with pytest.raises(ModelFormatError, match="do not match the digest recorded"):
        load_model(path)
