"""Options and output shared by eval and score: --report, --baseline, --max-regression."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._shared import notice, plural, report_failures, shown, warn


def report_options(f):
    """``--report DIR``, ``--baseline FILE`` and ``--max-regression POINTS``."""
    from ..report.regression import DEFAULT_MAX_REGRESSION

    f = click.option("--max-regression", type=click.FloatRange(min=0),
                     default=DEFAULT_MAX_REGRESSION, show_default=True, metavar="POINTS",
                     help="Percentage points a figure may lose against --baseline.")(f)
    f = click.option("--baseline", type=click.Path(), default=None, metavar="FILE",
                     help="A saved --json run to compare with: exit status 1 when a figure is "
                          "worse by more than --max-regression points and the 95% interval "
                          "of the change excludes 0 (see README).")(f)
    return click.option("--report", "report_dir", type=click.Path(file_okay=False),
                        default=None, metavar="DIR",
                        help="Write plots, results.json and an index.html to open in a "
                             "browser (needs the report extra).")(f)


def plots_module(report_dir):
    """``streamz_speaker.report.plots`` when a report is asked for (fails before any work if the
    extra is missing), else None."""
    if report_dir is None:
        return None
    from ..report import plots

    return plots


def compare_with(data: dict, baseline, max_regression: float, seed: int = 0):
    """Compare a run's JSON form with a saved one; adds it to ``data["baseline"]``.

    Returns
    -------
    Comparison or None
        None without ``baseline``.
    """
    if baseline is None:
        return None
    from ..report import BootstrapConfig, compare_runs, load_baseline

    comparison = compare_runs(data, load_baseline(baseline), max_regression=max_regression,
                              config=BootstrapConfig(seed=seed), source=shown(baseline))
    data["baseline"] = {"path": shown(baseline), **comparison.to_dict()}
    return comparison


def print_run(data: dict, text: str, comparison, baseline, as_json: bool) -> None:
    """A run's results on stdout: ``data`` as JSON, or ``text`` and the comparison table."""
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(text)
    if comparison is not None:
        click.echo("\n" + comparison_text(comparison, baseline))


def comparison_text(comparison, baseline) -> str:
    """The comparison table printed after a run's figures (values in percent)."""
    from ..core.bootstrap import with_interval
    from ..report.html import FIGURE_NAMES

    how = (f"paired, on the {plural(comparison.n_common, 'file')} of both runs"
           if comparison.paired else "no file in both runs: resampled independently")
    lines = [f"against {shown(baseline)} ({how}); change in points:",
             f"{'figure':<24} {'baseline%':>9} {'this run%':>9}  change [95% interval]"]
    for c in comparison.changes:
        change = "n/a" if c.difference is None else f"{100 * c.difference:+.2f} {_span(c)}"
        lines.append(f"{FIGURE_NAMES[c.figure]:<24} "
                     f"{with_interval(c.baseline, None, percent=True):>9} "
                     f"{with_interval(c.current, None, percent=True):>9}  {change}"
                     + ("  WORSE" if c.regression else ""))
    return "\n".join(lines)


def _span(change) -> str:
    """The interval of a change in signed points, or why there is none."""
    if change.interval is None:
        return "(no interval: fewer than 2 files)"
    return "[{:+.2f}, {:+.2f}]".format(*(100 * x for x in change.interval))


def finish(comparison, failures=()) -> None:
    """End a run: name each figure worse than the baseline and each failed file on stderr;
    exit status 1 if there was any."""
    from ..report.html import FIGURE_NAMES

    for c in comparison.regressions if comparison is not None else ():
        warn(f"{FIGURE_NAMES[c.figure]} got worse: {100 * c.baseline:.2f}% -> "
             f"{100 * c.current:.2f}% ({100 * c.worse_by:.2f} points worse; 95% interval of "
             f"the change {_span(c)})")
    report_failures(failures)
    if comparison is not None and comparison.regressions:
        n = len(comparison.regressions)
        raise click.ClickException(f"{n} figure{'s' if n > 1 else ''} worse than the "
                                   f"baseline by more than {comparison.max_regression} points")


def write_report(folder, figures: dict, page, data: dict) -> None:
    """Save the figures as PNG, ``data`` as results.json and the page as index.html.

    Parameters
    ----------
    folder : path-like
        Created if needed; files of earlier reports are replaced, others left alone.
    figures : dict of str to matplotlib.figure.Figure
        By file stem.
    page : callable
        ``page(data, images) -> str``, images mapping each stem to its file name.
    data : dict
        The run's JSON form.
    """
    from ..core.fileio import atomic_path, atomic_write_text

    folder = Path(folder)
    images = {}
    for stem, figure in figures.items():
        images[stem] = f"{stem}.png"
        with atomic_path(folder / images[stem]) as tmp:
            figure.savefig(tmp, format="png")
    atomic_write_text(folder / "results.json", json.dumps(data, indent=2) + "\n")
    atomic_write_text(folder / "index.html", page(data, images))
    notice(f"report: {shown(folder / 'index.html')}")
