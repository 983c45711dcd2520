"""Diarization error rate (DER) with optimal speaker mapping, as pyannote.metrics computes it."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .rttm import Segment, text_records
from ..core.errors import RttmError
from ..core.bootstrap import BootstrapConfig, Sample, rounded

Interval = tuple[float, float]
#: Headline figures of a scoring run (fractions of reference speech), each with whether
#: higher is better.
FIGURES = {"der": False, "miss_rate": False, "false_alarm_rate": False,
           "confusion_rate": False}
#: The three kinds of diarization error, in the order of DerComponents' fields.
ERROR_KINDS = ("missed", "false_alarm", "confusion")


@dataclass(frozen=True)
class DerComponents:
    """Error durations in seconds (reference speaker time is ``total``)."""

    total: float = 0.0          # reference speaker time (overlap counted once per speaker)
    missed: float = 0.0         # reference speech with too few hypothesis speakers
    false_alarm: float = 0.0    # hypothesis speech beyond the reference speakers
    confusion: float = 0.0      # speech attributed to the wrong (mapped) speaker
    mapping: Mapping[str, str] = field(default_factory=dict)  # hypothesis -> reference label

    @property
    def der(self) -> float:
        """(missed + false alarm + confusion) / total; 0 or 1 when there is no reference."""
        errors = self.missed + self.false_alarm + self.confusion
        if self.total == 0:
            return 0.0 if errors == 0 else 1.0
        return errors / self.total

    def __add__(self, other: "DerComponents") -> "DerComponents":
        return DerComponents(self.total + other.total, self.missed + other.missed,
                             self.false_alarm + other.false_alarm,
                             self.confusion + other.confusion)

    def figures(self) -> dict:
        """DER and its parts as fractions of reference speech (None without reference)."""
        def rate(seconds):
            return seconds / self.total if self.total else None

        return {"der": self.der, "miss_rate": rate(self.missed),
                "false_alarm_rate": rate(self.false_alarm),
                "confusion_rate": rate(self.confusion)}

    def as_dict(self) -> dict:
        d = {"der": self.der, "total": self.total, "missed": self.missed,
             "false_alarm": self.false_alarm, "confusion": self.confusion}
        if self.mapping:
            d["mapping"] = dict(self.mapping)
        return d


def read_uem(path: os.PathLike | str) -> dict[str, list[Interval]]:
    """Read a UEM file (``uri channel start end`` per line).

    Raises
    ------
    RttmError
        If the file cannot be read or a line is malformed (naming the file and line).
    """
    out: dict[str, list[Interval]] = {}
    for where, line, fields in text_records(path, "UEM"):
        if len(fields) != 4:
            raise RttmError(f"{where}: expected 4 fields (uri channel start end), "
                            f"got {len(fields)}: {line.strip()!r}")
        try:
            start, end = float(fields[2]), float(fields[3])
        except ValueError:
            raise RttmError(f"{where}: start and end must be numbers, got "
                            f"{fields[2]!r} and {fields[3]!r}") from None
        if not (math.isfinite(start) and math.isfinite(end)) or not 0 <= start <= end:
            raise RttmError(f"{where}: need 0 <= start <= end, got {start} and {end}")
        out.setdefault(fields[0], []).append((start, end))
    return out


def _support(intervals: Sequence[Interval]) -> list[Interval]:
    """Union of intervals as sorted, disjoint, non-touching intervals (empty ones dropped)."""
    merged: list[list[float]] = []
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def subtract_intervals(base: Sequence[Interval], removed: Sequence[Interval]) -> list[Interval]:
    """``base`` minus ``removed`` (both arbitrary lists of (start, end) seconds), merged and sorted."""
    out = []
    removed = _support(removed)
    for s, e in _support(base):
        cur = s
        for rs, re_ in removed:
            if re_ <= cur or rs >= e:
                continue
            if rs > cur:
                out.append((cur, rs))
            cur = max(cur, re_)
        if cur < e:
            out.append((cur, e))
    return out


def _crop(segments: Sequence[Segment], uem: Sequence[Interval]) -> list[Segment]:
    out = []
    for seg in segments:
        for s, e in uem:
            lo, hi = max(seg.start, s), min(seg.end, e)
            if hi > lo:
                out.append(Segment(lo, hi, seg.label))
    return out


def _counts(segments: Sequence[Segment], labels: list[str], mids: np.ndarray) -> np.ndarray:
    # (num_intervals, num_labels): how many segments of each label cover each interval middle.
    out = np.zeros((mids.size, len(labels)))
    for j, label in enumerate(labels):
        starts = np.sort([s.start for s in segments if s.label == label])
        ends = np.sort([s.end for s in segments if s.label == label])
        out[:, j] = (np.searchsorted(starts, mids, side="right")
                     - np.searchsorted(ends, mids, side="right"))
    return out


def diarization_error(reference: Sequence[Segment], hypothesis: Sequence[Segment], *,
                      uem: Sequence[Interval] | None = None, collar: float = 0.0,
                      skip_overlap: bool = False) -> DerComponents:
    """Diarization error of one file.

    Follows pyannote.metrics' ``DiarizationErrorRate``: both annotations are cropped to the
    evaluation map (``uem``; by default the extent of both), minus ``collar / 2`` seconds on each
    side of every reference boundary and, with ``skip_overlap``, minus reference overlap. The
    hypothesis speakers are mapped one-to-one to reference speakers so as to maximise their
    total co-occurrence (Hungarian algorithm).

    Parameters
    ----------
    reference, hypothesis : sequence of Segment
        Speaker turns of the file.
    uem : sequence of (start, end), optional
        Scored regions in seconds.
    collar : float
        Total width in seconds of the unscored collar around reference boundaries.
    skip_overlap : bool
        Do not score regions where two or more reference turns overlap.

    Returns
    -------
    DerComponents
        Error durations in seconds and the mapping (hypothesis label -> reference label).
    """
    errors = _errors(reference, hypothesis, uem, collar, skip_overlap)
    if errors is None:
        return DerComponents()
    _, durations, total, amounts, mapping, _ = errors
    return DerComponents(float(np.sum(durations * total)),
                         *(float(np.sum(durations * amounts[kind])) for kind in ERROR_KINDS),
                         mapping=mapping)


@dataclass(frozen=True)
class ErrorTimeline:
    """Where the errors of one file are, for plotting (all times in seconds).

    Attributes
    ----------
    scored : list of (start, end)
        Regions that count (the UEM, less collars and skipped overlap).
    errors : dict of str to list of (start, end)
        For each of :data:`ERROR_KINDS`, the regions with that error (a region can have
        two kinds, e.g. a missed second speaker and a confused first one).
    mapping : dict of str to str
        Hypothesis label -> reference label.
    """

    scored: list
    errors: dict
    mapping: dict


def error_timeline(reference: Sequence[Segment], hypothesis: Sequence[Segment], *,
                   uem: Sequence[Interval] | None = None, collar: float = 0.0,
                   skip_overlap: bool = False) -> ErrorTimeline:
    """Where :func:`diarization_error` finds missed speech, false alarm and confusion.

    Parameters are those of :func:`diarization_error`.

    Returns
    -------
    ErrorTimeline
    """
    errors = _errors(reference, hypothesis, uem, collar, skip_overlap)
    if errors is None:
        return ErrorTimeline([], {kind: [] for kind in ERROR_KINDS}, {})
    bounds, _, _, amounts, mapping, scored = errors
    regions = {kind: _support([(a, b) for a, b, n in zip(bounds[:-1], bounds[1:], amounts[kind])
                               if n > 0]) for kind in ERROR_KINDS}
    return ErrorTimeline(scored, regions, mapping)


def _errors(reference, hypothesis, uem, collar, skip_overlap):
    """Elementary intervals of the scored regions and the errors on each.

    Returns None when nothing is scored, else ``(bounds, durations, n_ref, amounts,
    mapping, scored)``: ``bounds`` of shape (num_intervals + 1,) seconds, per-interval
    reference speaker counts and error amounts (speakers) per kind, the hypothesis ->
    reference mapping and the scored regions.
    """
    if collar < 0:
        raise ValueError(f"collar must be >= 0 seconds, got {collar}")
    if uem is None:
        every = list(reference) + list(hypothesis)
        uem = [(min(s.start for s in every), max(s.end for s in every))] if every else []
    uem = _support(uem)
    removed: list[Interval] = []
    if collar > 0:
        for seg in reference:
            removed += [(seg.start - collar / 2, seg.start + collar / 2),
                        (seg.end - collar / 2, seg.end + collar / 2)]
    if skip_overlap:
        ref = sorted(reference, key=lambda s: s.start)
        for i, a in enumerate(ref):
            for b in ref[i + 1:]:
                if b.start >= a.end:
                    break
                removed.append((b.start, min(a.end, b.end)))
    if removed:
        uem = subtract_intervals(uem, removed)
    ref, hyp = _crop(reference, uem), _crop(hypothesis, uem)
    bounds = np.unique(np.array([t for s in ref + hyp for t in (s.start, s.end)], dtype=float))
    if bounds.size < 2:
        return None
    durations = np.diff(bounds)
    mids = bounds[:-1] + durations / 2
    ref_labels = sorted({s.label for s in ref})
    hyp_labels = sorted({s.label for s in hyp})
    r = _counts(ref, ref_labels, mids)                      # (num_intervals, num_ref)
    h = _counts(hyp, hyp_labels, mids)                      # (num_intervals, num_hyp)
    n_ref, n_hyp = r.sum(axis=1), h.sum(axis=1)
    cooccurrence = (r * durations[:, None]).T @ h           # (num_ref, num_hyp) seconds
    correct = np.zeros_like(durations)
    mapping = {}
    if ref_labels and hyp_labels:
        rows, cols = linear_sum_assignment(cooccurrence, maximize=True)
        for i, j in zip(rows, cols):
            if cooccurrence[i, j] > 0:
                mapping[hyp_labels[j]] = ref_labels[i]
                correct += np.minimum(r[:, i], h[:, j])
    amounts = {"missed": np.maximum(n_ref - n_hyp, 0),
               "false_alarm": np.maximum(n_hyp - n_ref, 0),
               "confusion": np.minimum(n_ref, n_hyp) - correct}
    return bounds, durations, n_ref, amounts, mapping, uem


def score(reference: Mapping[str, Sequence[Segment]], hypothesis: Mapping[str, Sequence[Segment]],
          *, uem: Mapping[str, Sequence[Interval]] | None = None, collar: float = 0.0,
          skip_overlap: bool = False) -> tuple[dict[str, DerComponents], DerComponents]:
    """DER of every file of the reference, and in total.

    Files are those of the reference (or of ``uem`` when given); a file missing from the
    hypothesis counts as all missed. Hypothesis files absent from the reference are ignored
    with a warning.

    Returns
    -------
    per_file : dict of str to DerComponents
    total : DerComponents
        Sum of the per-file components (``total.der`` is the corpus DER).

    Raises
    ------
    RttmError
        If a ``uem`` is given but lacks a reference file.
    """
    uris = list(uem) if uem is not None else list(reference)
    for uri in reference:
        if uri not in uris:
            raise RttmError(f"no UEM entry for reference file {uri!r}")
    extra = [u for u in hypothesis if u not in uris]
    if extra:
        warnings.warn(f"hypothesis files not in the reference are ignored: {', '.join(extra)}")
    per_file = {}
    total = DerComponents()
    for uri in uris:
        result = diarization_error(reference.get(uri, []), hypothesis.get(uri, []),
                                   uem=None if uem is None else uem[uri], collar=collar,
                                   skip_overlap=skip_overlap)
        per_file[uri] = result
        total = total + result
    return per_file, total


@dataclass
class ScoreReport:
    """DER per file and in total, with bootstrap intervals; ``to_dict`` gives the JSON form."""

    per_file: dict          # uri -> DerComponents
    total: DerComponents
    collar: float = 0.0
    skip_overlap: bool = False
    intervals: dict = field(default_factory=dict)   # figure of FIGURES -> (low, high) or None
    bootstrap: dict = field(default_factory=dict)   # how the intervals were drawn

    def to_dict(self) -> dict:
        """DER to 4 decimals (0.01 %), durations to the millisecond, as in RTTM."""
        return {"command": "score", "collar": self.collar, "skip_overlap": self.skip_overlap,
                "files": {uri: _rounded(c.as_dict()) for uri, c in self.per_file.items()},
                "total": _rounded(self.total.as_dict()),
                "intervals": {name: rounded(i) for name, i in self.intervals.items()},
                "bootstrap": self.bootstrap}


def _rounded(components: dict) -> dict:
    return {key: round(value, 4 if key == "der" else 3) if isinstance(value, float) else value
            for key, value in components.items()}


def score_report(reference: Mapping[str, Sequence[Segment]],
                 hypothesis: Mapping[str, Sequence[Segment]], *,
                 uem: Mapping[str, Sequence[Interval]] | None = None, collar: float = 0.0,
                 skip_overlap: bool = False,
                 bootstrap: BootstrapConfig = BootstrapConfig()) -> ScoreReport:
    """:func:`score`, with intervals of the corpus figures from resampling files.

    Each figure is a ratio of sums over files (e.g. all errors over all reference speech);
    a resample draws as many files as there are, with replacement.

    Returns
    -------
    ScoreReport
    """
    per_file, total = score(reference, hypothesis, uem=uem, collar=collar,
                            skip_overlap=skip_overlap)
    return ScoreReport(per_file, total, collar, skip_overlap,
                       intervals=sample(per_file).intervals(bootstrap),
                       bootstrap=bootstrap.to_dict())


def sample(per_file: Mapping[str, DerComponents]) -> Sample:
    """The files of a scoring run as bootstrap units (keyed by uri, one cluster each).

    Its statistic sums the components of the drawn files and gives
    :meth:`DerComponents.figures`.
    """
    parts = np.array([[c.total, c.missed, c.false_alarm, c.confusion]
                      for c in per_file.values()], float).reshape(-1, 4)

    def statistic(idx: np.ndarray) -> dict:
        return DerComponents(*parts[idx].sum(axis=0).tolist()).figures()

    return Sample(keys=list(per_file), statistic=statistic, clusters=list(per_file))


def sample_from_dict(data: dict) -> Sample:
    """:func:`sample` of a saved ``streamz score --json`` run (the JSON form of a report)."""
    return sample({uri: DerComponents(*(float(f[key]) for key in
                                         ("total", "missed", "false_alarm", "confusion")))
                   for uri, f in data["files"].items()})
