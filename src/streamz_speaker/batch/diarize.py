"""Many recordings diarized on workers; into a folder: resumable, crash-safe, with a manifest."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from ..core.fileio import atomic_write_text, file_lock
from ..core.audio import AUDIO_EXTENSIONS
from ..core.workers import BatchConfig, FileProgress, for_workers, run_batch, without_path
from ..diarization.config import DiarizationConfig, RuntimeConfig
from ..core.errors import StreamzError

#: The record of a batch folder: one JSON object per line, per file diarized or failed.
MANIFEST_NAME = "manifest.jsonl"
#: Arguments with these suffixes are lists of audio files, one per line.
LIST_SUFFIXES = (".txt", ".lst", ".list")
#: Temporary files that an atomic write killed midway leaves (``_fileio.atomic_path``).
_STALE_TEMPORARY = re.compile(r"^\..+\.(rttm|json|srt|vtt|txt)\.[0-9a-f]{8}\.tmp$")


def expand_inputs(args) -> list[Path]:
    """The audio files that command-line arguments name.

    Parameters
    ----------
    args : iterable of path-like
        Audio files; folders (their audio files, by name, not recursing into subfolders; a
        folder without any is kept, to fail like a file that is not audio);
        or lists (``.txt``, ``.lst``, ``.list``: one audio path per line, relative to the
        list's folder, ``#`` comments, as training lists are read; a label after a comma
        is ignored).

    Returns
    -------
    list of Path
        In the order given. Paths that do not exist are kept (their error is per file).

    Raises
    ------
    LedgerError
        A list has a malformed line.
    """
    from ..speaker_id.ledger import read_ledger

    paths = []
    for arg in map(Path, args):
        if arg.is_dir():
            found = sorted(p for p in arg.iterdir()
                           if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            paths += found or [arg]     # no audio there: the folder fails as a file would
        elif arg.suffix.lower() in LIST_SUFFIXES and arg.is_file():
            paths += [entry.path for entry in read_ledger(arg)]
        else:
            paths.append(arg)
    return paths


def uri_of(path: os.PathLike | str) -> str:
    """A recording's RTTM uri (and output name): its file name without the extension."""
    return Path(path).stem.replace(" ", "_") or "audio"


@dataclass(frozen=True)
class DiarizeJob:
    """How every file of a batch is diarized; each worker loads its models once from it."""

    config: DiarizationConfig = field(default_factory=DiarizationConfig)
    models_dir: os.PathLike | str | None = None   # --models-dir; None: $STREAMZ_MODELS_DIR
    speaker_model: os.PathLike | str | None = None  # --identify: name speakers after it
    threshold: float = 0.8              # --identify: confidence needed to name a speaker
    #: Stage progress (``pipeline.diarize``'s hook); used only when the batch runs in this
    #: process, as a worker elsewhere cannot call back.
    hook: Callable | None = field(default=None, compare=False, repr=False)

    def __call__(self, threads: int) -> "_Worker":
        from ..diarization import load_models

        runtime = RuntimeConfig(intra_op_threads=threads)
        speaker_model = extractor = None
        if self.speaker_model is not None:
            from ..speaker_id.extraction import FeatureExtractor
            from ..speaker_id.persistence import load_model

            speaker_model = load_model(self.speaker_model)
            extractor = FeatureExtractor.for_config(speaker_model.feature_config)
        return _Worker(self, runtime, load_models(self.models_dir, runtime), speaker_model,
                       extractor)


@dataclass(frozen=True)
class _Worker:
    job: DiarizeJob
    runtime: RuntimeConfig
    models: object
    speaker_model: object
    extractor: object


