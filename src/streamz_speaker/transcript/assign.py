"""Words to speakers: each word to the speaker who talks most during it; cues split at changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.errors import ConfigError
from ..diarization.rttm import Segment
from .formats import check_duration
from .model import UNKNOWN, Cue, LabelledCue, LabelledTranscript, LabelledWord, Transcript


@dataclass(frozen=True)
class AssignConfig:
    """How words get speakers (values measured on dev-wide's odd half, benchmarks/RESULTS.md)."""

    gap_seconds: float = 1.0       # a word nobody overlaps takes the nearest speaker this close
    min_word_seconds: float = 0.02  # shorter (zero-length) words count as this long, centred
    cue_min_words: int = 4         # cue times only: each side of a split has this many words,
    cue_min_seconds: float = 0.0   # lasts this long (estimated; 0: any),
    cue_min_share: float = 0.0     # and its speaker talks this share of it (0: any)

    def __post_init__(self):
        if self.gap_seconds < 0 or self.min_word_seconds <= 0:
            raise ConfigError("gap_seconds must be >= 0 and min_word_seconds > 0")
        if self.cue_min_words < 1 or self.cue_min_seconds < 0 or not 0 <= self.cue_min_share <= 1:
            raise ConfigError("cue_min_words must be >= 1, cue_min_seconds >= 0 and "
                              "cue_min_share in [0, 1]")


@dataclass(frozen=True)
class _Tracks:
    """Each speaker's turns, merged: ``starts[k]``/``ends[k]`` sorted, disjoint (seconds)."""

    labels: tuple[str, ...]
    starts: tuple[np.ndarray, ...]
    ends: tuple[np.ndarray, ...]


def _tracks(segments: Sequence[Segment]) -> _Tracks:
    turns: dict[str, list[tuple[float, float]]] = {}
    for s in sorted(segments, key=lambda s: (s.start, s.end)):
        if s.end > s.start:
            turns.setdefault(s.label, []).append((s.start, s.end))
    starts, ends = [], []
    for pairs in turns.values():
        merged = [list(pairs[0])]
        for a, b in pairs[1:]:
            if a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        arr = np.asarray(merged, dtype=np.float64)
        starts.append(arr[:, 0])
        ends.append(arr[:, 1])
    return _Tracks(tuple(turns), tuple(starts), tuple(ends))


def overlaps(starts: np.ndarray, ends: np.ndarray, tracks: _Tracks) -> np.ndarray:
    """Seconds each speaker talks during each interval.

    Parameters
    ----------
    starts, ends : ndarray of shape (num_words,)
        Intervals in seconds.
    tracks : _Tracks

    Returns
    -------
    ndarray of shape (num_words, num_speakers), float64
    """
    out = np.zeros((len(starts), len(tracks.labels)))
    for k, (st, en) in enumerate(zip(tracks.starts, tracks.ends)):
        # cumulative speaking time, piecewise linear through the turn edges
        x = np.stack([st, en], axis=1).ravel()
        f = np.concatenate([[0.0], np.cumsum(en - st)])
        y = np.stack([f[:-1], f[1:]], axis=1).ravel()
        out[:, k] = np.interp(ends, x, y) - np.interp(starts, x, y)
    return np.maximum(out, 0.0)


def distances(starts: np.ndarray, ends: np.ndarray, tracks: _Tracks) -> np.ndarray:
    """Seconds from each interval to each speaker's nearest turn (0 when they overlap).

    Returns
    -------
    ndarray of shape (num_words, num_speakers), float64
    """
    out = np.full((len(starts), len(tracks.labels)), np.inf)
    for k, (st, en) in enumerate(zip(tracks.starts, tracks.ends)):
        j = np.searchsorted(st, ends, side="right")     # turns starting after the word ends
        after = np.where(j < len(st), st[np.minimum(j, len(st) - 1)] - ends, np.inf)
        before = np.where(j > 0, starts - en[np.maximum(j - 1, 0)], np.inf)
        out[:, k] = np.maximum(np.minimum(after, before), 0.0)
    return out


def assign_words(starts, ends, segments: Sequence[Segment], *,
                 config: AssignConfig = AssignConfig()) -> list[str]:
    """The speaker of each word: who talks most during it, else the nearest one close by.

    Parameters
    ----------
    starts, ends : array-like of shape (num_words,)
        Word times in seconds.
    segments : sequence of Segment
        The diarization (speaker turns; they may overlap).
    config : AssignConfig
        ``gap_seconds``: a word that no turn overlaps takes the speaker whose turn is
        nearest, when it is at most this far; otherwise it is :data:`UNKNOWN`.

    Returns
    -------
    list of str, one label per word
    """
    return _assign(starts, ends, _tracks(segments), config)


def _assign(starts, ends, tracks: _Tracks, config: AssignConfig) -> list[str]:
    starts, ends = _widened(starts, ends, config)
    if not tracks.labels:
        return [UNKNOWN] * len(starts)
    talk = overlaps(starts, ends, tracks)
    best = talk.argmax(axis=1)
    labels = [tracks.labels[k] for k in best]
    silent = np.flatnonzero(talk.max(axis=1) <= 0)
    if silent.size:
        gap = distances(starts[silent], ends[silent], tracks)
        near = gap.argmin(axis=1)
        for i, k, d in zip(silent, near, gap[np.arange(len(silent)), near]):
            labels[i] = tracks.labels[k] if d <= config.gap_seconds else UNKNOWN
    return labels


def _widened(starts, ends, config):
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.maximum(np.asarray(ends, dtype=np.float64), starts)
    short = ends - starts < config.min_word_seconds
    middle = 0.5 * (starts + ends)
    half = 0.5 * config.min_word_seconds
    return (np.where(short, middle - half, starts), np.where(short, middle + half, ends))


def word_times(cue: Cue) -> tuple[np.ndarray, np.ndarray]:
    """Times of a cue's words: the recogniser's, or spread over the cue by characters.

    Words without times (a whole SRT cue, or WhisperX's numerals) share the time between
    the timed words around them (the cue's start and end at its edges) in proportion to
    their characters, a space counting as one.

    Returns
    -------
    starts, ends : ndarray of shape (num_words,), float64
    """
    n = len(cue.words)
    starts = np.array([np.nan if w.start is None else w.start for w in cue.words], dtype=float)
    ends = np.array([np.nan if w.end is None else w.end for w in cue.words], dtype=float)
    k = 0
    while k < n:
        if not np.isnan(starts[k]):
            k += 1
            continue
        j = k
        while j < n and np.isnan(starts[j]):
            j += 1
        lo = cue.start if k == 0 else ends[k - 1]
        hi = cue.end if j == n else starts[j]
        hi = max(hi, lo)
        weights = np.array([len(w.text.strip()) + 1 for w in cue.words[k:j]], dtype=float)
        edges = lo + (hi - lo) * np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
        starts[k:j], ends[k:j] = edges[:-1], edges[1:]
        k = j
    return starts, ends


def _runs(labels: Sequence[str]) -> list[list]:
    """``[label, first, last + 1]`` of each run of equal labels."""
    runs = []
    for i, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = i + 1
        else:
            runs.append([label, i, i + 1])
    return runs


def _clear_runs(labels, starts, ends, tracks: _Tracks, config: AssignConfig) -> list[list] | None:
    """Runs of a cue whose word positions are only estimates, when the change is clear.

    Runs of fewer than ``cue_min_words`` words or shorter than ``cue_min_seconds`` are
    folded into their longer neighbour, shortest first; the rest stand only when each run's
    speaker talks at least ``cue_min_share`` of the run's time. None: no clear change (the
    cue stays whole).
    """
    runs = _runs(labels)

    def small(r) -> bool:
        return (r[2] - r[1] < config.cue_min_words
                or ends[r[2] - 1] - starts[r[1]] < config.cue_min_seconds)

    while len(runs) > 1:
        candidates = [k for k in range(len(runs)) if small(runs[k])]
        if not candidates:
            break
        k = min(candidates, key=lambda r: ends[runs[r][2] - 1] - starts[runs[r][1]])
        left = runs[k - 1] if k > 0 else None
        right = runs[k + 1] if k + 1 < len(runs) else None
        into = left if right is None or (left is not None and
                                          left[2] - left[1] >= right[2] - right[1]) else right
        into[1], into[2] = min(into[1], runs[k][1]), max(into[2], runs[k][2])
        del runs[k]
        merged = []     # neighbours that now share a label become one run
        for r in runs:
            if merged and merged[-1][0] == r[0]:
                merged[-1][2] = r[2]
            else:
                merged.append(r)
        runs = merged
    if len(runs) < 2:
        return None
    for label, a, b in runs:
        if label == UNKNOWN:
            return None
        talk = overlaps(starts[a:a + 1], ends[b - 1:b], tracks)[0]
        span = max(ends[b - 1] - starts[a], 1e-9)
        if talk[tracks.labels.index(label)] / span < config.cue_min_share:
            return None
    return runs


def _cue_speaker(cue: Cue, tracks: _Tracks, config: AssignConfig) -> str:
    """The speaker who talks most during a whole cue (nearest close one, else unknown)."""
    if not tracks.labels:
        return UNKNOWN
    return _assign([cue.start], [cue.end], tracks, config)[0]


def label_transcript(transcript: Transcript, segments: Sequence[Segment], *,
                     duration: float | None = None,
                     config: AssignConfig = AssignConfig()) -> LabelledTranscript:
    """Give every word of a transcript its speaker, and split cues where the speaker changes.

    Cues with word times: each word takes the speaker who talks most during it (or the
    nearest speaker within ``config.gap_seconds``, else ``"unknown"``), and a cue is split
    at every word boundary where the speaker changes. Cues with only cue times (SRT, WebVTT,
    Whisper segments without words): the cue keeps one speaker, the one who talks most
    during it, unless the change is clear (see :class:`AssignConfig`); its words are then
    placed by their characters and the cue is split where the speaker changes.

    Parameters
    ----------
    transcript : Transcript
        From :func:`read_transcript` or :func:`parse_transcript`.
    segments : sequence of Segment
        The diarization (``diarize(...).segments``; with names, after naming).
    duration : float, optional
        Length of the recording in seconds: a cue ending past it is an error.
    config : AssignConfig

    Returns
    -------
    LabelledTranscript
        Every input word once, in order, each output cue with one speaker.

    Raises
    ------
    TranscriptError
        A cue ends past ``duration``.
    """
    if duration is not None:
        check_duration(transcript, duration)
    tracks = _tracks(segments)
    times = [word_times(cue) for cue in transcript.cues]
    every = _assign(np.concatenate([s for s, _ in times] + [np.zeros(0)]),
                    np.concatenate([e for _, e in times] + [np.zeros(0)]), tracks, config)
    out, splits, at = [], 0, 0
    for cue, (starts, ends) in zip(transcript.cues, times):
        n = len(cue.words)
        labels, at = every[at:at + n], at + n
        if n == 0:
            out.append(LabelledCue(cue.index, 0, 0, cue.start, cue.end,
                                   _cue_speaker(cue, tracks, config), cue.text, (), 0))
            continue
        timed = cue.timed
        if timed:
            runs = _runs(labels)
        else:
            wide_s, wide_e = _widened(starts, ends, config)
            runs = _clear_runs(labels, wide_s, wide_e, tracks, config) if tracks.labels \
                else None
            if runs is None:
                runs = [[_cue_speaker(cue, tracks, config), 0, n]]
        splits += len(runs) > 1
        for speaker, a, b in runs:
            words = tuple(LabelledWord(w.text, float(starts[i]), float(ends[i]),
                                       labels[i] if timed else speaker, w.start is None)
                          for i, w in enumerate(cue.words[a:b], start=a))
            start = cue.start if a == 0 else float(starts[a])
            end = cue.end if b == n else float(ends[b - 1])
            out.append(LabelledCue(cue.index, a, b, min(start, end), max(start, end), speaker,
                                   _piece(cue, a, b), words, n))
    return LabelledTranscript(transcript, tuple(out), transcript.timing, splits)


def _piece(cue: Cue, a: int, b: int) -> str:
    """The text of words ``a:b`` of a cue, cut from the cue's own text where possible."""
    if a == 0 and b == len(cue.words):
        return cue.text
    first, last = cue.words[a].span, cue.words[b - 1].span
    if first is not None and last is not None:     # the first piece keeps what leads the text
        return cue.text[0 if a == 0 else first[0]:len(cue.text) if b == len(cue.words)
                        else last[1]]
    return " ".join(w.text.strip() for w in cue.words[a:b])
