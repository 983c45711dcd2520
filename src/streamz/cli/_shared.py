"""Options and output helpers shared by the command modules of the CLI."""

from __future__ import annotations

import logging
import os
import sys

import click

DEFAULT_MODEL = "models/model.npz"
_QUIET, _VERBOSE = "streamz.quiet", "streamz.verbose"


def _set_quiet(ctx, param, value):
    if value:
        ctx.meta[_QUIET] = True


def _set_verbose(ctx, param, value):
    # ctx.meta is shared by the group and the command: -v counts wherever it is given
    ctx.meta[_VERBOSE] = ctx.meta.get(_VERBOSE, 0) + value
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(
        [logging.WARNING, logging.INFO, logging.DEBUG][min(ctx.meta[_VERBOSE], 2)])


def verbosity_options(f):
    """``-q/--quiet`` and ``-v/--verbose``, accepted before or after the command name."""
    f = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                     help="No progress bars or notices: results, warnings and errors only.")(f)
    return click.option("-v", "--verbose", count=True, expose_value=False,
                        callback=_set_verbose, help="More logging on stderr (-vv for debug).")(f)


def is_quiet() -> bool:
    """Whether ``-q`` was given, before or after the command name."""
    return click.get_current_context().meta.get(_QUIET, False)


def notice(message: str) -> None:
    """Tell the user what a run did, on stderr, unless ``-q``."""
    if not is_quiet():
        click.echo(message, err=True)


def warn(message: str) -> None:
    """A warning on stderr, printed even under ``-q``."""
    click.echo(f"Warning: {message}", err=True)


class Progress:
    """A stderr progress bar driven by the library's ``hook(step, completed=, total=)`` calls.

    Silent under ``-q``.
    """

    def __init__(self):
        self.quiet = is_quiet()
        self._bar = None
        self._step = None

    def __call__(self, step, artifact=None, total=None, completed=None):
        if self.quiet or not total or completed is None:  # no bar for a step with no work
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


def cache_options(f):
    """``--cache-dir``, ``--feature-cache`` and ``--no-cache-wav``."""
    f = click.option("--no-cache-wav", is_flag=True,
                     help="Reuse cached WAVs of MP3s but write no new ones.")(f)
    f = click.option("--cache-dir", type=click.Path(file_okay=False), default="cache",
                     show_default=True, help="Where decoded MP3s are cached as WAV.")(f)
    f = click.option("--feature-cache", type=click.Path(file_okay=False),
                     default="feature_cache", show_default=True,
                     help="Where feature matrices are cached (.npy).")(f)
    return f


def cache_config(cache_dir, feature_cache, no_cache_wav):
    """The library's CacheConfig from the values of :func:`cache_options`."""
    from pathlib import Path

    from ..extraction import CacheConfig

    return CacheConfig(feature_dir=Path(feature_cache), wav_dir=Path(cache_dir),
                       write_wav=not no_cache_wav)


def model_option(f):
    """``--model``: the speaker model file."""
    return click.option("--model", "model_path", type=click.Path(),
                        default=DEFAULT_MODEL, show_default=True,
                        help="Speaker model file (.npz).")(f)


def threshold_option(f):
    """``--threshold``: the confidence needed to name a speaker."""
    return click.option("--threshold", type=click.FloatRange(0, 1), default=0.8,
                        show_default=True,
                        help="Confidence needed to name a speaker; below it: unknown.")(f)


def load_speaker_model(model_path):
    """The speaker model at ``model_path`` (library errors propagate)."""
    from ..persistence import load_model

    return load_model(model_path)


def shown(path) -> str:
    """A path as every command prints it: relative to the current folder when inside it.

    Paths outside the current folder are printed absolute, so list entries (resolved from
    their list's folder) and command-line arguments (as typed) read the same way.
    """
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative == os.pardir or relative.startswith(os.pardir + os.sep) \
        else relative


def plural(n: int, noun: str) -> str:
    """``"1 file"``, ``"3 files"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def report_failures(failures):
    """Print per-file failures to stderr; exit status 1 when there were any.

    Parameters
    ----------
    failures : list of (path, message or exception)
        The message may start with the path; it is printed once, as :func:`shown` writes it.
    """
    for path, message in failures:
        message = str(message)
        prefix = f"{path}: "
        problem = message[len(prefix):] if message.startswith(prefix) else message
        click.echo(f"Error: {shown(path)}: {problem}", err=True)
    if failures:
        click.echo(f"{plural(len(failures), 'file')} failed.", err=True)
        sys.exit(1)
