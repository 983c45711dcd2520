"""Speaker embeddings per (chunk, local speaker): backbone once per recording, masked pooling."""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..core.config import SAMPLE_RATE
from ..core.errors import ModelLoadError
from . import fbank as _fbank
from .config import (EMBEDDING_DIMENSION, FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS,
                     FRAMES_PER_WINDOW, NUM_LOCAL_SPEAKERS, WINDOW_SAMPLES)
from .onnx import input_name

#: CAM++ halves the fbank frame rate: one backbone frame every 20 ms.
BACKBONE_HOP = 2 * _fbank.FRAME_SHIFT                   # 320 samples
BACKBONE_CHANNELS = 512
FRAMES_PER_CHUNK = WINDOW_SAMPLES // BACKBONE_HOP        # 500 backbone frames per 10 s chunk
assert FRAMES_PER_CHUNK * BACKBONE_HOP == WINDOW_SAMPLES
#: Context on each side of a backbone block (the TDNN's receptive field is ~1.8 s).
BLOCK_MARGIN_FRAMES = 100
#: A local speaker needs this much (masked) speech for an embedding; fewer gives NaN.
MIN_SPEECH_SECONDS = 0.1
#: Overlapped frames are excluded when at least this much clean speech remains (pyannote's
#: min_num_samples idea).
MIN_CLEAN_SECONDS = 0.5
#: Chunks pooled per NumPy call (bounds the float64 temporaries to ~25 MB).
POOL_BATCH = 8
#: Central embeddings (what the speakers are counted and clustered on) pool a local speaker's
#: clean frames in the middle of its chunk only, over this width or the chunk step if longer:
#: consecutive chunks then see (nearly) disjoint audio, where whole-chunk embeddings of one
#: turn are near copies of each other (chunks overlap by 9 s). The middle is where the
#: segmentation has the most context on both sides.
CENTRAL_SECONDS = 1.5
#: A central embedding needs this much clean speech in its window; less gives NaN.
MIN_CENTRAL_SPEECH_SECONDS = 0.5


@dataclass(frozen=True)
class EmbeddingHead:
    """CAM++ statistics-pooling head: dense layer + affine-free batch norm (NumPy)."""

    weight: np.ndarray          # (192, 1024) float64
    running_mean: np.ndarray    # (192,)
    running_var: np.ndarray     # (192,)
    eps: float

    def __call__(self, stats: np.ndarray) -> np.ndarray:
        """(n, 1024) [mean, std] pooled statistics -> (n, 192) float32 embeddings."""
        z = stats @ self.weight.T
        return ((z - self.running_mean) / np.sqrt(self.running_var + self.eps)).astype(np.float32)


