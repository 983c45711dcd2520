"""Put names on diarized speakers: match each cluster to an enrolled speaker, or keep it anonymous."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .config import SAMPLE_RATE
from .errors import FeatureError
from .extraction import FeatureExtractor
from .features import is_narrowband
from .identification import speaker_confidences
from .persistence import SpeakerModel

#: Pieces of single-speaker speech shorter than this are not used to identify a cluster.
MIN_PIECE_SECONDS = 0.3
#: A turn with this much single-speaker speech (one embedding window) is also identified
#: on its own.
MIN_TURN_SECONDS = 1.5


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
    return [p for turn in sorted((s for s in segments if s.label == label), key=lambda s: s.start)
            for p in _turn_pieces(turn, segments)]


def _turn_pieces(turn, segments) -> list[tuple[float, float]]:
    """Parts of one turn that no other speaker overlaps (at least MIN_PIECE_SECONDS long)."""
    from .scoring import subtract_intervals

    others = [(s.start, s.end) for s in segments if s.label != turn.label]
    return [(a, b) for a, b in subtract_intervals([(turn.start, turn.end)], others)
            if b - a >= MIN_PIECE_SECONDS]


def name_speakers(segments, y: np.ndarray, model: SpeakerModel, *, threshold: float,
                  extractor: FeatureExtractor | None = None):
    """Match diarized speakers to the speakers a model knows.

    Each cluster's single-speaker speech is scored against every enrolled speaker and the
    cluster takes the best name whose confidence reaches ``threshold`` (two clusters may
    take the same name: diarization sometimes splits a voice). Turns with at least
    ``MIN_TURN_SECONDS`` of single-speaker speech are then checked on their own, which mends
    clusters that merged two voices: a turn that confidently matches an enrolled speaker
    takes that name, and a turn (of any length that gives an embedding) more likely not its
    cluster's speaker than that speaker (confidence below 0.5, the calibration's equal-odds
    point) keeps the anonymous label: a name is only given where the evidence supports it.

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
        ``segments`` with labels replaced by names where the evidence is strong enough.
    matches : list of ClusterMatch
        One per cluster, in label order.
    """
    extractor = extractor or FeatureExtractor.for_config(model.feature_config)
    narrowband = is_narrowband(y, sr=SAMPLE_RATE)
    speakers = model.speakers

    def windows_of(pieces):
        out = []
        for a, b in pieces:
            try:
                out.append(extractor.extract(y[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)]))
            except FeatureError:
                continue  # too short or silent piece
        return np.concatenate(out) if out else None

    turn_pieces = [_turn_pieces(s, segments) for s in segments]
    turn_windows = [windows_of(pieces) for pieces in turn_pieces]
    labels = sorted({s.label for s in segments})
    matches, names = [], {}
    for label in labels:
        mine = [w for s, w in zip(segments, turn_windows) if s.label == label and w is not None]
        seconds = sum(b - a for a, b in exclusive_pieces(segments, label))
        conf = np.zeros(len(speakers))
        if mine:
            conf, _ = speaker_confidences(model, np.concatenate(mine))
        best = int(np.argmax(conf)) if len(conf) else 0
        name = speakers[best] if len(conf) and conf[best] >= threshold else None
        if name:
            names[label] = name
        matches.append(ClusterMatch(label=label, name=name,
                                    confidence=float(conf[best]) if len(conf) else 0.0,
                                    seconds=float(seconds),
                                    scores={s: float(c) for s, c in zip(speakers, conf)}))
    named = []
    for segment, pieces, windows in zip(segments, turn_pieces, turn_windows):
        label = names.get(segment.label, segment.label)
        if windows is not None:
            conf, _ = speaker_confidences(model, windows)
            best = int(np.argmax(conf))
            if conf[best] >= threshold and sum(b - a for a, b in pieces) >= MIN_TURN_SECONDS:
                label = speakers[best]
            elif label in speakers and conf[speakers.index(label)] < 0.5:
                label = segment.label  # the turn itself says "more likely someone else"
        named.append(replace(segment, label=label))
    return named, matches

