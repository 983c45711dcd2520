"""Segmentation and CAM++ embeddings streamed through a recording on a small thread pool.

The segmentation model and the embedding backbone are independent until pooling (the
backbone sees only the audio), so both run at the same time: each 60 s backbone block and
the segmentation batches of the chunks it completes are tasks of one thread pool (ONNX
Runtime releases the GIL; each session uses one thread), submitted in time order a few
blocks ahead. The calling thread pools every chunk as soon as its backbone frames and
activity are in. Memory: the activity and embeddings of the whole recording (about 7 kB
and 2 kB per chunk) plus a few blocks in flight, whatever the recording's length.
"""

from __future__ import annotations

import threading

import numpy as np

from . import adaptive
from . import embedding
from . import powerset
from . import segmentation
from .config import FRAMES_PER_WINDOW, NUM_LOCAL_SPEAKERS, SegmentationConfig
from .source import FileAudio

#: Backbone blocks (with their segmentation batches) submitted ahead of the one being pooled.
BLOCKS_AHEAD = 2
#: Chunks per segmentation task: the first convolution is computed once over each task's
#: span (16 chunks: 26 s at the 1 s step, ~13 MB of convolution output).
RANGE_CHUNKS = 16


def as_audio(y):
    """``y`` as contiguous float32, or as is when it is a :class:`source.FileAudio`."""
    return y if isinstance(y, FileAudio) else np.ascontiguousarray(y, dtype=np.float32)


def _activity_batch(session, y, cfg, start, stop):
    return powerset.to_multilabel(segmentation.run_batch(session, y, cfg, start, stop))


def segment(session, y: np.ndarray, cfg: SegmentationConfig, *, executor=None,
            batch_size: int = 4, hook=None) -> np.ndarray:
    """Decoded local activity of every chunk, segmentation batches run on ``executor``.

    Returns
    -------
    activity : ndarray of shape (num_chunks, 589, 3), float32
        Binary; see :func:`powerset.to_multilabel`.
    """
    y = as_audio(y)
    total = segmentation.num_chunks(y.shape[0], cfg)
    activity = np.zeros((total, FRAMES_PER_WINDOW, NUM_LOCAL_SPEAKERS), np.float32)
    calls = [(_activity_batch, session, y, cfg, start, min(start + batch_size, total))
             for start in range(0, total, batch_size)]
    for call, out in zip(calls, embedding.in_order(executor, calls, ahead=4)):
        activity[call[4]:call[5]] = out
        if hook is not None:
            hook("segmentation", completed=call[5], total=total)
    return activity


