"""Options and output helpers shared by the command modules of the CLI."""

from __future__ import annotations

import json
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
    """Progress on stderr, driven by the library's ``hook(step, artifact=, completed=, total=)``.

    A step with a total gets a bar. A step over files (whose calls carry a
    :class:`streamz_speaker.core.workers.FileProgress`) gets a line: files done of the total, failed and
    skipped ones, audio hours processed per hour and the time left; on a terminal the line
    is redrawn, elsewhere (a log) one line is written per file. Silent under ``-q``; with
    ``as_json``, only the file lines, as JSON objects (``{"event": "progress", ...}``).
    """

    def __init__(self, as_json: bool = False):
        self.quiet = is_quiet()
        self.as_json = as_json
        self._bar = None
        self._step = None
        self._files = None          # _FileRate of the file step under way
        self._tty = sys.stderr.isatty()

    def __call__(self, step, artifact=None, total=None, completed=None):
        from ..core.workers import FileProgress

        if self.quiet:
            return
        if isinstance(artifact, FileProgress):
            self._file_done(step, artifact, completed, total)
            return
        if self.as_json or not total or completed is None:  # no bar for a step with no work
            return
        if step != self._step:
            self.close()
            self._step = step
            self._bar = click.progressbar(length=total, label=step, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(completed - self._bar.pos)

    def _file_done(self, step, artifact, completed, total):
        if self._files is None or self._files.step != step:
            self.close()
            self._step = step
            self._files = _FileRate(step)
        rate = self._files.add(artifact)
        if self.as_json:
            click.echo(json.dumps({"event": "progress", "step": step, "completed": completed,
                                   "total": total, **rate.figures(artifact, completed, total)}),
                       err=True)
        elif self._tty:
            click.echo(f"\r{rate.line(artifact, completed, total)}\x1b[K", nl=False, err=True)
        elif not artifact.skipped:      # a log: a line per file worked on
            click.echo(rate.line(artifact, completed, total), err=True)

    def close(self):
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        if self._files is not None and self._tty and not self.as_json:
            click.echo(err=True)    # end the redrawn line
        self._files = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _FileRate:
    """Files finished in one step of a run: counts, audio processed, time left."""

    def __init__(self, step: str):
        self.step = step
        self.succeeded = self.failed = self.skipped = 0
        self.audio_seconds = 0.0

    def add(self, artifact) -> "_FileRate":
        if artifact.skipped:
            self.skipped += 1
        elif artifact.ok:
            self.succeeded += 1
            self.audio_seconds += artifact.audio_seconds or 0.0
        else:
            self.failed += 1
        return self

    def figures(self, artifact, completed: int, total: int) -> dict:
        """Machine-readable progress after ``artifact`` (see :class:`Progress`)."""
        elapsed = artifact.elapsed
        # from the files done so far (failures are quick: they do not count)
        eta = (total - completed) * elapsed / self.succeeded if self.succeeded else None
        return {"file": shown(artifact.path),
                "status": "skipped" if artifact.skipped else "done" if artifact.ok
                else "failed",
                "failed": self.failed, "skipped": self.skipped,
                "elapsed_seconds": round(elapsed, 1),
                "audio_hours_per_hour": round(self.audio_seconds / elapsed, 2)
                if elapsed > 0 else None,
                "eta_seconds": None if eta is None else round(eta)}

    def line(self, artifact, completed: int, total: int) -> str:
        """The same for a person: ``files 12/340 (1 failed) · 41.3 audio h/h · ETA 0:03:12``."""
        f = self.figures(artifact, completed, total)
        extra = ", ".join(f"{n} {what}" for n, what in ((self.failed, "failed"),
                                                       (self.skipped, "skipped")) if n)
        parts = [f"{self.step} {completed}/{total}" + (f" ({extra})" if extra else "")]
        if self.audio_seconds:
            parts.append(f"{f['audio_hours_per_hour']:.1f} audio h/h")
        if f["eta_seconds"] is not None and completed < total:
            parts.append(f"ETA {_hms(f['eta_seconds'])}")
        return " · ".join(parts + [f"{f['status']}: {f['file']}"])


def _hms(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def batch_options(f):
    """``--jobs`` and ``--scheduler``: where the files of a command are worked on."""
    from ..core.workers import SCHEDULER_ENV

    f = click.option("--scheduler", envvar=SCHEDULER_ENV, default=None, metavar="ADDRESS",
                     help="Run on this dask.distributed cluster (tcp://HOST:PORT; default "
                          f"${SCHEDULER_ENV}); needs the dask extra. Caches and outputs must "
                          "be paths the workers share.")(f)
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=1,
                        show_default=True,
                        help="Files worked on at once, in worker processes that share the "
                             "cores.")(f)


def batch_config(jobs: int, scheduler, threads: int = 0):
    """The library's BatchConfig from the values of :func:`batch_options`."""
    from ..core.workers import BatchConfig

    if scheduler is not None and jobs != 1:
        raise click.UsageError("--jobs is for this machine; with --scheduler the cluster's "
                               "workers decide (dask worker --nworkers/--nthreads)")
    return BatchConfig(jobs=jobs, scheduler=scheduler or None, threads=threads)


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

    from ..speaker_id.extraction import CacheConfig

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
    from ..speaker_id.persistence import load_model

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
    from ..core.workers import without_path

    for path, message in failures:
        click.echo(f"Error: {shown(path)}: {without_path(str(message), path)}", err=True)
    if failures:
        click.echo(f"{plural(len(failures), 'file')} failed.", err=True)
        sys.exit(1)
