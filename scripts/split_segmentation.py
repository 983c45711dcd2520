"""Cut segmentation-3.0 into its first convolution and the rest (dev-time only; needs ``onnx``).

Run::

    python scripts/split_segmentation.py [--models src/streamz_speaker/core/models]

The first layer of segmentation-3.0 (SincNet) normalises each 10 s window (instance norm:
``y = w (x - mean) / sqrt(var + eps) + b``) and convolves it with 80 band-pass filters of
251 taps at stride 10. The convolution is linear, so on the raw waveform

    conv(y) = scale * conv(x) + offset * sum(filter),  scale = w / sqrt(var + eps),
                                                       offset = b - scale * mean

and ``conv(x)`` of overlapping windows can be computed once over the recording and sliced
(windows start on multiples of 10 samples). This script writes, next to the model:

- ``segmentation-3.0-sincnet.onnx``: ``waveform`` (1, 1, n_samples) -> ``conv``
  (1, 80, (n_samples - 251) // 10 + 1), the first convolution alone (no bias), any length;
- ``segmentation-3.0-tail.onnx``: ``conv`` (batch, 80, 15975), the window's ``mean`` and
  (population) ``var`` (batch, 1, 1) -> ``log_probs`` (batch, 589, 7): the affine
  correction above (with the model's own ``w``, ``b``, ``eps``), then the rest
  of the network exactly as in ``segmentation-3.0.onnx`` (cut with
  ``onnx.utils.extract_model``);

checks the pair against the whole model on random windows (max abs error printed and
recorded) and adds both to ``manifest.json`` with their sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SEGMENTATION = "segmentation-3.0.onnx"
SINCNET = "segmentation-3.0-sincnet.onnx"
TAIL = "segmentation-3.0-tail.onnx"
NORM = "/sincnet/wav_norm1d/InstanceNormalization"
CONV_OUT = "/sincnet/conv1d.0/Conv_output_0"


def _node(model, name):
    return next(n for n in model.graph.node if n.name == name)


def _initializers(model) -> dict:
    from onnx import numpy_helper

    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def build_sincnet(model, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    conv = next(n for n in model.graph.node if n.output[0] == CONV_OUT)
    weight = _initializers(model)[conv.input[1]]
    node = helper.make_node("Conv", ["waveform", "filters"], ["conv"], name="sincnet_conv0",
                            **{a.name: helper.get_attribute_value(a) for a in conv.attribute})
    graph = helper.make_graph(
        [node], "segmentation-3.0-sincnet",
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, [1, 1, "samples"])],
        [helper.make_tensor_value_info("conv", TensorProto.FLOAT, [1, weight.shape[0],
                                                                      "frames"])],
        [numpy_helper.from_array(weight, "filters")])
    out = helper.make_model(graph, opset_imports=list(model.opset_import),
                            producer_name="streamz split_segmentation.py")
    out.ir_version = model.ir_version
    onnx.checker.check_model(out)
    onnx.save(out, str(path))


def build_tail(model_path: Path, model, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    conv = next(n for n in model.graph.node if n.output[0] == CONV_OUT)
    weight = _initializers(model)[conv.input[1]]
    with tempfile.TemporaryDirectory() as tmp:
        cut = Path(tmp) / "tail.onnx"
        onnx.utils.extract_model(str(model_path), str(cut), [CONV_OUT], ["log_probs"])
        tail = onnx.load(str(cut))
    frames = 15975
    sums = weight.sum(axis=2, dtype=np.float64).astype(np.float32).reshape(1, -1, 1)
    norm = _node(model, NORM)
    init = _initializers(model)
    eps = next(a.f for a in norm.attribute if a.name == "epsilon")
    constants = {"norm_weight": init[norm.input[1]].reshape(1, 1, 1),
                 "norm_bias": init[norm.input[2]].reshape(1, 1, 1),
                 "norm_eps": np.full((1, 1, 1), eps, np.float32), "filter_sums": sums}
    # scale = w / sqrt(var + eps); offset = b - scale * mean; conv(y) = scale conv(x) + offset S
    nodes = [helper.make_node("Add", ["var", "norm_eps"], ["var_eps"], name="norm_var"),
             helper.make_node("Sqrt", ["var_eps"], ["std"], name="norm_std"),
             helper.make_node("Div", ["norm_weight", "std"], ["scale"], name="norm_scale"),
             helper.make_node("Mul", ["scale", "mean"], ["scaled_mean"], name="norm_mean"),
             helper.make_node("Sub", ["norm_bias", "scaled_mean"], ["offset"], name="norm_offset"),
             helper.make_node("Mul", ["conv", "scale"], ["scaled"], name="conv_scale"),
             helper.make_node("Mul", ["offset", "filter_sums"], ["shifted"], name="conv_offset"),
             helper.make_node("Add", ["scaled", "shifted"], [CONV_OUT], name="conv_norm")]
    graph = tail.graph
    del graph.input[:]
    graph.input.extend([
        helper.make_tensor_value_info("conv", TensorProto.FLOAT, ["batch", weight.shape[0],
                                                                  frames]),
        helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", 1, 1]),
        helper.make_tensor_value_info("var", TensorProto.FLOAT, ["batch", 1, 1])])
    graph.initializer.extend(numpy_helper.from_array(v.astype(np.float32), k)
                             for k, v in constants.items())
    old = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + old)
    graph.name = "segmentation-3.0-tail"
    onnx.checker.check_model(tail)
    onnx.save(tail, str(path))


def check(folder: Path, rng) -> float:
    """Max abs difference of the split model from the whole one on random windows."""
    import onnxruntime as ort

    def session(name):
        return ort.InferenceSession(str(folder / name), providers=["CPUExecutionProvider"])

    whole, sinc, tail = session(SEGMENTATION), session(SINCNET), session(TAIL)
    x = (rng.standard_normal((3, 1, 160_000)) * [[[0.3]], [[0.01]], [[1.0]]]).astype(np.float32)
    x[1, 0, 100_000:] = 0.0                         # a zero-padded last window
    expected = whole.run(None, {"waveform": x})[0]
    convs = np.concatenate([sinc.run(None, {"waveform": x[i:i + 1]})[0] for i in range(3)])
    mean = x.mean(axis=2, dtype=np.float64, keepdims=True).astype(np.float32)
    var = x.var(axis=2, dtype=np.float64, keepdims=True).astype(np.float32)
    got = tail.run(None, {"conv": convs, "mean": mean, "var": var})[0]
    return float(np.abs(got - expected).max())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> int:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path,
                        default=REPO / "src" / "streamz_speaker" / "core" / "models")
    args = parser.parse_args(argv)
    folder: Path = args.models
    model = onnx.load(str(folder / SEGMENTATION))
    build_sincnet(model, folder / SINCNET)
    build_tail(folder / SEGMENTATION, model, folder / TAIL)
    error = check(folder, np.random.default_rng(0))
    print(f"split model vs whole: max abs error {error:.3g} on log-probabilities")
    if error > 1e-3:
        print("error too large: not recorded in the manifest", file=sys.stderr)
        return 1
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    whole = next(e for e in manifest["models"] if e["file"] == SEGMENTATION)
    entries = [e for e in manifest["models"] if e["file"] not in (SINCNET, TAIL)]
    common = {k: whole[k] for k in ("source", "package", "package_version", "license",
                                    "source_sha256")}
    for name, role, inputs, outputs in (
            (SINCNET, "segmentation_sincnet", {"waveform": [1, 1, "samples"]},
             {"conv": [1, 80, "(samples - 251) // 10 + 1"]}),
            (TAIL, "segmentation_tail",
             {"conv": ["batch", 80, 15975], "mean": ["batch", 1, 1],
              "var": ["batch", 1, 1]}, {"log_probs": ["batch", 589, 7]})):
        entries.append({"file": name, "role": role, **common,
                        "derived_from": f"{SEGMENTATION} (scripts/split_segmentation.py)",
                        "inputs": inputs, "outputs": outputs,
                        "max_abs_error_vs_whole_model": error,
                        "sha256": _sha256(folder / name), "bytes": (folder / name).stat().st_size})
    manifest["models"] = entries
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {folder / SINCNET}, {folder / TAIL} and their manifest entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