@dataclass(frozen=True)
class ExtraOutput:
    """A second output per file, made in this process from the file's diarization.

    For instance a labelled transcript (``streamz diarize --transcript``): ``check`` runs
    before the file is diarized and ``render`` after; either raising a
    :class:`StreamzError` fails the file, and nothing is written for it.
    """

    name: Callable                  # name(path) -> its file name beside URI.rttm ("a.srt")
    check: Callable                 # check(path) -> None
    render: Callable                # render(path, DiarizationResult) -> (text, manifest fields)

    def exists(self, out_dir: Path, path: Path) -> bool:
        try:
            return (out_dir / self.name(path)).exists()
        except StreamzError:        # check() will say why
            return False


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file of :func:`diarize_batch`."""

    index: int                      # position in the input
    path: Path
    result: object = None           # DiarizationResult; None when failed or skipped
    matches: list | None = None     # --identify: speaker_id.naming.ClusterMatch per cluster
    error: StreamzError | None = None
    seconds: float = 0.0            # wall time on its worker
    skipped: bool = False           # its RTTM in the output folder was complete already
    extra: str | None = None        # the text of the ExtraOutput, when one was asked for


def _diarize_task(worker: _Worker, path: Path):
    from ..diarization import diarize

    result = diarize(path, models=worker.models, config=worker.job.config,
                     runtime=worker.runtime, uri=uri_of(path), hook=worker.job.hook)
    if worker.speaker_model is None:
        return result, None
    from ..core.audio import load_audio
    from ..speaker_id.naming import name_speakers

    segments, matches = name_speakers(result.segments, load_audio(path), worker.speaker_model,
                                      threshold=worker.job.threshold,
                                      extractor=worker.extractor)
    return replace(result, segments=tuple(segments)), matches


def diarize_batch(paths, job: DiarizeJob = DiarizeJob(), *, out_dir=None,
                  batch: BatchConfig = BatchConfig(), overwrite: bool = False,
                  lock_timeout: float = 0.0, hook=None,
                  extra: ExtraOutput | None = None) -> Iterator[FileOutcome]:
    """Diarize many files on the workers ``batch`` names.

    With ``out_dir``, each file's RTTM is written there (``URI.rttm``, atomically, as soon
    as the file is done) and each file's outcome is appended to ``out_dir/manifest.jsonl``:
    ``file`` (absolute path), ``uri``, ``output``, ``status`` (``done`` or ``failed``),
    ``error``, ``seconds``, ``audio_seconds``, ``realtime_factor``, ``worker``, ``time``.
    Files whose RTTM is already there are skipped (a killed run leaves none half written),
    so running the same batch again resumes it. One batch at a time holds the folder.

    Parameters
    ----------
    paths : sequence of path-like
        Audio files (see :func:`expand_inputs`); their uris must be distinct. The manifest
        names each by its absolute path (links not followed).
    job : DiarizeJob
    out_dir : path-like, optional
        The output folder (created if needed); None: results are only yielded.
    batch : BatchConfig
        Local worker processes or a dask cluster (``out_dir`` needs only be reachable
        from this process: workers return results, this process writes them).
    overwrite : bool
        Diarize every file again, replacing the RTTMs there.
    lock_timeout : float
        Seconds to wait for another batch holding ``out_dir``.
    hook : callable, optional
        ``hook("files", artifact=FileProgress, completed=, total=)`` per file.
    extra : ExtraOutput, optional
        A second output per file (with ``out_dir``: ``extra.name(path)``, written before
        the RTTM; a file counts as done when both are there). A file that ``extra.check``
        refuses is not diarized; one that ``extra.render`` refuses fails with nothing
        written.

    Yields
    ------
    FileOutcome
        Skipped files first, then the others as they finish.

    Raises
    ------
    LockError
        Another batch holds ``out_dir``.
    """
    paths = [Path(p) for p in paths]
    started = time.monotonic()
    if not batch.in_process:
        job = replace(job, hook=None, models_dir=for_workers(job.models_dir, batch),
                      speaker_model=for_workers(job.speaker_model, batch))
    if out_dir is None:
        yield from _run(paths, list(range(len(paths))), job, batch, hook, None, started, extra)
        return
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(out_dir / f"{MANIFEST_NAME}.lock", timeout=lock_timeout):
        for name in os.listdir(out_dir):
            if _STALE_TEMPORARY.match(name):
                os.unlink(out_dir / name)
        manifest = Manifest(out_dir / MANIFEST_NAME)
        recorded = {r.get("file") for r in manifest.records() if r.get("status") == "done"}
        todo, skipped = [], 0
        for index, path in enumerate(paths):
            output = out_dir / f"{uri_of(path)}.rttm"
            if overwrite or not output.exists() or (extra is not None
                                                     and not extra.exists(out_dir, path)):
                todo.append(index)
                continue
            if str(path.absolute()) not in recorded:   # written, then killed before recording
                manifest.append(_record(path, output, "done", note="output found complete"))
            skipped += 1
            _progress(hook, FileProgress(str(path), True, time.monotonic() - started,
                                         skipped=True), skipped, len(paths))
            yield FileOutcome(index, path, skipped=True)
        yield from _run(paths, todo, job, batch, hook, (out_dir, manifest), started, extra)


def _refused(paths, todo, extra):
    """Files whose ``extra.check`` fails: reported (and recorded) without being diarized."""
    if extra is None:
        return todo, []
    kept, refused = [], []
    for index in todo:
        try:
            extra.check(paths[index])
            kept.append(index)
        except StreamzError as e:
            refused.append((index, e))
    return kept, refused


def _run(paths, todo, job, batch, hook, destination, started,
         extra=None) -> Iterator[FileOutcome]:
    from ..diarization.rttm import write_rttm

    done = len(paths) - len(todo)
    todo, refused = _refused(paths, todo, extra)
    for index, error in refused:
        path = paths[index]
        if destination is not None:
            out_dir, manifest = destination
            manifest.append(_record(path, out_dir / f"{uri_of(path)}.rttm", "failed",
                                    error=error))
        done += 1
        _progress(hook, FileProgress(str(path), False, time.monotonic() - started), done,
                  len(paths))
        yield FileOutcome(index, path, error=error)
    for outcome in run_batch(_diarize_task, [for_workers(paths[i], batch) for i in todo],
                             setup=job, config=batch):
        index = todo[outcome.index]
        path = paths[index]
        result, matches = outcome.value if outcome.ok else (None, None)
        error, text, fields = outcome.error, None, {}
        if outcome.ok and extra is not None:
            try:
                text, fields = extra.render(path, result)
            except StreamzError as e:
                error, result, matches = e, None, None
        ok = error is None
        if destination is not None:
            out_dir, manifest = destination
            output = out_dir / f"{uri_of(path)}.rttm"
            if ok:
                if extra is not None:    # first: the RTTM marks the file done
                    atomic_write_text(out_dir / extra.name(path), text)
                write_rttm(output, result.segments, result.uri)
            manifest.append(_record(path, output, "done" if ok else "failed",
                                    outcome=outcome, result=result, error=error,
                                    fields=fields))
        done += 1
        _progress(hook, FileProgress(str(path), ok, time.monotonic() - started,
                                     outcome.seconds, result.duration if ok else None),
                  done, len(paths))
        yield FileOutcome(index, path, result, matches, error, outcome.seconds, extra=text)


def _progress(hook, artifact: FileProgress, completed: int, total: int) -> None:
    if hook is not None:
        hook("files", artifact=artifact, completed=completed, total=total)


def _record(path: Path, output: Path, status: str, *, outcome=None, result=None,
            note: str | None = None, error=None, fields=None) -> dict:
    record = {"file": str(path.absolute()), "uri": uri_of(path), "output": output.name,
              "status": status}
    record.update(fields or {})
    error = error if error is not None else getattr(outcome, "error", None)
    if error is not None:               # without the path the record already gives
        record["error"] = without_path(str(error), path)
    if outcome is not None:
        record["seconds"] = round(outcome.seconds, 3)
        if result is not None:
            record["audio_seconds"] = round(result.duration, 3)
            record["realtime_factor"] = round(result.duration / max(outcome.seconds, 1e-9), 2)
        record["worker"] = outcome.worker
    if note is not None:
        record["note"] = note
    record["time"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return record


class Manifest:
    """A batch folder's JSON-lines record, appended one line per file outcome.

    A line cut short by a crash is ignored when reading, and ended before the next append.

    Parameters
    ----------
    path : path-like
        The ``manifest.jsonl`` file (created by the first append).
    """

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb+") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")

    def records(self) -> list[dict]:
        """Every complete, readable record, oldest first."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def append(self, record: dict) -> None:
        """Add one record, on disk before this returns."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with open(self.path, "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
