"""MFCC window features: pure functions, librosa vocabulary, no I/O."""

from __future__ import annotations

import numpy as np

from ..core.config import FeatureConfig
from ..core.errors import FeatureError

#: Frames needed for the delta filters and one pooled window to make sense.
MIN_SPEECH_FRAMES = 20


def mfcc(y: np.ndarray, *, sr: int, n_fft: int = 400, hop_length: int = 160, n_mels: int = 26,
         n_mfcc: int = 20, fmin: float = 100.0, fmax: float | None = None) -> np.ndarray:
    """Mel-frequency cepstral coefficients.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono float audio.
    sr : int
        Sample rate of ``y`` in Hz.
    n_fft, hop_length : int
        Frame length and step in samples.
    n_mels, n_mfcc : int
        Mel bands and cepstral coefficients kept.
    fmin, fmax : float
        Mel filterbank edges in Hz (``fmax`` None: ``sr / 2``).

    Returns
    -------
    M : ndarray of shape (n_frames, n_mfcc), float32
    """
    y = _valid_audio(y)
    if y.size < n_fft:
        raise FeatureError(f"audio too short for features: {y.size} samples, need at least {n_fft}")
    import librosa

    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop_length,
                             win_length=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                             center=False, htk=True)
    return np.ascontiguousarray(m.T, dtype=np.float32)


def frame_rms_db(y: np.ndarray, *, n_fft: int = 400, hop_length: int = 160) -> np.ndarray:
    """Frame energy in dB relative to full scale, aligned with :func:`mfcc` frames.

    Returns
    -------
    ndarray of shape (n_frames,), float32
    """
    y = _valid_audio(y)
    n_frames = 1 + (y.size - n_fft) // hop_length
    if n_frames <= 0:
        return np.zeros(0, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop_length][:n_frames]
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return (20 * np.log10(np.maximum(rms, 1e-10))).astype(np.float32)


def delta(M: np.ndarray, *, width: int = 9, order: int = 1) -> np.ndarray:
    """Local slope of each feature over time (regression over ``width`` frames).

    Edges are handled by repeating the first and last frames, so clips of any length work.

    Parameters
    ----------
    M : ndarray of shape (n_frames, n_features)
    width : int
        Odd number of frames in the regression window (>= 3).
    order : int
        1 for delta, 2 for delta-delta.

    Returns
    -------
    ndarray of shape (n_frames, n_features), float32
    """
    if width < 3 or width % 2 == 0:
        raise FeatureError(f"delta width must be odd and >= 3, got {width}")
    out = np.asarray(M, dtype=np.float32)
    half = width // 2
    k = np.arange(-half, half + 1, dtype=np.float32)
    for _ in range(order):
        padded = np.pad(out, ((half, half), (0, 0)), mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=0)
        out = (windows @ k) / np.sum(k * k)
    return np.ascontiguousarray(out, dtype=np.float32)


def normalize(F: np.ndarray) -> np.ndarray:
    """Per-utterance mean normalisation of each feature (CMN).

    Removes a stationary channel (microphone, telephone line) from cepstra. Variances are
    kept: dividing by them measurably lost speaker information (benchmarks/RESULTS.md).

    Parameters
    ----------
    F : ndarray of shape (n_frames, n_features)

    Returns
    -------
    ndarray of shape (n_frames, n_features), float32
    """
    F = np.asarray(F, dtype=np.float32)
    return (F - F.mean(axis=0)).astype(np.float32)


def feature_windows(F: np.ndarray, *, window_frames: int, hop_frames: int) -> np.ndarray:
    """Mean and standard-deviation pooling over sliding windows of frames.

    A clip shorter than one window gives a single window over all its frames.

    Parameters
    ----------
    F : ndarray of shape (n_frames, n_features)

    Returns
    -------
    X : ndarray of shape (n_windows, 2 * n_features), float32
    """
    F = np.asarray(F, dtype=np.float32)
    if F.shape[0] == 0:
        raise FeatureError("no frames to pool")
    if F.shape[0] <= window_frames:
        return np.concatenate([F.mean(axis=0), F.std(axis=0)])[None, :].astype(np.float32)
    # Running sums make every window O(1) whatever its length.
    zeros = np.zeros((1, F.shape[1]), dtype=np.float64)
    c1 = np.concatenate([zeros, np.cumsum(F, axis=0, dtype=np.float64)])
    c2 = np.concatenate([zeros, np.cumsum(np.square(F, dtype=np.float64), axis=0)])
    starts = np.arange(0, F.shape[0] - window_frames + 1, hop_frames)
    mean = (c1[starts + window_frames] - c1[starts]) / window_frames
    var = (c2[starts + window_frames] - c2[starts]) / window_frames - mean ** 2
    return np.concatenate([mean, np.sqrt(np.maximum(var, 0))], axis=1).astype(np.float32)


def frame_features(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Normalised MFCC + delta + delta-delta of the speech frames of a clip.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono audio at ``cfg.sr``.

    Returns
    -------
    ndarray of shape (n_speech_frames, 3 * cfg.n_mfcc), float32

    Raises
    ------
    FeatureError
        If the clip is too short or holds no frame above the energy floor (silence).
    """
    y = _valid_audio(y)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if y.size < cfg.n_fft + MIN_SPEECH_FRAMES * cfg.hop_length:
        raise FeatureError(f"audio too short: {y.size / cfg.sr:.3f} s, need at least "
                           f"{(cfg.n_fft + MIN_SPEECH_FRAMES * cfg.hop_length) / cfg.sr:.2f} s")
    if peak < 10 ** (cfg.min_rms_db / 20):
        raise FeatureError("audio is silent (no sample above "
                           f"{cfg.min_rms_db:.0f} dBFS)")
    m = mfcc(y, sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels,
             n_mfcc=cfg.n_mfcc, fmin=cfg.fmin, fmax=cfg.fmax)
    F = np.concatenate([m, delta(m), delta(m, order=2)], axis=1)
    # Keep frames within 35 dB of the loudest one and above an absolute floor: drops pauses.
    energy = frame_rms_db(y, n_fft=cfg.n_fft, hop_length=cfg.hop_length)[: F.shape[0]]
    speech = (energy > max(cfg.min_rms_db, float(energy.max()) - 35.0))
    if speech.sum() < MIN_SPEECH_FRAMES:
        raise FeatureError(f"audio holds too little speech: {int(speech.sum())} frames above "
                           f"the energy floor, need {MIN_SPEECH_FRAMES}")
    return normalize(F[speech])


def extract(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Window features of a clip, ready for the classifier.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    X : ndarray of shape (n_windows, 6 * cfg.n_mfcc), float32
    """
    return feature_windows(frame_features(y, cfg), window_frames=cfg.window_frames,
                           hop_frames=cfg.window_hop_frames)


def _valid_audio(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise FeatureError(f"audio must be mono with shape (n_samples,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):
        raise FeatureError(f"audio must be floating point, got dtype {y.dtype}")
    if not np.isfinite(y).all():
        raise FeatureError("audio contains NaN or infinite values")
    return y.astype(np.float32, copy=False)
