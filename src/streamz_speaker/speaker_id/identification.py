"""Who is speaking in a file: whole-file decisions and per-window speaker lists."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.workers import BatchConfig
from .extraction import CacheConfig, FeatureExtractor, FileFeatures, extract_many
from .persistence import SpeakerModel

UNKNOWN = "unknown"
#: A file is named only when at least this share of its windows that verify against someone
#: verify against its best match (the share a diarized cluster's turns need,
#: ``speaker_naming.MIN_AGREEMENT``): a recording of several people is not one of them.
MIN_WINDOW_AGREEMENT = 0.8
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

    def agreement(self, speakers: list[str], threshold: float) -> float:
        """:func:`window_agreement` with ``best``."""
        return window_agreement(self.window_proba, speakers.index(self.best), threshold)

    def decision(self, speakers: list[str], threshold: float) -> str:
        """``best`` when :func:`verified`, otherwise ``"unknown"``."""
        named = verified(self.confidence, self.window_proba, speakers.index(self.best),
                         threshold)
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


def verified(confidence: float, window_proba: np.ndarray, best: int, threshold: float) -> bool:
    """Whether a file is its best match's: the file's confidence reaches ``threshold`` and at
    least :data:`MIN_WINDOW_AGREEMENT` of its windows agree (:func:`window_agreement`)."""
    return confidence >= threshold and \
        window_agreement(window_proba, best, threshold) >= MIN_WINDOW_AGREEMENT


def speaker_confidences(model: SpeakerModel, windows: np.ndarray):
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

    Returns
    -------
    file_conf : ndarray of shape (n_speakers,)
    window_conf : ndarray of shape (n_spans, n_speakers)
    """
    n_spans = max(1, round(len(windows) / _windows_per_span(model.feature_config)))
    scorer = model.scorer()
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
    speaker = name if verified(confidence, window_proba, best, threshold) else UNKNOWN
    return Identification(path=path, speaker=speaker, best=name, confidence=confidence,
                          proba=proba, window_proba=window_proba, sha256=feats.sha256)