def load_head(path: os.PathLike | str) -> EmbeddingHead:
    """Load ``campplus_head.npz``.

    Raises
    ------
    ModelLoadError
        If the file is unreadable or its arrays have the wrong shapes.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k], dtype=np.float64)
                      for k in ("weight", "running_mean", "running_var", "eps")}
    except (OSError, KeyError, ValueError) as e:
        raise ModelLoadError(f"{path}: cannot read embedding head: {e}") from e
    if arrays["weight"].shape != (EMBEDDING_DIMENSION, 2 * BACKBONE_CHANNELS) or \
            arrays["running_mean"].shape != (EMBEDDING_DIMENSION,) or \
            arrays["running_var"].shape != (EMBEDDING_DIMENSION,):
        raise ModelLoadError(f"{path}: embedding head has shapes "
                             f"{ {k: v.shape for k, v in arrays.items()} }, expected weight "
                             f"({EMBEDDING_DIMENSION}, {2 * BACKBONE_CHANNELS})")
    return EmbeddingHead(arrays["weight"], arrays["running_mean"], arrays["running_var"],
                         float(arrays["eps"]))


def pooling_masks(activity: np.ndarray, *, exclude_overlap: bool = True) -> np.ndarray:
    """Per (chunk, local speaker) pooling weights over the chunk's backbone frames.

    Overlapped frames (two or more active local speakers) are excluded when at least
    ``MIN_CLEAN_SECONDS`` of clean speech remains, as pyannote does before embedding.

    Parameters
    ----------
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity (589 segmentation frames per chunk).
    exclude_overlap : bool

    Returns
    -------
    masks : ndarray of shape (num_chunks, num_local_speakers, FRAMES_PER_CHUNK), float32
        Weights resampled to the 20 ms backbone frames (nearest segmentation frame).
    """
    used = speaker_masks(activity, exclude_overlap=exclude_overlap)
    return np.ascontiguousarray(used[:, _seg_frame_index(used.shape[1]), :]
                                .transpose(0, 2, 1))


def speaker_masks(activity: np.ndarray, *, exclude_overlap: bool = True) -> np.ndarray:
    """The segmentation frames each local speaker's embedding uses (see :func:`pooling_masks`).

    Returns
    -------
    masks : ndarray of shape (num_chunks, num_frames, num_local_speakers), float32
        ``activity`` without the overlapped frames, for speakers keeping at least
        ``MIN_CLEAN_SECONDS`` of clean speech (``exclude_overlap``).
    """
    activity = np.asarray(activity, dtype=np.float32)
    if not exclude_overlap:
        return activity
    clean = activity * (activity.sum(axis=2, keepdims=True) < 2)
    seg_frames_per_second = activity.shape[1] / (WINDOW_SAMPLES / SAMPLE_RATE)
    enough = clean.sum(axis=1, keepdims=True) > MIN_CLEAN_SECONDS * seg_frames_per_second
    return np.where(enough, clean, activity)


def central_seconds(step_seconds: float) -> float:
    """Width of the central pooling window for a chunk step (see ``CENTRAL_SECONDS``)."""
    return max(CENTRAL_SECONDS, step_seconds)


def central_window(width_seconds: float, *, first: bool = False,
                   last: bool = False) -> np.ndarray:
    """Backbone frames of a chunk within ``width_seconds / 2`` of its middle.

    The first chunk's window reaches back to the start of the chunk and the last chunk's to
    its end, so that every moment of a recording is in some chunk's window.

    Returns
    -------
    window : ndarray of shape (FRAMES_PER_CHUNK,), bool
    """
    centers = (np.arange(FRAMES_PER_CHUNK) * BACKBONE_HOP + _fbank.FRAME_LENGTH / 2) / SAMPLE_RATE
    offset = centers - WINDOW_SAMPLES / SAMPLE_RATE / 2
    return ((offset > -width_seconds / 2) | first) & ((offset < width_seconds / 2) | last)


def _seg_frame_index(num_seg_frames: int) -> np.ndarray:
    """Nearest segmentation frame of each backbone frame of a chunk, shape (500,)."""
    centers = (np.arange(FRAMES_PER_CHUNK) * BACKBONE_HOP + _fbank.FRAME_LENGTH / 2) / SAMPLE_RATE
    index = np.rint((centers - FRAME_DURATION_SECONDS / 2) / FRAME_STEP_SECONDS).astype(np.int64)
    return np.clip(index, 0, num_seg_frames - 1)


def backbone_features(session, y: np.ndarray, first: int, last: int) -> np.ndarray:
    """Backbone frames ``first:last`` (20 ms grid of the whole recording) of ``y``.

    The block is computed with ``BLOCK_MARGIN_FRAMES`` of context on each side (cut off
    afterwards), and fbank mean normalisation over the block, so consecutive blocks tile the
    recording with each second computed about once.

    Returns
    -------
    features : ndarray of shape (last - first, 512), float32
        Frames past the end of the audio are zero.
    """
    lo = max(first - BLOCK_MARGIN_FRAMES, 0)
    hi = last + BLOCK_MARGIN_FRAMES
    piece = y[lo * BACKBONE_HOP: hi * BACKBONE_HOP + _fbank.FRAME_LENGTH - _fbank.FRAME_SHIFT]
    out = np.zeros((last - first, BACKBONE_CHANNELS), dtype=np.float32)
    feats = _fbank.fbank(piece)                                   # (T, 80)
    if feats.shape[0] < 2:
        return out
    feats -= feats.mean(axis=0, keepdims=True)
    frames = run_backbone(session, feats)[first - lo: last - lo]
    out[:frames.shape[0]] = frames
    return out


def run_backbone(session, feats: np.ndarray) -> np.ndarray:
    """The backbone over normalised fbank frames (one model call).

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        ``campplus_backbone.onnx``.
    feats : ndarray of shape (T, 80), float32
        Mean-normalised fbank frames (10 ms), at least 2.

    Returns
    -------
    frames : ndarray of shape (ceil(T / 2), 512), float32
        One backbone frame per 20 ms.

    Raises
    ------
    ModelLoadError
        If the model does not return 512 channels.
    """
    frames = session.run(None, {input_name(session): feats[None]})[0][0]   # (512, ceil(T/2))
    if frames.shape[0] != BACKBONE_CHANNELS:
        raise ModelLoadError(f"embedding backbone returned {frames.shape[0]} channels, "
                             f"expected {BACKBONE_CHANNELS}")
    return frames.T


def pool(features: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masked mean and unbiased standard deviation (CAM++ statistics pooling).

    Parameters
    ----------
    features : ndarray of shape (n, FRAMES_PER_CHUNK, 512)
    masks : ndarray of shape (n, num_local_speakers, FRAMES_PER_CHUNK)

    Returns
    -------
    stats : ndarray of shape (n, num_local_speakers, 1024), float64
        ``[mean, std]``; NaN where the mask has less than ``MIN_SPEECH_SECONDS``.
    weight : ndarray of shape (n, num_local_speakers), float64
        Number of frames pooled.
    """
    x = features.astype(np.float64)
    w = masks.astype(np.float64)
    n = w.sum(axis=2)[..., None]                                   # (n, k, 1)
    return finish_stats(w @ x, w @ (x * x), n), n[..., 0]


