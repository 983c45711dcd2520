"""Regression check: is a run worse than a saved baseline, beyond a margin and the noise?"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..core.bootstrap import BootstrapConfig, Sample, collect
from ..core.errors import ReportError
from ..diarization import scoring
from ..speaker_id import evaluation

#: Default margin, in percentage points, that a figure may lose before it counts as worse.
DEFAULT_MAX_REGRESSION = 1.0


@dataclass(frozen=True)
class Change:
    """One figure of the run against the baseline (fractions, not percent)."""

    figure: str
    baseline: float | None
    current: float | None
    difference: float | None             # current - baseline
    interval: tuple[float, float] | None  # bootstrap interval of the difference
    higher_is_better: bool
    worse_by: float | None                # how much worse (negative: better)
    regression: bool                      # worse by more than the margin, and real

    def to_dict(self) -> dict:
        out = {key: value for key, value in self.__dict__.items() if key != "interval"}
        out["interval"] = None if self.interval is None else list(self.interval)
        return out


@dataclass
class Comparison:
    """Every headline figure of a run against a baseline run."""

    changes: list = field(default_factory=list)   # list of Change
    max_regression: float = DEFAULT_MAX_REGRESSION  # margin, percentage points
    paired: bool = True         # figures compared on the files both runs scored
    n_common: int = 0           # files in both runs
    n_only_current: int = 0     # files only in this run
    n_only_baseline: int = 0    # files only in the baseline

    @property
    def regressions(self) -> list:
        """The changes that fail the check."""
        return [c for c in self.changes if c.regression]

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        out["changes"] = [c.to_dict() for c in self.changes]
        out["regressions"] = [c.figure for c in self.regressions]
        return out


def compare(current: Sample, baseline: Sample, higher_is_better: dict, *,
            max_regression: float = DEFAULT_MAX_REGRESSION,
            config: BootstrapConfig = BootstrapConfig()) -> Comparison:
    """Compare the figures of two runs; flag those that got worse, beyond doubt.

    A figure is a regression when both hold:

    - it is worse than the baseline's by more than ``max_regression`` percentage points;
    - the bootstrap interval of the difference (``config.confidence``, 95% by default)
      lies entirely on the worse side of zero.

    When the runs share files (by content hash for speaker ID, by uri for diarization),
    both the difference and its interval are taken on the shared files only, resampled
    together (paired bootstrap: each resample draws the same files, or speakers then
    files, from both runs). When they share none, each run is resampled on its own and the
    k-th resamples are subtracted. With fewer than two files there is no interval, and
    the margin alone decides.

    Parameters
    ----------
    current, baseline : Sample
        The runs' units (see :class:`streamz_speaker.core.bootstrap.Sample`).
    higher_is_better : dict of str to bool
        The figures compared, and their direction.
    max_regression : float
        Margin in percentage points (1.0: a figure may lose 0.01).
    config : BootstrapConfig

    Returns
    -------
    Comparison
    """
    if max_regression < 0:
        raise ReportError(f"max_regression must be >= 0 percentage points, got {max_regression}")
    position = {key: i for i, key in enumerate(baseline.keys)}
    common = [(i, position[key]) for i, key in enumerate(current.keys) if key in position]
    out = Comparison(max_regression=max_regression, paired=bool(common), n_common=len(common),
                     n_only_current=len(current) - len(common),
                     n_only_baseline=len(baseline) - len(common))
    if common:
        current = current.subset([i for i, _ in common])
        baseline = baseline.subset([j for _, j in common])
    point = _difference(current.figures(), baseline.figures())
    if common:
        paired = Sample(current.keys, lambda idx: _difference(current.statistic(idx),
                                                              baseline.statistic(idx)),
                        current.clusters, current.strata)
        spread = paired.intervals(config)
    else:
        spread = _unpaired_intervals(current, baseline, point, config)
    before, after = baseline.figures(), current.figures()
    for name, higher in higher_is_better.items():
        diff, interval = point.get(name), spread.get(name)
        worse_by = None if diff is None else (-diff if higher else diff) + 0.0  # no -0.0
        real = interval is None or (interval[1] < 0 if higher else interval[0] > 0)
        out.changes.append(Change(name, before.get(name), after.get(name), diff, interval,
                                  higher, worse_by, worse_by is not None
                                  and worse_by > max_regression / 100 and real))
    return out


def _difference(current: dict, baseline: dict) -> dict:
    """``current - baseline`` per figure; None where either is None."""
    return {name: None if value is None or baseline.get(name) is None
            else value - baseline[name] for name, value in current.items()}


def _unpaired_intervals(current: Sample, baseline: Sample, names, config) -> dict:
    """Interval of the difference of independent resamples (seeds ``seed``, ``seed + 1``)."""
    if min(len(current), len(baseline)) < 2:
        return dict.fromkeys(names)
    other = BootstrapConfig(config.n_resamples, config.confidence, config.seed + 1)
    draws = (_difference(current.statistic(a), baseline.statistic(b))
             for a, b in zip(current.resamples(config), baseline.resamples(other)))
    return collect(names, draws, config.confidence)


def _kinds() -> dict:
    """Per command: how a saved run becomes a Sample, its figures, the settings that must match."""
    return {"eval": (evaluation.sample_from_dict, evaluation.FIGURES, ("threshold",)),
            "score": (scoring.sample_from_dict, scoring.FIGURES, ("collar", "skip_overlap"))}


def compare_runs(current: dict, baseline: dict, *,
                 max_regression: float = DEFAULT_MAX_REGRESSION,
                 config: BootstrapConfig = BootstrapConfig(), source: str = "baseline"
                 ) -> Comparison:
    """:func:`compare` two runs in their JSON form (``streamz eval/score --json``).

    ``source`` names the baseline in error messages (e.g. its path).

    Raises
    ------
    ReportError
        If the baseline is of another command, lacks per-file results, or was made with
        other settings (``--threshold``; ``--collar``, ``--skip-overlap``).
    """
    command = current["command"]
    build, figures, settings = _kinds()[command]
    if baseline.get("command") != command or "files" not in baseline:
        raise ReportError(f"{source}: not a saved `streamz {command} --json` run with "
                          "per-file results (save one with this version of streamz)")
    differ = [f"{key} {baseline.get(key)} (baseline) vs {current[key]}" for key in settings
              if baseline.get(key) != current[key]]
    if differ:
        raise ReportError(f"{source}: made with other settings: {', '.join(differ)}; "
                          "compare runs made the same way")
    try:
        before = build(baseline)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ReportError(f"{source}: malformed per-file results ({e!r})") from e
    return compare(build(current), before, figures, max_regression=max_regression,
                   config=config)


def load_baseline(path: os.PathLike | str) -> dict:
    """Read a run saved as JSON.

    Raises
    ------
    ReportError
        If the file is missing, a directory or not a JSON object.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ReportError(f"{path}: baseline not found") from None
    except IsADirectoryError:
        raise ReportError(f"{path}: is a directory, not a saved --json run") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ReportError(f"{path}: not a saved --json run ({e})") from e
    if not isinstance(data, dict):
        raise ReportError(f"{path}: not a saved --json run (a JSON object)")
    return data
