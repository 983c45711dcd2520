"""Command-line interface: parse options, call the library, format the results."""

from __future__ import annotations

import logging
import sys

import click

from ..errors import StreamzError
from .diarization import diarize, models, score
from .speaker_id import check_embeddings, cluster_embeddings, enroll, evaluate_cmd, identify, train


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


# speaker identification
cli.add_command(train)
cli.add_command(identify)
cli.add_command(evaluate_cmd)
cli.add_command(check_embeddings)
cli.add_command(cluster_embeddings)
cli.add_command(enroll)
# diarization
cli.add_command(diarize)
cli.add_command(score)
cli.add_command(models)


def main():
    """Entry point of the ``streamz`` console script."""
    cli(prog_name="streamz")
