"""Put names on diarized speakers: match each cluster to an enrolled speaker, or keep it anonymous."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .config import SAMPLE_RATE
from .errors import FeatureError
from .extraction import FeatureExtractor
from .identification import speaker_confidences
from .persistence import SpeakerModel

#: Pieces of single-speaker speech shorter than this are not used to identify a cluster.
MIN_PIECE_SECONDS = 0.3


@dataclass(frozen=True)
class ClusterMatch:
    """How one diarized speaker was named."""

    label: str                   # the anonymous label, e.g. SPEAKER_00
    name: str | None             # the enrolled speaker it was matched to, None if unknown
    confidence: float            # confidence in ``name`` (or in the best candidate)
    seconds: float               # single-speaker speech used as evidence
    scores: dict                 # enrolled speaker -> confidence

    def to_dict(self) -> dict:
        return {"label": self.label, "name": self.name, "confidence": round(self.confidence, 4),
                "seconds": round(self.seconds, 3),
                "scores": {k: round(v, 4) for k, v in self.scores.items()}}


def exclusive_pieces(segments, label: str) -> list[tuple[float, float]]:
    """Times where ``label`` speaks and nobody else does.

    Parameters
    ----------
    segments : sequence of Segment
        All speakers' turns.

    Returns
    -------
    list of (start, end) in seconds, sorted
    """
    others = sorted((s.start, s.end) for s in segments if s.label != label)
    pieces = []
    for turn in sorted((s.start, s.end) for s in segments if s.label == label):
        start, end = turn
        for o_start, o_end in others:
            if o_end <= start or o_start >= end:
                continue
            if o_start > start:
                pieces.append((start, o_start))
            start = max(start, o_end)
            if start >= end:
                break
        if start < end:
            pieces.append((start, end))
    return [(a, b) for a, b in pieces if b - a >= MIN_PIECE_SECONDS]


def name_speakers(segments, y: np.ndarray, model: SpeakerModel, *, threshold: float,
                  extractor: FeatureExtractor | None = None):
    """Match diarized speakers to the speakers a model knows.

    Each cluster's single-speaker speech is scored against every enrolled speaker; clusters
    and speakers are paired one-to-one (Hungarian algorithm on the confidences) and a pair
    is kept only when its confidence reaches ``threshold``. Unmatched clusters keep their
    anonymous label.

    Parameters
    ----------
    segments : sequence of Segment
        Diarization output.
    y : ndarray of shape (n_samples,)
        The recording, mono float32 at 16 kHz.
    model : SpeakerModel
    threshold : float
    extractor : FeatureExtractor, optional

    Returns
    -------
    named : list of Segment
        ``segments`` with matched labels replaced by names.
    matches : list of ClusterMatch
        One per cluster, in label order.
    """
    from scipy.optimize import linear_sum_assignment

    extractor = extractor or FeatureExtractor.for_config(model.feature_config)
    scorer = model.scorer()
    labels = sorted({s.label for s in segments})
    conf = np.zeros((len(labels), len(model.speakers)))
    seconds = np.zeros(len(labels))
    for i, label in enumerate(labels):
        pieces = exclusive_pieces(segments, label)
        audio = [y[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in pieces]
        seconds[i] = sum(b - a for a, b in pieces)
        if not audio:
            continue
        try:
            windows = extractor.extract(np.concatenate(audio))
        except FeatureError:
            continue  # too little or silent speech: the cluster stays anonymous
        conf[i], _ = speaker_confidences(model, windows, scorer)
    rows, cols = linear_sum_assignment(-conf)
    names = {labels[r]: model.speakers[c] for r, c in zip(rows, cols) if conf[r, c] >= threshold}
    matches = []
    for i, label in enumerate(labels):
        best = int(np.argmax(conf[i])) if conf.shape[1] else 0
        name = names.get(label)
        matches.append(ClusterMatch(
            label=label, name=name,
            confidence=float(conf[i, model.speakers.index(name)] if name else conf[i, best]),
            seconds=float(seconds[i]),
            scores={s: float(c) for s, c in zip(model.speakers, conf[i])}))
    return [replace(s, label=names.get(s.label, s.label)) for s in segments], matches
