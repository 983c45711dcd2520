"""ONNX Runtime sessions: the one place that constructs an ``InferenceSession``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..core.errors import ModelLoadError

#: Input name -> rank, per model role (checked once, at load).
EXPECTED_INPUTS: dict[str, dict[str, int]] = {
    "segmentation": {"waveform": 3},            # (batch, 1, samples)
    "segmentation_sincnet": {"waveform": 3},    # (1, 1, samples) -> (1, 80, frames)
    "segmentation_tail": {"conv": 3, "mean": 3, "var": 3},   # -> (batch, 589, 7)
    "embedding": {"fbank": 3},                  # (batch, frames, 80) -> (batch, 192)
    "embedding_backbone": {"fbank": 3},         # (batch, frames, 80) -> (batch, 512, frames/2)
    "wespeaker": {"feats": 3},                  # (batch, frames, 80) -> (batch, 256)
}


def create_session(path: os.PathLike | str, providers: Sequence[str] = ("CPUExecutionProvider",),
                   *, expected_inputs: Mapping[str, int] | None = None,
                   intra_op_threads: int = 0):
    """Open an ONNX model and check its inputs.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file.
    providers : sequence of str
        ONNX Runtime execution providers, in order of preference.
    expected_inputs : mapping of str to int, optional
        Input name -> rank that the model must have (see :data:`EXPECTED_INPUTS`).
        When the model has exactly one input of the right rank but another name, it is
        accepted (exporters name inputs differently); use :func:`input_name` to feed it.
    intra_op_threads : int
        Threads per operator; 0 lets ONNX Runtime choose (all cores).

    Returns
    -------
    onnxruntime.InferenceSession

    Raises
    ------
    ModelLoadError
        If the file is missing, is not a loadable ONNX model, or its inputs do not match.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(intra_op_threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=list(providers))
    except Exception as e:  # ORT raises its own Fail/InvalidGraph/... types
        raise ModelLoadError(f"{path}: cannot load ONNX model: {str(e).strip()[:300]}") from e
    if expected_inputs:
        found = {i.name: len(i.shape) for i in session.get_inputs()}
        matches = all(found.get(name) == rank for name, rank in expected_inputs.items())
        single = (len(expected_inputs) == 1 and len(found) == 1
                  and next(iter(found.values())) == next(iter(expected_inputs.values())))
        if not (matches or single):
            raise ModelLoadError(f"{path}: unexpected model inputs: expected "
                                 f"{dict(expected_inputs)} (name: rank), found {found}")
    return session


def release_memory(session) -> None:
    """Give back the memory ONNX Runtime's CPU arena kept from earlier runs.

    The arena keeps the peak of every run for the life of the session (the CAM++ backbone
    needs ~300 MB for a 60 s block, segmentation ~22 MB per window); a tiny run with arena
    shrinkage frees it for the stages that follow. Shrinking after every run instead costs
    5-10 % of speed (the memory is page-faulted in again each time). Best effort: does
    nothing for sessions it cannot feed.
    """
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    feeds = {}
    for i, node in enumerate(session.get_inputs()):
        if node.type != "tensor(float)":
            return
        shape = [d if isinstance(d, int) else (1 if k == 0 else 200)
                 for k, d in enumerate(node.shape)]
        feeds[node.name] = np.zeros(shape, np.float32)
    try:
        session.run(None, feeds, options)
    except Exception:  # noqa: BLE001 - an input this guess cannot satisfy: keep the memory
        pass


def input_name(session) -> str:
    """Name of the session's first input."""
    return session.get_inputs()[0].name
