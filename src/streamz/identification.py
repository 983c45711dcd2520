"""Who is speaking in a file: whole-file decisions and per-window speaker lists."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioLoadError, FeatureError
from .extraction import CacheConfig, file_features
from .persistence import SpeakerModel

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Identification:
    """The decision for one file."""

    path: Path
    speaker: str                 # best speaker, or "unknown" below the threshold
    best: str                    # best speaker whatever the threshold
    confidence: float            # mean window probability of ``best``
    proba: np.ndarray            # (n_speakers,) mean window probabilities
    window_proba: np.ndarray     # (n_windows, n_speakers)

    def speaker_shares(self, speakers: list[str], threshold: float) -> list[tuple[str, int, float]]:
        """Speakers heard in the recording, most windows first.

        A window counts for its best speaker when that probability reaches ``threshold``.

        Returns
        -------
        list of (speaker, n_windows, share of all windows)
        """
        best = self.window_proba.argmax(axis=1)
        confident = self.window_proba.max(axis=1) >= threshold
        counts = np.bincount(best[confident], minlength=len(speakers))
        order = np.argsort(-counts, kind="stable")
        total = len(best)
        return [(speakers[i], int(counts[i]), counts[i] / total) for i in order if counts[i]]


def identify_file(model: SpeakerModel, path: os.PathLike | str, *, threshold: float,
                  cache: CacheConfig = CacheConfig()) -> Identification:
    """Identify the speaker of one file.

    Raises
    ------
    AudioLoadError, FeatureError
    """
    feats = file_features(path, model.feature_config, cache=cache)
    window_proba = model.classifier.predict_proba(feats.clean)
    proba = window_proba.mean(axis=0)
    best = int(np.argmax(proba))
    confidence = float(proba[best])
    name = model.speakers[best]
    return Identification(path=Path(path), speaker=name if confidence >= threshold else UNKNOWN,
                          best=name, confidence=confidence, proba=proba,
                          window_proba=window_proba)


def identify_files(model: SpeakerModel, paths, *, threshold: float,
                   cache: CacheConfig = CacheConfig(), hook=None):
    """Identify many files, collecting failures instead of stopping.

    Returns
    -------
    results : list of Identification
    failures : list of (path, message)
    """
    hook = hook or (lambda *a, **k: None)
    results, failures = [], []
    paths = list(paths)
    for i, path in enumerate(paths):
        hook("identifying", completed=i, total=len(paths))
        try:
            results.append(identify_file(model, path, threshold=threshold, cache=cache))
        except (AudioLoadError, FeatureError) as e:
            failures.append((Path(path), str(e)))
    hook("identifying", completed=len(paths), total=len(paths))
    return results, failures
