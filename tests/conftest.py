"""Shared fixtures: a seeded RNG, synthetic 'speakers', the dev corpus when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from streamz_speaker.core.config import SAMPLE_RATE

REPO = Path(__file__).resolve().parents[1]
DEV_CORPUS = REPO.parent / "shared" / "data" / "dev-corpus"


@pytest.fixture
def rng():
    return np.random.default_rng(440)


def synth_voice(f0: float, harmonics, seconds: float, *, sr: int = SAMPLE_RATE, seed: int = 0,
                noise: float = 0.01) -> np.ndarray:
    """A crude voiced 'speaker': a harmonic series on a wobbling f0 with syllable-like bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f = f0 * (1 + 0.04 * np.sin(2 * np.pi * 3.1 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f) / sr
    y = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(harmonics))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6))
    y = y * envelope + noise * rng.standard_normal(t.size)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


SPEAKERS = {
    "alice": (210.0, (1.0, 0.2, 0.6, 0.1, 0.3)),
    "bob": (110.0, (1.0, 0.8, 0.1, 0.5, 0.05, 0.3)),
    "carol": (160.0, (0.3, 1.0, 0.2, 0.05, 0.7)),
}


@pytest.fixture
def make_wav(tmp_path):
    """Write a synthetic speaker clip; returns its path."""

    def _make(name: str, speaker: str = "alice", seconds: float = 1.5, *, seed: int = 0,
              sr: int = SAMPLE_RATE, subtype: str = "PCM_16") -> Path:
        f0, harmonics = SPEAKERS[speaker]
        y = synth_voice(f0, harmonics, seconds, sr=sr, seed=seed)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, sr, subtype=subtype)
        return path

    return _make


@pytest.fixture
def dev_corpus():
    if not DEV_CORPUS.is_dir():
        pytest.skip("../shared/data/dev-corpus is not present")
    return DEV_CORPUS


@pytest.fixture(scope="session")
def cluster():
    """A dask LocalCluster of 2 single-threaded worker processes (the dask extra)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50) as local:
        yield local
