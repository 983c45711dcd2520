"""Put names on diarized speakers: match each cluster to an enrolled speaker, or keep it anonymous."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..core.config import SAMPLE_RATE
from ..core.errors import FeatureError
from .extraction import FeatureExtractor
from .identification import speaker_confidences
from .persistence import SpeakerModel

#: Pieces of single-speaker speech shorter than this are not used to identify a cluster.
MIN_PIECE_SECONDS = 0.3
#: A turn with this much single-speaker speech (one embedding window) is also identified
#: on its own.
MIN_TURN_SECONDS = 1.5
#: In a cluster that does not reach the threshold as a whole, a turn takes a name only with
#: this much single-speaker speech of its own (a voice nobody enrolled sometimes comes close
#: to a known one for a turn or two).
SPLIT_MIN_SECONDS = 3.0
#: A cluster is named only when at least this share of its turns' speech (turns that give
#: an embedding) agrees with its candidate (see :func:`_agrees`).
MIN_AGREEMENT = 0.8
#: A turn whose confidence in the candidate is below this does not agree with it, even when
#: no other speaker is likely (chosen on the odd-numbered dev-wide conversations: 0.05).
TURN_FLOOR = 0.05

#: Why a cluster was named or left anonymous (``ClusterMatch.reason``).
REASONS = {
    "verified": "its speech verifies against the speaker and its turns agree",
    "below_threshold": "its speech does not reach the threshold for any enrolled speaker",
    "turns_disagree": "too much of its turns' speech contradicts the best match (an "
                      "impure cluster: turns that verify on their own take their name)",
    "no_speech": "no single-speaker speech long enough to embed",
}


@dataclass(frozen=True)
class ClusterMatch:
    """How one diarized speaker was named, and why."""

    label: str                   # the anonymous label, e.g. SPEAKER_00
    name: str | None             # the enrolled speaker it was matched to, None if unknown
    confidence: float            # confidence in ``name`` (or in the best candidate)
    seconds: float               # single-speaker speech used as evidence
    scores: dict                 # enrolled speaker -> confidence
    threshold: float = 0.0       # confidence needed
    best: str | None = None      # best candidate whatever the threshold
    agreement: float = 0.0       # share of turn speech that agrees with ``best``
    reason: str = "below_threshold"   # a key of REASONS

    def to_dict(self) -> dict:
        return {"label": self.label, "name": self.name, "best": self.best,
                "confidence": round(self.confidence, 4), "threshold": self.threshold,
                "agreement": round(self.agreement, 4), "reason": self.reason,
                "why": REASONS[self.reason], "seconds": round(self.seconds, 3),
                "scores": {k: round(v, 4) for k, v in self.scores.items()}}


def _agrees(conf: np.ndarray, candidate: int, threshold: float) -> bool:
    """Whether a turn's confidences (n_speakers,) support ``candidate``.

    A turn disagrees when it verifies against someone else (another speaker is its best
    match and reaches ``threshold``) or when it all but rules the candidate out (below
    ``TURN_FLOOR``). Short turns rarely reach the threshold for anyone: they neither
    confirm nor contradict, so "agrees" means "does not contradict".
    """
    best = int(np.argmax(conf))
    return bool((best == candidate or conf[best] < threshold) and conf[candidate] >= TURN_FLOOR)


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
    from ..diarization.scoring import subtract_intervals

    others = [(s.start, s.end) for s in segments if s.label != turn.label]
    return [(a, b) for a, b in subtract_intervals([(turn.start, turn.end)], others)
            if b - a >= MIN_PIECE_SECONDS]


def name_speakers(segments, y: np.ndarray, model: SpeakerModel, *, threshold: float,
                  extractor: FeatureExtractor | None = None):
    """Match diarized speakers to the speakers a model knows, refusing when unsure.

    A cluster is named only when (1) its single-speaker speech, scored as a whole, reaches
    ``threshold`` for its best enrolled speaker, and (2) its turns agree: at least
    ``MIN_AGREEMENT`` of the speech of its turns that give an embedding does not contradict
    that speaker (see :func:`_agrees`). Otherwise it keeps its anonymous label (``reason``
    says which test failed). Two clusters may take the same name (diarization sometimes
    splits a voice).

    Turns are then checked on their own: in a named cluster, a turn whose own evidence
    contradicts the name keeps the anonymous label; in any cluster, a turn with
    at least ``MIN_TURN_SECONDS`` of single-speaker speech that reaches ``threshold`` for
    an enrolled speaker takes that name, except in a cluster left anonymous because it
    does not reach the threshold: a voice nobody enrolled sometimes comes close to a known
    one in a single turn, and one turn is not enough to name it (an impure cluster whose
    turns disagree is split by name this way).

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
    turn_conf = [None if w is None else speaker_confidences(model, w, naming=True)[0]
                 for w in turn_windows]
    turn_seconds = [sum(b - a for a, b in pieces) for pieces in turn_pieces]
    labels = sorted({s.label for s in segments})
    matches, names, reasons = [], {}, {}
    for label in labels:
        mine = [i for i, s in enumerate(segments)
                if s.label == label and turn_windows[i] is not None]
        seconds = sum(b - a for a, b in exclusive_pieces(segments, label))
        conf = np.zeros(len(speakers))
        if mine:
            windows = np.concatenate([turn_windows[i] for i in mine])
            conf, _ = speaker_confidences(model, windows, naming=True)
        best = int(np.argmax(conf)) if len(conf) else 0
        weights = np.array([turn_seconds[i] for i in mine])
        agree = np.array([_agrees(turn_conf[i], best, threshold) for i in mine])
        agreement = float((weights * agree).sum() / weights.sum()) if weights.sum() else 0.0
        if not mine or not len(conf):
            reason = "no_speech"
        elif conf[best] < threshold:
            reason = "below_threshold"
        elif agreement < MIN_AGREEMENT:
            reason = "turns_disagree"
        else:
            reason = "verified"
            names[label] = speakers[best]
        reasons[label] = reason
        matches.append(ClusterMatch(
            label=label, name=names.get(label), confidence=float(conf[best]) if len(conf) else 0.0,
            seconds=float(seconds), scores={s: float(c) for s, c in zip(speakers, conf)},
            threshold=float(threshold), best=speakers[best] if mine and len(conf) else None,
            agreement=agreement, reason=reason))
    named = []
    for segment, seconds, conf in zip(segments, turn_seconds, turn_conf):
        label = names.get(segment.label, segment.label)
        if conf is not None:
            best = int(np.argmax(conf))
            needed = (SPLIT_MIN_SECONDS if reasons[segment.label] == "below_threshold"
                      else MIN_TURN_SECONDS)
            if conf[best] >= threshold and seconds >= needed:
                label = speakers[best]
            elif label in speakers and not _agrees(conf, speakers.index(label), threshold):
                label = segment.label  # the turn itself contradicts the cluster's name
        named.append(replace(segment, label=label))
    return named, matches
