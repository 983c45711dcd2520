"""Sliding-window segmentation: audio -> (num_chunks, num_frames, num_powerset_classes) logits."""

from __future__ import annotations

from dataclasses import dataclass

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


#: segmentation-3.0's first convolution: 80 band-pass filters of 251 taps, stride 10.
SINCNET_STRIDE = 10
SINCNET_TAPS = 251
SINCNET_FRAMES = (WINDOW_SAMPLES - SINCNET_TAPS) // SINCNET_STRIDE + 1      # 15975 per window


@dataclass(frozen=True)
class SplitModel:
    """segmentation-3.0 cut after its first convolution (``scripts/split_segmentation.py``).

    The first layer normalises each window (``w (x - mean) / sqrt(var + eps) + b``) and
    convolves it; both are linear, so the convolution of the raw recording is computed once
    and sliced per window, and ``tail`` applies the window's normalisation to the slice
    exactly before the rest of the network (same log-probabilities as the whole model within
    ~2e-5).
    """

    sincnet: object     # onnxruntime session: waveform (1, 1, n) -> conv (1, 80, frames)
    tail: object        # onnxruntime session: conv (b, 80, 15975), mean, var (b, 1, 1) -> logits


def run_windows(model, y: np.ndarray, cfg: SegmentationConfig, indices, *,
                batch_size: int = 4) -> np.ndarray:
    """Logits of the windows ``indices`` (increasing), sharing the first convolution.

    Same as :func:`run_batch` on those windows (within ~2e-5); see :class:`Span`.

    Returns
    -------
    logits : ndarray of shape (len(indices), 589, 7), float32
    """
    indices = [int(i) for i in indices]
    if not indices:
        return np.empty((0, FRAMES_PER_WINDOW, NUM_POWERSET_CLASSES), np.float32)
    return Span(model, y, cfg, indices[0], indices[-1], batch_size=batch_size)(indices)


class Span:
    """Windows ``first..last`` of a recording, whose first convolution is computed once.

    Parameters
    ----------
    model : SplitModel or onnxruntime.InferenceSession
        With the whole model (or a step that is not a multiple of the convolution's stride)
        every window is run on its own, as :func:`run_batch` does.
    y : ndarray of shape (n_samples,) or source.FileAudio
        Mono float32 16 kHz audio.
    cfg : SegmentationConfig
    first, last : int
        Window indices (inclusive); window ``c`` starts at ``c * step_seconds``.
    batch_size : int
        Windows per call of the network.

    Memory: the span's samples and its convolution, 80 x 1600 float32 per second (~0.5 MB/s).
    """

    def __init__(self, model, y, cfg: SegmentationConfig, first: int, last: int, *,
                 batch_size: int = 4):
        self.model, self.cfg, self.batch_size = model, cfg, batch_size
        self.step = step_samples(cfg)
        self.first = first
        self.shared = isinstance(model, SplitModel) and self.step % SINCNET_STRIDE == 0
        lo = first * self.step
        self.samples = np.zeros(last * self.step + WINDOW_SAMPLES - lo, np.float32)
        piece = y[lo:lo + self.samples.shape[0]]
        self.samples[:piece.shape[0]] = piece             # zero-padded past the end
        self.conv = None
        if self.shared:
            self.conv = model.sincnet.run(None, {"waveform": self.samples[None, None]})[0][0]
            #   shape: (80, num_span_frames): the first convolution of the raw span, once

    def __call__(self, indices) -> np.ndarray:
        """Logits of windows ``indices`` (each in ``first..last``).

        Returns
        -------
        logits : ndarray of shape (len(indices), 589, 7), float32

        Raises
        ------
        ModelLoadError
            If the model's output does not have the segmentation-3.0 shape.
        """
        indices = [int(i) for i in indices]
        out = np.empty((len(indices), FRAMES_PER_WINDOW, NUM_POWERSET_CLASSES), np.float32)
        for k in range(0, len(indices), self.batch_size):
            part = indices[k:k + self.batch_size]
            starts = [(c - self.first) * self.step for c in part]
            windows = np.stack([self.samples[a:a + WINDOW_SAMPLES] for a in starts])
            if self.shared:
                convs = np.stack([self.conv[:, a // SINCNET_STRIDE:
                                            a // SINCNET_STRIDE + SINCNET_FRAMES]
                                  for a in starts])
                out[k:k + len(part)] = split_tail(self.model, convs, windows)
            elif isinstance(self.model, SplitModel):
                out[k:k + len(part)] = _split_windows(self.model, windows[:, None, :])
            else:
                session = self.model
                out[k:k + len(part)] = _checked(
                    session.run(None, {input_name(session): windows[:, None, :]})[0], len(part))
        return out


def split_tail(model: SplitModel, convs: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """The network after its first convolution.

    Parameters
    ----------
    model : SplitModel
    convs : ndarray of shape (b, 80, 15975), float32
        First convolution of the raw (un-normalised) windows.
    windows : ndarray of shape (b, 160000), float32
        The windows' samples (their mean and variance give the normalisation).

    Returns
    -------
    logits : ndarray of shape (b, 589, 7), float32
    """
    mean = windows.mean(axis=1, dtype=np.float64)
    var = windows.var(axis=1, dtype=np.float64)
    feeds = {"conv": convs, "mean": mean.astype(np.float32).reshape(-1, 1, 1),
             "var": var.astype(np.float32).reshape(-1, 1, 1)}
    return _checked(model.tail.run(None, feeds)[0], convs.shape[0])


def _split_windows(model: SplitModel, batch: np.ndarray) -> np.ndarray:
    convs = np.concatenate([model.sincnet.run(None, {"waveform": w[None]})[0] for w in batch])
    return split_tail(model, convs, batch[:, 0])


def _checked(out: np.ndarray, n: int) -> np.ndarray:
    if out.shape != (n, FRAMES_PER_WINDOW, NUM_POWERSET_CLASSES):
        raise ModelLoadError(f"segmentation model returned shape {out.shape}, expected "
                             f"({n}, {FRAMES_PER_WINDOW}, {NUM_POWERSET_CLASSES})")
    return out