def step_frames(step_seconds: float) -> int:
    """Chunk step in backbone frames (20 ms).

    Raises
    ------
    ValueError
        If ``step_seconds`` is not a multiple of 20 ms.
    """
    step = step_seconds * SAMPLE_RATE / BACKBONE_HOP
    if abs(step - round(step)) > 1e-9:
        raise ValueError(f"step_seconds must be a multiple of {BACKBONE_HOP / SAMPLE_RATE} s, "
                         f"got {step_seconds}")
    return int(round(step))


def backbone_blocks(num_chunks: int, step_seconds: float, block_seconds: float = 60.0
                    ) -> list[tuple[int, int]]:
    """``(first, last)`` backbone frames of each block tiling ``num_chunks`` chunks."""
    if num_chunks == 0:
        return []
    total = (num_chunks - 1) * step_frames(step_seconds) + FRAMES_PER_CHUNK
    block = max(FRAMES_PER_CHUNK, int(block_seconds * SAMPLE_RATE / BACKBONE_HOP))
    return [(first, min(first + block, total)) for first in range(0, total, block)]


class Pooler:
    """Streams backbone blocks in time order and pools every chunk as soon as it is covered.

    Holds only the backbone frames of the chunks not pooled yet (bounded memory).

    Parameters
    ----------
    head : EmbeddingHead
    num_chunks, num_local : int
    step_seconds : float
    exclude_overlap : bool
        See :func:`pooling_masks`.
    central : bool
        Also pool each local speaker over the middle of its chunk only (``self.central``,
        see ``CENTRAL_SECONDS``).
    """

    def __init__(self, head: EmbeddingHead, num_chunks: int, num_local: int, *,
                 step_seconds: float, exclude_overlap: bool = True, central: bool = False):
        self.head = head
        self.step = step_frames(step_seconds)
        self.exclude_overlap = exclude_overlap
        self.num_chunks = num_chunks
        shape = (num_chunks, num_local, EMBEDDING_DIMENSION)
        self.embeddings = np.full(shape, np.nan, np.float32)
        self.central = np.full(shape, np.nan, np.float32) if central else None
        width = central_seconds(step_seconds)
        self._windows = np.stack([central_window(width, first=True),      # chunk 0
                                  central_window(width),                   # the others
                                  central_window(width, last=True)])       # the last chunk
        self._buffer = np.zeros((0, BACKBONE_CHANNELS), dtype=np.float64)
        self._start = 0                        # global backbone frame of _buffer[0]
        self.next_chunk = 0                    # first chunk not pooled yet

    def ready(self, last: int) -> int:
        """Chunks ``< ready(last)`` are covered by backbone frames ``< last``."""
        ready = self.next_chunk
        while ready < self.num_chunks and ready * self.step + FRAMES_PER_CHUNK <= last:
            ready += 1
        return ready

    def add(self, features: np.ndarray, last: int, activity) -> None:
        """Append backbone frames up to ``last`` and pool the chunks they complete.

        ``activity[idx]`` must give the binary local activity of chunks ``idx``
        (shape ``(len(idx), num_frames, num_local)``) for every chunk completed.
        """
        x = features.astype(np.float64)
        self._buffer = np.concatenate([self._buffer, x]) if self._buffer.size else x
        ready = self.ready(last)
        if ready == self.next_chunk:
            return
        x = self._buffer
        x2 = x * x
        for group in range(self.next_chunk, ready, POOL_BATCH):
            idx = np.arange(group, min(group + POOL_BATCH, ready))
            masks = pooling_masks(activity[idx], exclude_overlap=self.exclude_overlap)
            num_local = masks.shape[1]
            if self.central is not None:
                which = np.where(idx == 0, 0, np.where(idx == self.num_chunks - 1, 2, 1))
                central = masks * self._windows[which][:, None, :]
                enough = central.sum(axis=2, keepdims=True) >= \
                    MIN_CENTRAL_SPEECH_SECONDS * SAMPLE_RATE / BACKBONE_HOP
                masks = np.concatenate([masks, central * enough], axis=1)   # one product
            stats = _pool_slices(x, x2, idx * self.step - self._start, masks)
            flat = stats.reshape(-1, stats.shape[-1])
            valid = np.all(np.isfinite(flat), axis=1)
            emb = np.full((flat.shape[0], EMBEDDING_DIMENSION), np.nan, np.float32)
            if valid.any():
                emb[valid] = self.head(flat[valid])
            emb = emb.reshape(len(idx), -1, EMBEDDING_DIMENSION)
            self.embeddings[idx] = emb[:, :num_local]
            if self.central is not None:
                self.central[idx] = emb[:, num_local:]
        self.next_chunk = ready
        keep_from = ready * self.step - self._start
        self._buffer = self._buffer[keep_from:]
        self._start += keep_from


