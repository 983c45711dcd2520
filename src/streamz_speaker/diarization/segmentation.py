"""Sliding-window segmentation: audio -> (num_chunks, num_frames, num_powerset_classes) logits."""

from __future__ import annotations

import numpy as np

from ..core.config import SAMPLE_RATE
from ..core.errors import ModelLoadError
from .config import (FRAMES_PER_WINDOW, NUM_POWERSET_CLASSES, WINDOW_SAMPLES,
                     SegmentationConfig)
from .onnx import input_name


def step_samples(cfg: SegmentationConfig) -> int:
    """Window step in samples."""
    return int(round(cfg.step_seconds * SAMPLE_RATE))


def num_chunks(n_samples: int, cfg: SegmentationConfig) -> int:
    """Number of windows pyannote slides over ``n_samples`` (the last one zero-padded).

    Windows start every ``step`` samples while a full window fits; one more, zero-padded
    window covers the remainder when there is one (and a single padded window covers audio
    shorter than 10 s).
    """
    if n_samples <= 0:
        return 0
    step = step_samples(cfg)
    full = 0 if n_samples < WINDOW_SAMPLES else (n_samples - WINDOW_SAMPLES) // step + 1
    has_last = n_samples < WINDOW_SAMPLES or (n_samples - WINDOW_SAMPLES) % step > 0
    return full + int(has_last)


def chunk(y: np.ndarray, index: int, cfg: SegmentationConfig) -> np.ndarray:
    """Window ``index`` of ``y``, zero-padded to 10 s.

    Returns
    -------
    ndarray of shape (WINDOW_SAMPLES,), float32
    """
    start = index * step_samples(cfg)
    piece = y[start:start + WINDOW_SAMPLES]
    if piece.shape[0] == WINDOW_SAMPLES:
        return piece
    out = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    out[:piece.shape[0]] = piece
    return out


def run(session, y: np.ndarray, cfg: SegmentationConfig = SegmentationConfig(), *,
        batch_size: int = 32, hook=None) -> np.ndarray:
    """Run the segmentation model over sliding 10 s windows.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        segmentation-3.0, from :func:`onnx.create_session`.
    y : ndarray of shape (n_samples,)
        Mono float32 audio at 16 kHz.
    cfg : SegmentationConfig
        ``step_seconds`` between windows (1 s by default, 2 s in fast mode).
    batch_size : int
        Windows per model call; memory stays bounded by one batch of windows.
    hook : callable, optional
        ``hook("segmentation", completed=..., total=...)`` after every batch.

    Returns
    -------
    logits : ndarray of shape (num_chunks, 589, 7), float32
        Powerset log-probabilities; chunk ``c`` starts at ``c * step_seconds``.
        ``num_chunks`` is 0 for empty audio.

    Raises
    ------
    ModelLoadError
        If the model's output does not have the segmentation-3.0 shape.
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio of shape (n_samples,), got {y.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    total = num_chunks(y.shape[0], cfg)
    logits = np.empty((total, FRAMES_PER_WINDOW, NUM_POWERSET_CLASSES), dtype=np.float32)
    for start in range(0, total, batch_size):
        stop = min(start + batch_size, total)
        logits[start:stop] = run_batch(session, y, cfg, start, stop)
        if hook is not None:
            hook("segmentation", completed=stop, total=total)
    return logits


def run_batch(session, y: np.ndarray, cfg: SegmentationConfig, start: int,
              stop: int) -> np.ndarray:
    """Logits of windows ``start:stop`` (one model call); see :func:`run`.

    Returns
    -------
    logits : ndarray of shape (stop - start, 589, 7), float32

    Raises
    ------
    ModelLoadError
        If the model's output does not have the segmentation-3.0 shape.
    """
    batch = np.stack([chunk(y, c, cfg) for c in range(start, stop)])[:, None, :]
    out = session.run(None, {input_name(session): batch})[0]
    if out.shape != (stop - start, FRAMES_PER_WINDOW, NUM_POWERSET_CLASSES):
        raise ModelLoadError(f"segmentation model returned shape {out.shape}, expected "
                             f"({stop - start}, {FRAMES_PER_WINDOW}, "
                             f"{NUM_POWERSET_CLASSES})")
    return out
