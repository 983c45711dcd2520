"""Model resolution, sha256 checks, the community-1 layout, and ONNX session checks."""

import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from streamz_speaker.core import model_assets as ma
from streamz_speaker.core.fileio import sha256_file
from streamz_speaker.cli import cli
from streamz_speaker.diarization.onnx import EXPECTED_INPUTS, create_session
from streamz_speaker.core.errors import ModelLoadError


def _fake_bundle(folder, *, corrupt=None):
    """A folder with the bundled file names (tiny fake contents) and a matching manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name in (ma.SEGMENTATION_FILE, ma.BACKBONE_FILE, ma.HEAD_FILE):
        (folder / name).write_bytes(name.encode())
        entries.append({"file": name, "role": "x", "license": "MIT",
                        "sha256": sha256_file(folder / name)})
    (folder / ma.MANIFEST_NAME).write_text(json.dumps({"models": entries}))
    if corrupt:
        (folder / corrupt).write_bytes(b"tampered")
    return folder


def test_bundled_models_verify():
    assets = ma.find_models()
    assert assets.kind == "campplus"
    assert all(r.status == "ok" for r in ma.list_models())
    licenses = {r.file: r.license for r in ma.list_models()}
    assert licenses["segmentation-3.0.onnx"] == "MIT"
    assert licenses["campplus_backbone.onnx"] == "Apache-2.0"


def test_bundled_folder_ships_only_listed_models():
    """Every bundled model file is in the manifest; the full CAM++ ONNX is not shipped."""
    folder = ma.package_models_dir()
    listed = {e["file"] for e in ma.load_manifest(folder)["models"]}
    shipped = {p.name for p in folder.iterdir() if p.suffix in (".onnx", ".npz")}
    assert shipped == listed
    assert "campplus.onnx" not in shipped
    assert "campplus.onnx" not in (folder / "NOTICE.md").read_text()


def test_models_dir_argument_beats_env(tmp_path, monkeypatch):
    a, b = _fake_bundle(tmp_path / "a"), _fake_bundle(tmp_path / "b")
    monkeypatch.setenv(ma.MODELS_DIR_ENV, str(a))
    assert ma.find_models().segmentation.parent == a
    assert ma.find_models(b).segmentation.parent == b


def test_hash_mismatch_names_the_file(tmp_path):
    folder = _fake_bundle(tmp_path / "m", corrupt=ma.BACKBONE_FILE)
    with pytest.raises(ModelLoadError, match="campplus_backbone.onnx.*sha256"):
        ma.find_models(folder)


def test_missing_file_names_it(tmp_path):
    folder = _fake_bundle(tmp_path / "m")
    (folder / ma.HEAD_FILE).unlink()
    with pytest.raises(ModelLoadError, match="campplus_head.npz: model file not found"):
        ma.find_models(folder)


def test_missing_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="models folder not found"):
        ma.find_models(tmp_path / "nope")


def test_community1_layout_detected(tmp_path):
    folder = tmp_path / "community-1"
    (folder / "plda").mkdir(parents=True)
    (folder / "embedding").mkdir()
    np.savez(folder / "plda" / "xvec_transform.npz", mean1=np.zeros(4), mean2=np.zeros(2),
             lda=np.zeros((4, 2)))
    np.savez(folder / "plda" / "plda.npz", mu=np.zeros(2), tr=np.eye(2), psi=np.ones(2))
    (folder / "embedding" / "wespeaker-resnet34.onnx").write_bytes(b"onnx")
    assets = ma.find_models(folder)
    assert assets.kind == "wespeaker"
    assert assets.embedding.name == "wespeaker-resnet34.onnx"
    assert assets.plda.name == "plda.npz" and assets.plda_transform.name == "xvec_transform.npz"
    assert assets.segmentation == ma.package_models_dir() / ma.SEGMENTATION_FILE
    statuses = {r.file: r.status for r in ma.list_models(folder)}
    assert statuses["embedding/wespeaker-resnet34.onnx"] == "unverified"


def test_community1_without_onnx_is_an_error(tmp_path):
    np.savez(tmp_path / "xvec_transform.npz", mean1=np.zeros(4))
    np.savez(tmp_path / "plda.npz", mu=np.zeros(2))
    with pytest.raises(ModelLoadError, match="no WeSpeaker"):
        ma.find_models(tmp_path)


def test_create_session_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        create_session(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match="garbage.onnx: cannot load"):
        create_session(garbage)
    two_inputs = tmp_path / "two_inputs.onnx"         # not a segmentation model
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["c"])], "add",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 1, "samples"])
         for n in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["batch", 1, "samples"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), two_inputs)
    with pytest.raises(ModelLoadError, match="unexpected model inputs"):
        create_session(two_inputs, expected_inputs=EXPECTED_INPUTS["segmentation"])


def test_models_command(tmp_path):
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    assert "segmentation-3.0.onnx" in result.output and "Apache-2.0" in result.output
    folder = _fake_bundle(tmp_path / "m", corrupt=ma.SEGMENTATION_FILE)
    result = CliRunner().invoke(cli, ["models", "--models-dir", str(folder), "--json"])
    assert result.exit_code == 1
    assert "Error: segmentation-3.0.onnx: mismatch" in result.output