def _pool_slices(x: np.ndarray, x2: np.ndarray, offsets: np.ndarray,
                 masks: np.ndarray) -> np.ndarray:
    """:func:`pool` over ``x[o:o + FRAMES_PER_CHUNK]`` for each offset, without gathering."""
    w = masks.astype(np.float64)                                   # (n, k, 500)
    n = w.sum(axis=2)[..., None]
    s1 = np.stack([w[i] @ x[o:o + FRAMES_PER_CHUNK] for i, o in enumerate(offsets)])
    s2 = np.stack([w[i] @ x2[o:o + FRAMES_PER_CHUNK] for i, o in enumerate(offsets)])
    return finish_stats(s1, s2, n)


def finish_stats(s1: np.ndarray, s2: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean and unbiased standard deviation from weighted moments (see :func:`pool`).

    Parameters
    ----------
    s1, s2 : ndarray of shape (n, num_local_speakers, 512), float64
        Weighted sums of the frames and of their squares.
    n : ndarray of shape (n, num_local_speakers, 1), float64
        Sums of the weights.

    Returns
    -------
    stats : ndarray of shape (n, num_local_speakers, 1024), float64
        ``[mean, std]``; NaN rows with less than ``MIN_SPEECH_SECONDS`` of frames.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = np.maximum(s2 - n * mean ** 2, 0.0) / (n - 1)
    stats = np.concatenate([mean, np.sqrt(var)], axis=2)
    min_frames = max(2, math.ceil(MIN_SPEECH_SECONDS * SAMPLE_RATE / BACKBONE_HOP))
    stats[n[..., 0] < min_frames] = np.nan
    return stats


def run(session, head: EmbeddingHead, y: np.ndarray, activity: np.ndarray, *,
        step_seconds: float, exclude_overlap: bool = True, block_seconds: float = 60.0,
        executor=None, hook=None) -> tuple[np.ndarray, np.ndarray]:
    """CAM++ embedding of every (chunk, local speaker).

    The frame-level backbone runs once over the recording, in blocks of ``block_seconds``
    (bounded memory); each local speaker's embedding pools the backbone frames of its chunk
    with its activity mask, then the head maps the statistics to 192 dimensions. This
    approximates running CAM++ on every 10 s chunk (cosine similarity measured in
    ``tests/test_embedding.py`` and benchmarks/RESULTS.md) at a tenth of the cost.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        ``campplus_backbone.onnx``.
    head : EmbeddingHead
    y : ndarray of shape (n_samples,)
        Mono float32 16 kHz audio.
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity from the segmentation; chunk ``c`` starts at
        ``c * step_seconds``.
    step_seconds : float
        Chunk step; must be a multiple of 20 ms.
    exclude_overlap : bool
        See :func:`pooling_masks`.
    block_seconds : float
        Backbone block length (memory ~ 2 kB per 20 ms frame of a block).
    executor : concurrent.futures.Executor, optional
        Runs the backbone blocks (two blocks in flight); in the calling thread when omitted.
    hook : callable, optional
        ``hook("embeddings", completed=..., total=...)`` per block.

    Returns
    -------
    embeddings : ndarray of shape (num_chunks, num_local_speakers, 192), float32
        NaN rows for local speakers with too little speech.
    central : ndarray of shape (num_chunks, num_local_speakers, 192), float32
        The same speakers pooled over the middle of their chunk only (``CENTRAL_SECONDS``);
        NaN where that window holds less than ``MIN_CENTRAL_SPEECH_SECONDS`` of clean speech.
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    activity = np.asarray(activity)
    pooler = Pooler(head, activity.shape[0], activity.shape[2], step_seconds=step_seconds,
                    exclude_overlap=exclude_overlap, central=True)
    blocks = backbone_blocks(activity.shape[0], step_seconds, block_seconds)
    results = in_order(executor, [(backbone_features, session, y, first, last)
                                  for first, last in blocks], ahead=2)
    for (_, last), feats in zip(blocks, results):
        pooler.add(feats, last, activity)
        if hook is not None:
            hook("embeddings", completed=last, total=blocks[-1][1])
    return pooler.embeddings, pooler.central


def in_order(executor, calls, ahead: int):
    """Results of ``calls`` (``(fn, *args)``) in order, at most ``ahead`` submitted early.

    Without an executor the calls run one by one in the calling thread.
    """
    if executor is None:
        for fn, *args in calls:
            yield fn(*args)
        return
    pending = deque()
    for call in calls:
        pending.append(executor.submit(*call))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


__all__ = ["EmbeddingHead", "load_head", "pooling_masks", "pool", "finish_stats",
           "backbone_features", "run_backbone", "run", "Pooler", "speaker_masks",
           "backbone_blocks", "step_frames", "central_seconds", "central_window",
           "NUM_LOCAL_SPEAKERS", "FRAMES_PER_WINDOW"]
