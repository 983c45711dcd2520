"""Training-data augmentation: noise, telephone band and reverberation (pure functions)."""

from __future__ import annotations

import numpy as np

from ..core.audio import resample

#: Copies made of each training clip besides the clean one.
NUM_AUGMENTED_COPIES = 4


def add_noise(y: np.ndarray, *, rng: np.random.Generator, snr_db: float,
              color: str = "white") -> np.ndarray:
    """Mix in white, pink or brown noise at ``snr_db`` (relative to the clip's mean power).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,), float32
    """
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}
    if color not in exponent:
        raise ValueError(f"color must be one of [white, pink, brown], got {color!r}")
    n = y.size
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.arange(spectrum.size), 1.0)
    noise = np.fft.irfft(spectrum / freqs ** exponent[color], n)
    power = float(np.mean(np.square(y, dtype=np.float64)))
    noise *= np.sqrt(power / 10 ** (snr_db / 10) / max(float(np.mean(noise ** 2)), 1e-20))
    return (y + noise).astype(np.float32)


def telephone(y: np.ndarray, *, sr: int) -> np.ndarray:
    """300-3400 Hz band-pass through an 8 kHz channel and back to ``sr``.

    Returns
    -------
    ndarray of shape (n_samples,), float32
    """
    from scipy.signal import butter, sosfilt  # imported here: scipy.signal is slow to load

    sos = butter(4, [300, 3400], btype="band", fs=sr, output="sos")
    narrow = resample(sosfilt(sos, y).astype(np.float32), orig_sr=sr, target_sr=8_000)
    out = resample(narrow, orig_sr=8_000, target_sr=sr)
    return np.pad(out, (0, max(0, y.size - out.size)))[: y.size].astype(np.float32)


def reverb(y: np.ndarray, *, rng: np.random.Generator, sr: int, rt60: float) -> np.ndarray:
    """Convolve with a synthetic exponentially decaying room response of ``rt60`` seconds.

    Returns
    -------
    ndarray of shape (n_samples,), float32, peak matched to the input
    """
    from scipy.signal import fftconvolve

    t = np.arange(max(1, int(rt60 * sr))) / sr
    response = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
    response[0] = 1.0 + abs(response[0])  # direct path
    wet = fftconvolve(y, response)[: y.size]
    peak = float(np.max(np.abs(wet)))
    return (wet * (float(np.max(np.abs(y))) / peak if peak > 0 else 0.0)).astype(np.float32)


def augmented_copies(y: np.ndarray, *, sr: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The clean clip followed by ``NUM_AUGMENTED_COPIES`` degraded copies.

    The copies cover the conditions speaker models meet in the field: noise at 5-20 dB SNR,
    a telephone channel, a reverberant room, and reverberation plus noise.

    Returns
    -------
    list of ndarray of shape (n_samples,), float32
    """
    colors = ("white", "pink", "brown")
    return [
        np.asarray(y, dtype=np.float32),
        add_noise(y, rng=rng, snr_db=rng.uniform(5, 20), color=colors[rng.integers(3)]),
        telephone(y, sr=sr),
        reverb(y, rng=rng, sr=sr, rt60=rng.uniform(0.2, 0.8)),
        add_noise(reverb(y, rng=rng, sr=sr, rt60=rng.uniform(0.2, 0.8)), rng=rng,
                  snr_db=rng.uniform(5, 20), color=colors[rng.integers(3)]),
    ]
