"""ONNX Runtime sessions: the one place that constructs an ``InferenceSession``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import ModelLoadError

#: Input name -> rank, per model role (checked once, at load).
EXPECTED_INPUTS: dict[str, dict[str, int]] = {
    "segmentation": {"waveform": 3},            # (batch, 1, samples)
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
        session = _session_class()(str(path), options, providers=list(providers))
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


@lru_cache(maxsize=None)
def _session_class():
    """``InferenceSession`` whose runs give their arena memory back when they end.

    ONNX Runtime's CPU arena otherwise keeps the peak of every run for the life of the
    session (the CAM++ backbone needs ~300 MB for a 60 s block, segmentation ~22 MB per
    window); with shrinkage that memory is free again for clustering and reconstruction, for
    a few percent of speed.
    """
    import onnxruntime as ort

    shrink = ort.RunOptions()
    shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    class ShrinkingSession(ort.InferenceSession):
        def run(self, output_names, input_feed, run_options=None):
            return super().run(output_names, input_feed,
                               shrink if run_options is None else run_options)

    return ShrinkingSession


def input_name(session) -> str:
    """Name of the session's first input."""
    return session.get_inputs()[0].name