def segment_and_embed(seg_model, backbone, head: embedding.EmbeddingHead, y: np.ndarray,
                      cfg: SegmentationConfig, *, executor=None, batch_size: int = 4,
                      block_seconds: float = 60.0, hook=None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local activity and CAM++ embeddings of every (chunk, local speaker).

    The segmentation runs on spans of ``RANGE_CHUNKS`` chunks (:class:`segmentation.Span`:
    the first convolution once per span), on the coarse grid of ``cfg.coarse_seconds``;
    the chunks between are filled or computed by :func:`adaptive.fill` in the calling
    thread, in time order. The backbone blocks (:func:`embedding.run`: same blocks, same
    pooling) run concurrently with it.

    Parameters
    ----------
    seg_model : segmentation.SplitModel or onnxruntime.InferenceSession
    backbone : onnxruntime.InferenceSession
    head : embedding.EmbeddingHead
    y : ndarray of shape (n_samples,) or source.FileAudio
        Mono float32 16 kHz audio.
    cfg : SegmentationConfig
    executor : concurrent.futures.Executor, optional
        Runs the model calls; in the calling thread when omitted.
    batch_size : int
        Windows per segmentation call.
    block_seconds : float
        Backbone block length (as :func:`embedding.run`).
    hook : callable, optional
        ``hook("segmentation", completed=, total=)`` per span (in order), then
        ``hook("embeddings", ...)`` once, when all chunks are pooled.

    Returns
    -------
    activity : ndarray of shape (num_chunks, 589, 3), float32
    embeddings : ndarray of shape (num_chunks, 3, 192), float32
        NaN rows for local speakers with too little speech.
    central : ndarray of shape (num_chunks, 3, 192), float32
        Central embeddings (see :func:`embedding.run`).
    """
    y = as_audio(y)
    total = segmentation.num_chunks(y.shape[0], cfg)
    activity = np.zeros((total, FRAMES_PER_WINDOW, NUM_LOCAL_SPEAKERS), np.float32)
    pooler = embedding.Pooler(head, total, NUM_LOCAL_SPEAKERS, step_seconds=cfg.step_seconds,
                              central=True)
    blocks = embedding.backbone_blocks(total, cfg.step_seconds, block_seconds)
    # One task list in time order: each backbone block (the longest task: started first, so
    # that no core idles at the end), then the segmentation spans of the chunks it completes.
    calls, kinds, submitted = [], [], 0
    lock = threading.Lock()
    for first, last in blocks:
        calls.append((_backbone_block, lock, backbone, y, first, last))
        kinds.append(("embeddings", first, last))
        need = _ready(pooler, last)
        while submitted < need:
            stop = min(submitted + RANGE_CHUNKS, total)
            calls.append((_coarse_span, seg_model, y, cfg, submitted, stop, total, batch_size))
            kinds.append(("segmentation", submitted, stop))
            submitted = stop
    ahead = BLOCKS_AHEAD * max(1, len(calls) // max(1, len(blocks)))
    held = None                   # a backbone block waiting for its chunks' activity
    for (kind, a, b), out in zip(kinds, embedding.in_order(executor, calls, ahead=ahead)):
        if kind == "segmentation":
            _fill_span(activity, out, cfg)
            if hook is not None:
                hook("segmentation", completed=b, total=total)
            continue
        if held is not None:
            pooler.add(*held, activity)
        held = (out, b)
    if held is not None:
        pooler.add(*held, activity)
    if hook is not None and blocks:
        # once: the two stages advance together, and alternating progress steps would make
        # a progress display restart at every block
        hook("embeddings", completed=blocks[-1][1], total=blocks[-1][1])
    return activity, pooler.embeddings, pooler.central


def _coarse_span(model, y, cfg: SegmentationConfig, first: int, stop: int, total: int,
                 batch_size: int):
    """The coarse windows of chunks ``first..stop`` (a pool task); see :func:`_fill_span`.

    The span reaches ``stop`` (the next span's first chunk) so that the chunks before it can
    be filled; chunk ``first`` comes from the span before (except the very first).
    """
    last = min(stop, total - 1)
    span = segmentation.Span(model, y, cfg, first, last, batch_size=batch_size)
    todo = [i for i in adaptive.coarse_indices(first, last, cfg.coarse_factor, total)
            if i > first or first == 0]
    known = dict(zip(todo, powerset.to_multilabel(span(todo)))) if todo else {}
    return span, known, first, stop


def _fill_span(activity: np.ndarray, coarse, cfg: SegmentationConfig) -> None:
    """Write the chunks of a span into ``activity``: computed, filled, or computed on demand."""
    span, known, first, _ = coarse
    known.setdefault(first, activity[first])
    full = adaptive.fill(known, lambda idx: powerset.to_multilabel(span(idx)),
                         step_seconds=cfg.step_seconds, max_mismatch=cfg.max_mismatch,
                         tolerance_frames=cfg.tolerance_frames)
    for index, value in full.items():
        activity[index] = value


def _backbone_block(lock, backbone, y, first, last):
    # One block at a time: a 60 s block takes ~300 MB inside ONNX Runtime.
    with lock:
        return embedding.backbone_features(backbone, y, first, last)


def _ready(pooler: embedding.Pooler, last: int) -> int:
    """Chunks completed by backbone frames ``< last`` (whatever has been pooled so far)."""
    step = pooler.step
    return min(pooler.num_chunks, max(0, (last - embedding.FRAMES_PER_CHUNK) // step + 1))
