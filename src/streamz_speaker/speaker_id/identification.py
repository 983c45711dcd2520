"""Who is speaking in a file: whole-file decisions and per-window speaker lists."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.workers import BatchConfig
from .extraction import CacheConfig, FeatureExtractor, FileFeatures, extract_many
from .persistence import SpeakerModel

UNKNOWN = "unknown"
#: A recording is taken for several people (and not named after one of them) when, for at
#: least this long, every window contradicts its best match: another voice spoke for that
#: long. Single lines of one person, however expressive, give at most a window or two that
#: stray (benchmarks/RESULTS.md, "Speaker ID on real voices").
SECOND_VOICE_SECONDS = 3.0
#: A window contradicts the best match when it verifies against another speaker or gives
#: the best match less than this confidence (the floor a diarized turn uses,
#: ``naming.TURN_FLOOR``).
CONTRADICTION_FLOOR = 0.05
#: Seconds of speech scored together as one window of a file (the per-window speaker list,
#: the agreement rule): the length of a CAM++ window. MFCC windows (30 ms) are averaged over
#: runs of consecutive windows this long first; alone they seldom reach any threshold, and
#: a file none of whose windows verifies against anyone cannot be found to be several people.
SPAN_SECONDS = 1.5


@dataclass(frozen=True)
class Identification:
    """The decision for one file.

    ``proba`` and ``window_proba`` are per-speaker confidences: calibrated same-speaker
    probabilities of the open-set scorer (these need not sum to one: every speaker can be
    unlikely); softmax probabilities for an MFCC model saved before format 3.
    """

    path: Path
    speaker: str                 # best speaker, or "unknown" (see :meth:`decision`)
    best: str                    # best speaker whatever the threshold
    confidence: float            # confidence in ``best``
    proba: np.ndarray            # (n_speakers,) file-level confidences
    window_proba: np.ndarray     # (n_windows, n_speakers); MFCC: 1.5 s spans of windows
    sha256: str = ""             # content hash of the file
    run: int = 3                 # consecutive windows spanning SECOND_VOICE_SECONDS

    def agreement(self, speakers: list[str], threshold: float) -> float:
        """:func:`window_agreement` with ``best``."""
        return window_agreement(self.window_proba, speakers.index(self.best), threshold)

    def several_speakers(self, speakers: list[str], threshold: float) -> bool:
        """:func:`second_voice` with ``best``: does another voice speak in the recording?"""
        return second_voice(self.window_proba, speakers.index(self.best), threshold, self.run)

    def decision(self, speakers: list[str], threshold: float) -> str:
        """``best`` when :func:`verified`, otherwise ``"unknown"``."""
        named = verified(self.confidence, self.window_proba, speakers.index(self.best),
                         threshold, self.run)
        return self.best if named else UNKNOWN

    def speaker_shares(self, speakers: list[str], threshold: float) -> list[tuple[str, int, float]]:
        """Speakers heard in the recording, most windows first, then the unknown share.

        A window counts for its best speaker when that confidence reaches ``threshold``,
        otherwise for ``"unknown"`` (last, when there is any), so the shares add up to 1.

        Returns
        -------
        list of (speaker, n_windows, share of all windows)
        """
        best = self.window_proba.argmax(axis=1)
        confident = self.window_proba.max(axis=1) >= threshold
        counts = np.bincount(best[confident], minlength=len(speakers))
        order = np.argsort(-counts, kind="stable")
        total = len(best)
        shares = [(speakers[i], int(counts[i]), counts[i] / total) for i in order if counts[i]]
        unsure = int(total - confident.sum())
        return shares + ([(UNKNOWN, unsure, unsure / total)] if unsure else [])


def window_agreement(window_proba: np.ndarray, best: int, threshold: float) -> float:
    """Share of the windows that reach ``threshold`` for someone whose best match is ``best``.

    Parameters
    ----------
    window_proba : ndarray of shape (n_windows, n_speakers)
    best : int
        Index of the file's best match.
    threshold : float

    Returns
    -------
    float
        1.0 when no window reaches ``threshold``: short windows that verify against nobody
        neither confirm nor contradict the whole file.
    """
    confident = window_proba.max(axis=1) >= threshold
    if not confident.any():
        return 1.0
    return float(np.mean(window_proba[confident].argmax(axis=1) == best))


def second_voice(window_proba: np.ndarray, best: int, threshold: float, run: int) -> bool:
    """Whether ``run`` consecutive windows all contradict the best match (another voice).

    A window contradicts ``best`` when it reaches ``threshold`` for another speaker or gives
    ``best`` less than :data:`CONTRADICTION_FLOOR`.

    Parameters
    ----------
    window_proba : ndarray of shape (n_windows, n_speakers)
        In time order.
    best : int
    threshold : float
    run : int
        Consecutive windows needed (:func:`second_voice_run`).
    """
    others = (window_proba.max(axis=1) >= threshold) & (window_proba.argmax(axis=1) != best)
    contradicting = others | (window_proba[:, best] < CONTRADICTION_FLOOR)
    longest = current = 0
    for c in contradicting:
        current = current + 1 if c else 0
        longest = max(longest, current)
    return longest >= run


def known_voice(window_proba: np.ndarray, threshold: float, run: int) -> int | None:
    """A known speaker heard for ``run`` consecutive windows that verify against them, if any.

    A file about to become a new speaker holds such a voice when it is a recording of
    several people, some of them known.

    Returns
    -------
    int or None
        Index of the first such speaker.
    """
    heard = np.where(window_proba.max(axis=1) >= threshold, window_proba.argmax(axis=1), -1)
    current, length = -1, 0
    for speaker in heard:
        length = length + 1 if speaker == current else 1
        current = speaker
        if current >= 0 and length >= run:
            return int(current)
    return None


def second_voice_run(cfg) -> int:
    """Consecutive windows of a front end that span :data:`SECOND_VOICE_SECONDS` (at least 2).

    CAM++ windows: 1.5 s every 0.75 s, so 3; MFCC spans of 1.5 s side by side: 2.
    """
    if cfg.kind == "embedding":
        length, step = cfg.embedding_window_seconds, cfg.embedding_hop_seconds
    else:
        length = step = SPAN_SECONDS
    return max(2, 1 + math.ceil((SECOND_VOICE_SECONDS - length) / step - 1e-9))


def verified(confidence: float, window_proba: np.ndarray, best: int, threshold: float,
             run: int) -> bool:
    """Whether a file is its best match's: the file's confidence reaches ``threshold`` and no
    second voice speaks in it (:func:`second_voice`)."""
    return confidence >= threshold and not second_voice(window_proba, best, threshold, run)


def speaker_confidences(model: SpeakerModel, windows: np.ndarray, *,
                        naming: bool = False):
    """Per-speaker confidences of a file and of its spans of about :data:`SPAN_SECONDS`.

    Both front ends go through the model's open-set scorer (:meth:`SpeakerModel.scorer`):
    CAM++ window embeddings, or the MFCC classifier's last-hidden-layer embeddings. The file
    is scored by the mean of its window embeddings, a span by the mean of its windows' (a
    CAM++ window is a span of its own). An MFCC model saved before format 3 (no per-file
    windows) falls back to its softmax probabilities, averaged the same way.

    Parameters
    ----------
    model : SpeakerModel
    windows : ndarray of shape (n_windows, n_features)
        In time order.
    naming : bool
        Score them as a diarized speaker or turn (``SpeakerModel.scorer(naming=True)``)
        rather than as a whole file.

    Returns
    -------
    file_conf : ndarray of shape (n_speakers,)
    window_conf : ndarray of shape (n_spans, n_speakers)
    """
    n_spans = max(1, round(len(windows) / _windows_per_span(model.feature_config)))
    scorer = model.scorer(naming=naming)
    if scorer is None:
        proba = model.classifier.predict_proba(windows)
        return proba.mean(axis=0), _span_means(proba, n_spans)
    E = model.embed(windows)
    file_conf = scorer.confidence(scorer.cosine(E.mean(axis=0)))
    return file_conf, scorer.confidence(scorer.cosine(_span_means(E, n_spans)))


def _windows_per_span(cfg) -> int:
    if cfg.kind == "embedding":
        return 1
    return max(1, round(SPAN_SECONDS * cfg.sr / (cfg.window_hop_frames * cfg.hop_length)))


def _span_means(rows: np.ndarray, n_spans: int) -> np.ndarray:
    """Means of ``n_spans`` runs of consecutive rows of (nearly) equal length."""
    if n_spans >= len(rows):
        return rows
    return np.stack([part.mean(axis=0) for part in np.array_split(rows, n_spans)])


def identify_file(model: SpeakerModel, path: os.PathLike | str, *, threshold: float,
                  extractor: FeatureExtractor | None = None) -> Identification:
    """Identify the speaker of one file.

    Parameters
    ----------
    model : SpeakerModel
    path : path-like
    threshold : float
        Confidence below which the speaker is "unknown".
    extractor : FeatureExtractor, optional
        Built for the model's features when not given (loading CAM++ if needed).

    Raises
    ------
    AudioLoadError, FeatureError
    """
    extractor = extractor or FeatureExtractor.for_config(model.feature_config)
    return _decide(model, Path(path), extractor.features(path), threshold)


def identify_files(model: SpeakerModel, paths, *, threshold: float,
                   cache: CacheConfig = CacheConfig(), hook=None,
                   batch: BatchConfig = BatchConfig()):
    """Identify many files, collecting failures instead of stopping.

    Features are computed on the workers ``batch`` names (see :func:`extract_many`); the
    decisions are made here.

    Returns
    -------
    results : list of Identification
        In input order.
    failures : list of (path, message)
        In input order.
    """
    paths = [Path(p) for p in paths]
    results, failures = [], []
    for path, outcome in zip(paths, extract_many(paths, model.feature_config, cache,
                                                 batch=batch, hook=hook, step="identifying")):
        if outcome.ok:
            results.append(_decide(model, path, outcome.value, threshold))
        else:
            failures.append((path, str(outcome.error)))
    return results, failures


def _decide(model: SpeakerModel, path: Path, feats: FileFeatures,
            threshold: float) -> Identification:
    proba, window_proba = speaker_confidences(model, feats.clean)
    best = int(np.argmax(proba))
    confidence = float(proba[best])
    name = model.speakers[best]
    run = second_voice_run(model.feature_config)
    speaker = name if verified(confidence, window_proba, best, threshold, run) else UNKNOWN
    return Identification(path=path, speaker=speaker, best=name, confidence=confidence,
                          proba=proba, window_proba=window_proba, sha256=feats.sha256, run=run)
