"""Command-line interface: parse options, call the library, format the results."""

from __future__ import annotations

import click

from ..core import DISTRIBUTION
from ..core.errors import StreamzError
from ._shared import verbosity_options
from .diarization import diarize, models, score
from .serve import serve, stream
from .speaker_id import (check_embeddings, cluster_embeddings, enroll, evaluate_cmd, identify,
                         info, train)


#: Exit status of a run stopped by Ctrl-C (128 + SIGINT), the shell convention.
EXIT_INTERRUPTED = 130


class _Group(click.Group):
    """Maps library errors to ``Error: ...`` (exit 1) and Ctrl-C to exit status 130."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StreamzError as e:
            raise click.ClickException(str(e)) from e
        except KeyboardInterrupt:
            # every write is atomic: an interrupted run leaves no partial file behind
            click.echo("\nInterrupted.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION)
@verbosity_options
def cli():
    """StreamZ: incremental speaker identification and speaker diarization."""


# speaker identification
cli.add_command(train)
cli.add_command(identify)
cli.add_command(evaluate_cmd)
cli.add_command(check_embeddings)
cli.add_command(cluster_embeddings)
cli.add_command(enroll)
cli.add_command(info)
# diarization
cli.add_command(diarize)
cli.add_command(score)
cli.add_command(models)
# live tracking
cli.add_command(serve)
cli.add_command(stream)


def main():
    """Entry point of the ``streamz`` console script."""
    cli(prog_name="streamz")
