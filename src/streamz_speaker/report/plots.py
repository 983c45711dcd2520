"""Plots of evaluation and scoring runs, as Display objects: compute once, ``plot(ax=...)``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import install_hint
from ..core.errors import MissingDependencyError

try:  # the `report` extra; Figure (not pyplot) keeps no global state and needs no display
    from matplotlib.figure import Figure
except ImportError as e:  # pragma: no cover - exercised by the CLI test with the import hidden
    raise MissingDependencyError(
        "plots need matplotlib, which is not installed: " + install_hint("report")
        + " (in a checkout: pip install -e '.[report]')") from e

#: Shading of the three kinds of diarization error (and of regions not scored).
ERROR_COLORS = {"missed": "tab:red", "false_alarm": "tab:orange", "confusion": "tab:purple"}
ERROR_NAMES = {"missed": "missed", "false_alarm": "false alarm", "confusion": "confusion"}
#: Speaker colours: the tab10 colours other than those of the errors.
_SPEAKER_COLORS = ("tab:blue", "tab:green", "tab:brown", "tab:pink", "tab:olive", "tab:cyan",
                   "tab:gray")
_DPI = 100


def _axes(ax, size):
    """``ax``, or the axes of a new figure of ``size`` inches."""
    if ax is not None:
        return ax
    return Figure(figsize=size, dpi=_DPI, layout="constrained").add_subplot()


@dataclass
class ConfusionMatrixDisplay:
    """Counts of decisions (columns) per true speaker (rows), ``unknown`` last."""

    confusion: np.ndarray    # (n_labels, n_labels) counts
    labels: list

    @classmethod
    def from_report(cls, report) -> "ConfusionMatrixDisplay":
        """From an :class:`~streamz_speaker.speaker_id.evaluation.EvalReport`."""
        return cls(np.asarray(report.confusion, int), list(report.confusion_labels))

    def plot(self, ax=None) -> "ConfusionMatrixDisplay":
        n = len(self.labels)
        ax = self.ax_ = _axes(ax, (1.6 + 0.55 * n, 1.2 + 0.5 * n))
        self.figure_ = ax.figure
        image = ax.imshow(self.confusion, cmap="Blues", vmin=0)
        high = self.confusion.max() / 2 if self.confusion.size else 0
        for (i, j), count in np.ndenumerate(self.confusion):
            ax.text(j, i, str(count), ha="center", va="center",
                    color="white" if count > high else "black")
        ax.set_xticks(range(n), self.labels, rotation=45, ha="right")
        ax.set_yticks(range(n), self.labels)
        ax.set(xlabel="decision", ylabel="truth", title="Confusion matrix")
        self.figure_.colorbar(image, ax=ax, shrink=0.8)
        return self


def trials(files: list) -> tuple[np.ndarray, np.ndarray]:
    """Same- and different-speaker scores of an evaluation's files.

    Each file is scored against every model speaker (``scores``): the score of its own
    speaker is a same-speaker trial, every other score a different-speaker trial (all of
    them for a file of an unknown speaker).

    Returns
    -------
    same, different : ndarray of shape (n,), float
    """
    same, different = [], []
    for f in files:
        for speaker, score in f["scores"].items():
            (same if f["known"] and speaker == f["truth"] else different).append(score)
    return np.array(same, float), np.array(different, float)


def _error_rates(same, different, thresholds):
    """Miss rate (same below t) and false-alarm rate (different at or above t) per t."""
    miss = np.searchsorted(np.sort(same), thresholds, side="left") / max(len(same), 1)
    false_alarm = 1 - np.searchsorted(np.sort(different), thresholds,
                                      side="left") / max(len(different), 1)
    return miss, false_alarm


@dataclass
class DetCurveDisplay:
    """Detection error trade-off of same/different-speaker trials, on normal-deviate axes."""

    false_alarm: np.ndarray   # (n_thresholds,) rates
    miss: np.ndarray          # (n_thresholds,) rates
    threshold: float          # the decision threshold...
    at_threshold: tuple       # ...and its (false alarm, miss)

    @classmethod
    def from_trials(cls, same, different, threshold: float) -> "DetCurveDisplay":
        thresholds = np.unique(np.concatenate([same, different, [np.inf]]))
        miss, false_alarm = _error_rates(same, different, thresholds)
        point = _error_rates(same, different, np.array([threshold]))
        return cls(false_alarm, miss, threshold, (float(point[1][0]), float(point[0][0])))

    @classmethod
    def from_report(cls, report) -> "DetCurveDisplay":
        """From an :class:`~streamz_speaker.speaker_id.evaluation.EvalReport` (see :func:`trials`)."""
        return cls.from_trials(*trials(report.files), report.threshold)

    def plot(self, ax=None) -> "DetCurveDisplay":
        from scipy.stats import norm

        ax = self.ax_ = _axes(ax, (4.2, 4.0))
        self.figure_ = ax.figure
        ticks = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999])
        lo, hi = norm.ppf(0.0005), norm.ppf(0.9995)

        def deviate(p):   # rates of 0 and 1 drawn at the plot's edges
            return np.clip(norm.ppf(np.asarray(p, float)), lo, hi)

        ax.plot(deviate(self.false_alarm), deviate(self.miss), drawstyle="steps-post")
        ax.plot([lo, hi], [lo, hi], color="0.7", linewidth=0.8, linestyle=":")
        ax.plot(*deviate(self.at_threshold), "o", color="tab:red",
                label=f"threshold {self.threshold:g}: false alarm "
                      f"{self.at_threshold[0]:.1%}, miss {self.at_threshold[1]:.1%}")
        labels = [f"{t:.1%}".replace(".0%", "%") for t in ticks]
        ax.set_xticks(norm.ppf(ticks), labels, rotation=45)
        ax.set_yticks(norm.ppf(ticks), labels)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="false alarm rate", ylabel="miss rate",
               title="DET: same vs different speaker")
        ax.legend(loc="upper right", fontsize="small")
        return self


@dataclass
class ScoreHistogramDisplay:
    """Histograms of same- and different-speaker scores, with the threshold marked."""

    same: np.ndarray
    different: np.ndarray
    threshold: float

    @classmethod
    def from_report(cls, report) -> "ScoreHistogramDisplay":
        """From an :class:`~streamz_speaker.speaker_id.evaluation.EvalReport` (see :func:`trials`)."""
        return cls(*trials(report.files), report.threshold)

    def plot(self, ax=None) -> "ScoreHistogramDisplay":
        ax = self.ax_ = _axes(ax, (5.0, 3.2))
        self.figure_ = ax.figure
        bins = np.linspace(0, 1, 41)
        for scores, label, color in ((self.different, "different speaker", "tab:orange"),
                                     (self.same, "same speaker", "tab:blue")):
            if len(scores):
                ax.hist(np.clip(scores, 0, 1), bins=bins, density=True, alpha=0.55,
                        color=color, label=f"{label} ({len(scores)})")
        ax.axvline(self.threshold, color="black", linestyle="--",
                   label=f"threshold {self.threshold:g}")
        ax.set(xlabel="confidence", ylabel="density", xlim=(0, 1),
               title="Scores of same and different speakers")
        ax.legend(fontsize="small")
        return self


@dataclass
class TimelineDisplay:
    """Reference and hypothesis speakers of one file over time, with the errors shaded."""

    uri: str
    reference: list           # Segment
    hypothesis: list          # Segment
    timeline: object          # streamz_speaker.diarization.scoring.ErrorTimeline

    @classmethod
    def from_segments(cls, reference, hypothesis, *, uri: str = "", uem=None,
                      collar: float = 0.0, skip_overlap: bool = False) -> "TimelineDisplay":
        """Error regions as :func:`streamz_speaker.diarization.scoring.diarization_error` counts them."""
        from ..diarization.scoring import error_timeline

        return cls(uri, list(reference), list(hypothesis),
                   error_timeline(reference, hypothesis, uem=uem, collar=collar,
                                  skip_overlap=skip_overlap))

    def plot(self, ax=None) -> "TimelineDisplay":
        ref_labels = sorted({s.label for s in self.reference})
        hyp_labels = sorted({s.label for s in self.hypothesis})
        rows = [("reference", label) for label in ref_labels] + [
            ("hypothesis", label) for label in hyp_labels]
        ax = self.ax_ = _axes(ax, (9.0, 1.4 + 0.32 * len(rows)))
        self.figure_ = ax.figure
        palette = {label: _SPEAKER_COLORS[i % len(_SPEAKER_COLORS)]
                   for i, label in enumerate(ref_labels)}
        mapping = self.timeline.mapping
        for y, (side, label) in enumerate(rows):
            segments = self.reference if side == "reference" else self.hypothesis
            color = palette.get(label if side == "reference" else mapping.get(label), "0.5")
            ax.broken_barh([(s.start, s.duration) for s in segments if s.label == label],
                           (y - 0.35, 0.7), color=color)
        end = max([s.end for s in self.reference + self.hypothesis] + [1.0])
        unscored = _gaps(self.timeline.scored, 0.0, end)
        for kind, regions in [("not scored", unscored), *self.timeline.errors.items()]:
            for i, (start, stop) in enumerate(regions):
                ax.axvspan(start, stop, color=ERROR_COLORS.get(kind, "0.85"), alpha=0.3,
                           linewidth=0, zorder=0, label=None if i else ERROR_NAMES.get(kind, kind))
        ax.set_yticks(range(len(rows)), [f"ref {label}" if side == "reference" else
                                         f"hyp {label}" + (f" = {mapping[label]}"
                                                           if label in mapping else "")
                                         for side, label in rows])
        ax.set(xlim=(0, end), ylim=(len(rows) - 0.5, -0.5), xlabel="time (s)",
               title=f"{self.uri}: reference vs hypothesis".lstrip(": "))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        return self


def _gaps(regions, start: float, end: float) -> list:
    """Parts of [start, end] outside the sorted, disjoint ``regions``."""
    out, cur = [], start
    for a, b in regions:
        if a > cur:
            out.append((cur, a))
        cur = max(cur, b)
    return out + ([(cur, end)] if cur < end else [])


@dataclass
class DerBarDisplay:
    """DER of each file as stacked missed / false alarm / confusion bars, corpus DER marked."""

    uris: list
    parts: dict               # kind -> (n_files,) fractions of the file's reference speech
    der: float                # corpus DER...
    interval: tuple | None    # ...and its bootstrap interval

    @classmethod
    def from_report(cls, report) -> "DerBarDisplay":
        """From a :class:`~streamz_speaker.diarization.scoring.ScoreReport`."""
        files = list(report.per_file.values())
        parts = {kind: np.array([getattr(c, kind) / c.total if c.total else 0.0
                                 for c in files]) for kind in ERROR_COLORS}
        return cls(list(report.per_file), parts, report.total.der,
                   report.intervals.get("der"))

    def plot(self, ax=None) -> "DerBarDisplay":
        n = len(self.uris)
        ax = self.ax_ = _axes(ax, (6.5, 1.5 + 0.3 * n))
        self.figure_ = ax.figure
        left = np.zeros(n)
        for kind, values in self.parts.items():
            ax.barh(range(n), 100 * values, left=100 * left, color=ERROR_COLORS[kind],
                    label=ERROR_NAMES[kind])
            left += values
        if self.interval is not None:
            ax.axvspan(100 * self.interval[0], 100 * self.interval[1], color="0.5", alpha=0.2,
                       zorder=0, label="95% interval")
        ax.axvline(100 * self.der, color="black", linestyle="--",
                   label=f"corpus DER {100 * self.der:.1f}%")
        ax.set_yticks(range(n), self.uris)
        ax.set(ylim=(n - 0.5, -0.5), xlabel="% of the file's reference speech",
               title="Diarization error rate per file")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        return self


def eval_figures(report) -> dict:
    """The figures of an evaluation report, by file stem (the CLI saves them as PNG).

    Parameters
    ----------
    report : streamz_speaker.speaker_id.evaluation.EvalReport

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``confusion``, ``det`` and ``scores`` (the histograms).
    """
    return {"confusion": ConfusionMatrixDisplay.from_report(report).plot().figure_,
            "det": DetCurveDisplay.from_report(report).plot().figure_,
            "scores": ScoreHistogramDisplay.from_report(report).plot().figure_}


def score_figures(report, reference, hypothesis, uem=None) -> dict:
    """The figures of a scoring report, by file stem (the CLI saves them as PNG).

    Parameters
    ----------
    report : streamz_speaker.diarization.scoring.ScoreReport
    reference, hypothesis : dict of str to list of Segment
        The RTTMs that were scored, by uri.
    uem : dict of str to list of (start, end), optional

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``der`` and one ``timeline-NN-URI`` per file, in the report's order.
    """
    figures = {"der": DerBarDisplay.from_report(report).plot().figure_}
    for i, uri in enumerate(report.per_file):
        display = TimelineDisplay.from_segments(
            reference.get(uri, []), hypothesis.get(uri, []), uri=uri,
            uem=None if uem is None else uem[uri], collar=report.collar,
            skip_overlap=report.skip_overlap)
        figures[f"timeline-{i + 1:02d}-{_slug(uri)}"] = display.plot().figure_
    return figures


def _slug(text: str) -> str:
    """A file-name-safe form of a uri."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:60] or "file"
