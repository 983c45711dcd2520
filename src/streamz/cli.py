"""Command-line interface: parse options, call the library, format the results."""

from __future__ import annotations

import logging
import sys

import click

from .errors import StreamzError


class _Group(click.Group):
    """Maps library errors to ``Error: ...`` with exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StreamzError as e:
            raise click.ClickException(str(e)) from e


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streamz")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def cli(ctx, verbose, quiet):
    """StreamZ: incremental speaker identification and speaker diarization."""
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"quiet": quiet}


class Progress:
    """A stderr progress bar driven by the library's ``hook(step, completed=, total=)`` calls."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self._bar = None
        self._step = None

    def __call__(self, step, artifact=None, total=None, completed=None):
        if self.quiet or total is None or completed is None:
            return
        if step != self._step:
            self.close()
            self._step = step
            self._bar = click.progressbar(length=total, label=step, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(completed - self._bar.pos)

    def close(self):
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@cli.command()
@click.argument("reference", type=click.Path(dir_okay=False))
@click.argument("hypothesis", type=click.Path(dir_okay=False))
@click.option("--uem", type=click.Path(dir_okay=False),
              help="Scored regions (uri channel start end); default: extent of both RTTMs.")
@click.option("--collar", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Seconds not scored around reference boundaries (collar/2 on each side).")
@click.option("--skip-overlap", is_flag=True, help="Do not score overlapped reference speech.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def score(reference, hypothesis, uem, collar, skip_overlap, as_json):
    """Diarization error rate of HYPOTHESIS against REFERENCE (RTTM files).

    Prints missed speech, false alarm and speaker confusion per file and in total, after
    the optimal one-to-one mapping of hypothesis to reference speakers.

    \b
    Example:
        streamz score ref.rttm hyp.rttm --uem all.uem --collar 0.25
    """
    import json
    import warnings

    from .diarization.rttm import read_rttm
    from .scoring import read_uem
    from .scoring import score as score_files

    ref = read_rttm(reference)
    hyp = read_rttm(hypothesis)
    uem_map = read_uem(uem) if uem else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        per_file, total = score_files(ref, hyp, uem=uem_map, collar=collar,
                                      skip_overlap=skip_overlap)
    for w in caught:
        click.echo(f"Warning: {w.message}", err=True)
    if as_json:
        click.echo(json.dumps({"collar": collar, "skip_overlap": skip_overlap,
                               "files": {u: r.as_dict() for u, r in per_file.items()},
                               "total": total.as_dict()}, indent=2))
        return
    width = max([len(u) for u in per_file] + [5])
    click.echo(f"{'file':<{width}}  {'DER%':>7}  {'missed%':>7}  {'FA%':>7}  {'conf%':>7}  "
               f"{'speech_s':>9}")
    for uri, r in list(per_file.items()) + [("TOTAL", total)]:
        pct = (lambda x: 100 * x / r.total) if r.total else (lambda x: 0.0)
        click.echo(f"{uri:<{width}}  {100 * r.der:7.2f}  {pct(r.missed):7.2f}  "
                   f"{pct(r.false_alarm):7.2f}  {pct(r.confusion):7.2f}  {r.total:9.3f}")


def main():
    cli(prog_name="streamz")
