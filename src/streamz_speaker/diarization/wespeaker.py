"""WeSpeaker ResNet34 embeddings per (chunk, local speaker): pyannote community-1's embedding.

The ONNX model (input ``feats`` of shape (batch, frames, 80), output (batch, 256)) pools over
time itself, so each local speaker gets the fbank frames of its chunk where it is active (as
pyannote's ``PretrainedSpeakerEmbedding`` for WeSpeaker does), one model call per speaker.
Front end, WeSpeaker's convention: Kaldi fbank with 80 bins, 25 ms / 10 ms, Hamming window,
waveform scaled to the int16 range, mean subtracted over the 10 s chunk.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.config import SAMPLE_RATE
from ..core.errors import ModelLoadError
from . import fbank as _fbank
from . import segmentation
from .config import WINDOW_SAMPLES, SegmentationConfig
from .embedding import MIN_SPEECH_SECONDS, in_order, speaker_masks
from .onnx import input_name

#: WeSpeaker feeds Kaldi fbank the waveform in int16 units.
WAVEFORM_SCALE = 32768.0
WINDOW = "hamming"
#: Fbank frames of one zero-padded 10 s chunk.
FBANK_FRAMES = _fbank.num_frames(WINDOW_SAMPLES)              # 998
#: Fewest fbank frames worth embedding (fewer gives NaN, as :mod:`embedding`).
MIN_FRAMES = max(2, math.ceil(MIN_SPEECH_SECONDS * SAMPLE_RATE / _fbank.FRAME_SHIFT))
#: Chunks per thread-pool task.
CHUNKS_PER_TASK = 8


def chunk_features(piece: np.ndarray) -> np.ndarray:
    """WeSpeaker fbank of one 10 s chunk, mean-subtracted over its frames.

    Parameters
    ----------
    piece : ndarray of shape (WINDOW_SAMPLES,)
        Mono float32 16 kHz audio in [-1, 1] (zero-padded).

    Returns
    -------
    feats : ndarray of shape (998, 80), float32
    """
    feats = _fbank.fbank(piece, window=WINDOW, scale=WAVEFORM_SCALE)
    return feats - feats.mean(axis=0, keepdims=True)


def frame_masks(activity: np.ndarray, *, exclude_overlap: bool = True) -> np.ndarray:
    """Which fbank frames of each chunk belong to each local speaker.

    Segmentation frames (589 per chunk) are mapped to the 998 fbank frames by nearest
    neighbour (``torch.nn.functional.interpolate(mode="nearest")``, as pyannote does);
    overlapped frames are left out as :func:`embedding.speaker_masks` decides.

    Parameters
    ----------
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity.
    exclude_overlap : bool

    Returns
    -------
    masks : ndarray of shape (num_chunks, num_local_speakers, 998), bool
    """
    used = speaker_masks(activity, exclude_overlap=exclude_overlap)
    num_frames = used.shape[1]
    index = np.floor(np.arange(FBANK_FRAMES) * (num_frames / FBANK_FRAMES)).astype(np.int64)
    return np.ascontiguousarray(used[:, np.minimum(index, num_frames - 1), :]
                                .transpose(0, 2, 1) > 0.5)


def embed_chunks(session, y: np.ndarray, masks: np.ndarray, chunks: range,
                 cfg: SegmentationConfig) -> np.ndarray:
    """Embeddings of the local speakers of ``chunks`` (one model call per active speaker).

    Returns
    -------
    embeddings : ndarray of shape (len(chunks), num_local_speakers, dimension), float32
        NaN rows where a speaker has fewer than ``MIN_FRAMES`` frames.

    Raises
    ------
    ModelLoadError
        If the model does not return one vector per call.
    """
    name = input_name(session)
    rows: list[list[np.ndarray | None]] = []
    dimension = None
    for c in chunks:
        feats = chunk_features(segmentation.chunk(y, c, cfg))
        row = []
        for mask in masks[c]:
            if mask.sum() < MIN_FRAMES:
                row.append(None)
                continue
            out = np.asarray(session.run(None, {name: feats[mask][None]})[0])
            if out.ndim != 2 or out.shape[0] != 1:
                raise ModelLoadError(f"WeSpeaker model returned shape {out.shape}, expected "
                                     "(1, dimension)")
            dimension = out.shape[1]
            row.append(out[0])
        rows.append(row)
    result = np.full((len(rows), masks.shape[1], dimension or 1), np.nan, np.float32)
    for i, row in enumerate(rows):
        for k, vector in enumerate(row):
            if vector is not None:
                result[i, k] = vector
    return result


def run(session, y: np.ndarray, activity: np.ndarray, *, step_seconds: float,
        exclude_overlap: bool = True, executor=None, hook=None) -> np.ndarray:
    """WeSpeaker embedding of every (chunk, local speaker).

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        WeSpeaker ResNet34 ONNX: ``feats`` (batch, frames, 80) -> (batch, dimension).
    y : ndarray of shape (n_samples,)
        Mono float32 16 kHz audio.
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity; chunk ``c`` starts at ``c * step_seconds``.
    step_seconds : float
        Chunk step.
    exclude_overlap : bool
        See :func:`frame_masks`.
    executor : concurrent.futures.Executor, optional
        Runs groups of chunks in parallel; in the calling thread when omitted.
    hook : callable, optional
        ``hook("embeddings", completed=..., total=...)`` per group of chunks.

    Returns
    -------
    embeddings : ndarray of shape (num_chunks, num_local_speakers, dimension), float32
        NaN rows for local speakers with too little speech (``dimension`` is 256 for
        ResNet34; 1 when nobody speaks anywhere).
    """
    from .frontend import as_audio

    y = as_audio(y)
    activity = np.asarray(activity)
    if activity.ndim != 3:
        raise ValueError(f"expected activity of shape (num_chunks, num_frames, "
                         f"num_local_speakers), got {activity.shape}")
    cfg = SegmentationConfig(step_seconds)
    num_chunks = activity.shape[0]
    masks = frame_masks(activity, exclude_overlap=exclude_overlap)
    groups = [range(start, min(start + CHUNKS_PER_TASK, num_chunks))
              for start in range(0, num_chunks, CHUNKS_PER_TASK)]
    calls = [(embed_chunks, session, y, masks, group, cfg) for group in groups]
    parts = []
    for group, part in zip(groups, in_order(executor, calls, ahead=4)):
        parts.append(part)
        if hook is not None:
            hook("embeddings", completed=group.stop, total=num_chunks)
    dimension = max((p.shape[2] for p in parts), default=1)
    out = np.full((num_chunks, activity.shape[2], dimension), np.nan, np.float32)
    for group, part in zip(groups, parts):
        if part.shape[2] == dimension:
            out[group.start:group.stop] = part
    return out
