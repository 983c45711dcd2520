"""From an audio file to classifier inputs, with the on-disk feature cache."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.fileio import atomic_path, sha256_file
from ..core.audio import load_audio
from .augment import augmented_copies, telephone
from ..core.workers import BatchConfig, FileProgress, for_workers, run_batch
from ..core.config import FeatureConfig
from ..core.errors import AudioLoadError, FeatureError
from .features import extract


@dataclass(frozen=True)
class CacheConfig:
    """Where decoded audio and features are kept between runs (None: not kept)."""

    feature_dir: Path | None = Path("feature_cache")  # .npy feature matrices
    wav_dir: Path | None = Path("cache")              # decoded MP3s as WAV
    write_wav: bool = True                            # False: reuse cached WAVs, write none


@dataclass(frozen=True)
class FileFeatures:
    """The windows of one file: clean ones, and augmented ones when asked for."""

    sha256: str
    clean: np.ndarray                 # (n_windows, n_features)
    augmented: np.ndarray | None      # (n_augmented_windows, n_features)
    audio_seconds: float | None = None  # audio decoded for them; None: all from the cache


class FeatureExtractor:
    """Turns audio files into classifier inputs with one feature front end.

    Parameters
    ----------
    config : FeatureConfig
    cache : CacheConfig
    embedder : SpeakerEmbedder, optional
        Required for ``config.kind == "embedding"``; :meth:`for_config` loads it.
    """

    def __init__(self, config: FeatureConfig, cache: CacheConfig = CacheConfig(),
                 embedder=None):
        if config.kind == "embedding" and embedder is None:
            raise ValueError("the embedding front end needs a SpeakerEmbedder")
        self.config, self.cache, self.embedder = config, cache, embedder

    @classmethod
    def for_config(cls, config: FeatureConfig, cache: CacheConfig = CacheConfig()):
        """An extractor for ``config``, loading the bundled CAM++ model when it needs it."""
        embedder = None
        if config.kind == "embedding":
            from .speaker_embedding import load_embedder

            embedder = load_embedder()
        return cls(config, cache, embedder)

    def features(self, path: os.PathLike | str, *, augment_seed: int | None = None,
                 sha256: str | None = None) -> FileFeatures:
        """Window features of an audio file, read from the cache when its content was seen.

        Parameters
        ----------
        path : path-like
        augment_seed : int, optional
            Also compute training windows of degraded copies: for the MFCC front end,
            noise, telephone and reverberation copies seeded by this value and the
            file's content; for the embedding front end, the telephone-channel copy, from
            which the model keeps a telephone-band profile of each speaker.
        sha256 : str, optional
            The file's content hash when the caller already has it.

        Raises
        ------
        AudioLoadError, FeatureError
            With the file's path in the message.
        """
        path = Path(path)
        cfg, cache = self.config, self.cache
        sha = sha256 or content_hash(path)
        key = _cache_key(sha, cfg)
        audio = None

        def load():
            nonlocal audio
            if audio is None:
                audio = load_audio(path, sr=cfg.sr, cache_dir=cache.wav_dir,
                                   write_cache=cache.write_wav)
            return audio

        try:
            clean = _cached(cache.feature_dir, f"{key}.npy", lambda: self.extract(load()))
            augmented = None
            if augment_seed is not None and cfg.kind == "embedding":
                augmented = _cached(cache.feature_dir, f"{key}.tel.npy",
                                    lambda: self.extract(telephone(load(), sr=cfg.sr)))
            elif augment_seed is not None:
                def make_augmented():
                    rng = np.random.default_rng([augment_seed, int(sha[:12], 16)])
                    copies = augmented_copies(load(), sr=cfg.sr, rng=rng)[1:]
                    return np.concatenate([self.extract(copy) for copy in copies])
                augmented = _cached(cache.feature_dir, f"{key}.aug{augment_seed}.npy",
                                    make_augmented)
        except FeatureError as e:
            raise FeatureError(f"{path}: {e}") from e
        return FileFeatures(sha256=sha, clean=clean, augmented=augmented,
                            audio_seconds=None if audio is None else audio.size / cfg.sr)

    def extract(self, y: np.ndarray) -> np.ndarray:
        """Window features of mono audio at ``config.sr``: (n_windows, n_features)."""
        cfg = self.config
        if cfg.kind == "embedding":
            return self.embedder.embed_windows(y, window_seconds=cfg.embedding_window_seconds,
                                               hop_seconds=cfg.embedding_hop_seconds)
        return extract(y, cfg)


@dataclass(frozen=True)
class ExtractorSetup:
    """Builds a :class:`FeatureExtractor` on each worker of a batch (see :mod:`streamz_speaker.core.workers`)."""

    config: FeatureConfig
    cache: CacheConfig = CacheConfig()

    def __call__(self, threads: int) -> FeatureExtractor:
        # one model thread whatever the budget (see speaker_embedding.load_embedder)
        return FeatureExtractor.for_config(self.config, self.cache)


def extract_many(paths, config: FeatureConfig, cache: CacheConfig = CacheConfig(), *,
                 hashes=None, augment_seed: int | None = None, batch: BatchConfig = BatchConfig(),
                 hook=None, step: str = "features"):
    """Features of many files, computed on the workers ``batch`` names.

    Workers load the feature model once and write the feature cache (a folder they all
    reach, on a cluster); the files' features come back to this process.

    Parameters
    ----------
    paths : sequence of path-like
    config, cache
        As :class:`FeatureExtractor`.
    hashes : sequence of str, optional
        Content hashes of ``paths`` when the caller has them.
    augment_seed : int, optional
        As :meth:`FeatureExtractor.features`.
    batch : BatchConfig
    hook : callable, optional
        ``hook(step, artifact=FileProgress, completed=, total=)`` as each file finishes.

    Returns
    -------
    list of streamz_speaker.core.workers.Outcome
        One per file, in input order: ``value`` a :class:`FileFeatures`, or ``error`` an
        :class:`AudioLoadError`/:class:`FeatureError` naming the file.
    """
    paths = list(paths)
    hashes = list(hashes) if hashes is not None else [None] * len(paths)
    requests = [(for_workers(p, batch), sha, augment_seed) for p, sha in zip(paths, hashes)]
    cache = CacheConfig(for_workers(cache.feature_dir, batch), for_workers(cache.wav_dir, batch),
                        cache.write_wav)
    started = time.monotonic()
    outcomes = []
    for outcome in run_batch(_features_task, requests, setup=ExtractorSetup(config, cache),
                             config=batch):
        outcomes.append(outcome)
        if hook is not None:
            hook(step, artifact=FileProgress(
                str(paths[outcome.index]), outcome.ok, time.monotonic() - started,
                outcome.seconds, outcome.value.audio_seconds if outcome.ok else None),
                completed=len(outcomes), total=len(paths))
    return sorted(outcomes, key=lambda outcome: outcome.index)


def _features_task(extractor: FeatureExtractor, request) -> FileFeatures:
    path, sha, augment_seed = request
    return extractor.features(path, augment_seed=augment_seed, sha256=sha)


def content_hash(path: os.PathLike | str) -> str:
    """SHA-256 of an audio file's bytes; AudioLoadError when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise AudioLoadError(path, "file not found")
    if path.is_dir():
        raise AudioLoadError(path, "is a directory, not an audio file")
    try:
        return sha256_file(path)
    except OSError as e:
        raise AudioLoadError(path, f"cannot read ({e.strerror})") from e


def _cache_key(sha: str, cfg: FeatureConfig) -> str:
    settings = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()
    return f"{sha[:32]}.{settings[:12]}"


def _cached(folder: Path | None, name: str, compute) -> np.ndarray:
    if folder is None:
        return compute()
    target = Path(folder) / name
    if target.exists():
        try:
            return np.load(target, allow_pickle=False)
        except (OSError, ValueError):
            pass  # a damaged cache entry is recomputed and replaced
    value = np.ascontiguousarray(compute(), dtype=np.float32)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, value, allow_pickle=False)
    return value
