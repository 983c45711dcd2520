"""Rolling 10 s window of a stream: segmentation and CAM++ backbone frames, step by step."""

from __future__ import annotations

import numpy as np

from ..core.config import SAMPLE_RATE
from ..diarization import embedding
from ..diarization import fbank
from ..diarization import powerset
from ..diarization import segmentation
from ..diarization.config import FBANK_BINS, WINDOW_SAMPLES, SegmentationConfig
from ._kernels import masked_moments

#: Backbone frames (20 ms) in one 10 s window.
WINDOW_FRAMES = embedding.FRAMES_PER_CHUNK
_HOP = embedding.BACKBONE_HOP
#: fbank frames kept for the running mean normalisation (10 s).
_MEAN_FRAMES = WINDOW_SAMPLES // fbank.FRAME_SHIFT
#: One 10 s window per segmentation call: only the window index 0 of the audio is used.
_SEGMENTATION = SegmentationConfig()
#: Backbone frames of the central pooling window, and the speech a central embedding needs.
_CENTRAL_WINDOW = embedding.central_window(embedding.CENTRAL_SECONDS).astype(np.float32)
_MIN_CENTRAL_FRAMES = embedding.MIN_CENTRAL_SPEECH_SECONDS * SAMPLE_RATE / _HOP


class Frontend:
    """Holds the last 10 s of a stream and turns each step into model outputs.

    The backbone is not rerun over the whole window at every step: each step computes the
    frames of the new audio plus ``redo_frames`` of the previous step (which now have right
    context), from fbank with ``context_frames`` of left context, normalised by the mean of
    the last 10 s of fbank. The window's 500 frames are then read from a ring buffer. Memory
    is fixed: 10 s of audio, 10 s of fbank, 10 s of backbone frames.

    Parameters
    ----------
    segmentation_session, backbone_session : onnxruntime.InferenceSession
    step_samples : int
        New samples per step (a multiple of 320, the backbone hop).
    context_frames, redo_frames : int
        Backbone frames (20 ms) of left context, and of the previous step recomputed.
    """

    def __init__(self, segmentation_session, backbone_session, *, step_samples: int,
                 context_frames: int, redo_frames: int):
        if step_samples % _HOP:
            raise ValueError(f"step_samples must be a multiple of {_HOP}, got {step_samples}")
        self.seg, self.backbone = segmentation_session, backbone_session
        self.step = step_samples
        self.context, self.redo = context_frames, redo_frames
        self.audio = np.zeros(WINDOW_SAMPLES, np.float32)      # last 10 s, zeros before 0
        self.samples = 0                                        # samples received so far
        self.fbank = np.zeros((_MEAN_FRAMES, FBANK_BINS), np.float32)  # last 10 s of fbank
        self.fbank_frames = 0                                   # fbank frames computed so far
        self.frames = np.zeros((WINDOW_FRAMES, embedding.BACKBONE_CHANNELS), np.float32)

    def advance(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add one step of audio and compute the window that ends with it.

        Parameters
        ----------
        y : ndarray of shape (step_samples,), float32

        Returns
        -------
        activity : ndarray of shape (589, 3), float32
            Binary local-speaker activity of the window (the last 10 s).
        features : ndarray of shape (500, 512), float32
            Backbone frames of the window (read only; the next step makes a new array).
        """
        y = np.asarray(y, dtype=np.float32)
        if y.shape != (self.step,):
            raise ValueError(f"expected {self.step} samples, got shape {y.shape}")
        self.audio = np.concatenate([self.audio[self.step:], y])
        self.samples += self.step
        self._update_fbank()
        self._update_backbone()
        logits = segmentation.run_batch(self.seg, self.audio, _SEGMENTATION, 0, 1)[0]
        return powerset.to_multilabel(logits), self.frames

    def _update_fbank(self) -> None:
        # fbank frame i covers samples [160 i, 160 i + 400): computed once, when complete
        first, available = self.fbank_frames, fbank.num_frames(self.samples)
        start = first * fbank.FRAME_SHIFT - (self.samples - WINDOW_SAMPLES)   # in self.audio
        new = fbank.fbank(self.audio[start:])[:available - first]
        self.fbank = np.concatenate([self.fbank[len(new):], new])
        self.fbank_frames = available

    def _update_backbone(self) -> None:
        shift = self.step // _HOP
        new = shift + self.redo                              # frames written this step
        want = 2 * (new + self.context)                      # fbank frames fed to the model
        # fbank frames of the last (new + context) backbone frames that exist yet; the
        # stream's last one or two are not complete: the last complete one is repeated
        have = want - (2 * (self.samples // _HOP) - self.fbank_frames)
        feats = self.fbank[len(self.fbank) - have:]
        if have < want:
            feats = np.concatenate([feats, np.repeat(feats[-1:], want - have, axis=0)])
        seen = min(self.fbank_frames, _MEAN_FRAMES)
        mean = self.fbank[len(self.fbank) - seen:].mean(axis=0)
        out = embedding.run_backbone(self.backbone, np.ascontiguousarray(feats - mean))
        self.frames = np.concatenate([self.frames[shift:],
                                      np.empty((shift, self.frames.shape[1]), np.float32)])
        self.frames[WINDOW_FRAMES - new:] = out[-new:]



def window_embeddings(head: embedding.EmbeddingHead, activity: np.ndarray,
                      features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CAM++ embeddings of each local speaker of one window: whole window and central.

    As :func:`streamz_speaker.diarization.embedding.run` (masked statistics pooling + head), with
    the moments from a Numba kernel: per step it takes 0.5 ms against 2-4 ms for the NumPy
    matrix products, which first convert the window's frames to float64
    (benchmarks/RESULTS.md, "Live tracking"). The central embeddings pool the middle
    ``embedding.CENTRAL_SECONDS`` of the window only, as the offline clustering does:
    windows a second apart then see (nearly) disjoint audio.

    Parameters
    ----------
    head : embedding.EmbeddingHead
    activity : ndarray of shape (589, 3)
    features : ndarray of shape (500, 512), float32

    Returns
    -------
    embeddings : ndarray of shape (3, 192), float32
        NaN rows for local speakers with too little speech.
    central : ndarray of shape (3, 192), float32
        NaN rows for local speakers with less than ``embedding.MIN_CENTRAL_SPEECH_SECONDS``
        of speech in the middle of the window.
    """
    masks = embedding.pooling_masks(activity[None])[0]                  # (3, 500)
    central = masks * _CENTRAL_WINDOW
    central *= central.sum(axis=1, keepdims=True) >= _MIN_CENTRAL_FRAMES
    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.shape != (WINDOW_FRAMES, embedding.BACKBONE_CHANNELS):
        raise ValueError(f"expected features of shape ({WINDOW_FRAMES}, "
                         f"{embedding.BACKBONE_CHANNELS}), got {features.shape}")
    both = np.ascontiguousarray(np.concatenate([masks, central]), dtype=np.float32)
    s1, s2, n = masked_moments(features, both)
    stats = embedding.finish_stats(s1[None], s2[None], n[None, :, None])[0]   # (6, 1024)
    out = np.full((stats.shape[0], head.weight.shape[0]), np.nan, np.float32)
    valid = np.all(np.isfinite(stats), axis=1)
    if valid.any():
        out[valid] = head(stats[valid])
    return out[:len(masks)], out[len(masks):]


__all__ = ["Frontend", "window_embeddings", "WINDOW_FRAMES"]
