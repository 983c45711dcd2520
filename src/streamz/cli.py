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


def main():
    cli(prog_name="streamz")
