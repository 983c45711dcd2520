"""Work mapped over files: joblib worker processes here, a dask.distributed cluster if asked."""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import install_hint
from .errors import ConfigError, MissingDependencyError, StreamzError, WorkerError

#: Environment variable naming the dask scheduler when ``--scheduler`` is not given.
SCHEDULER_ENV = "STREAMZ_SCHEDULER"
#: Deaths of local worker processes (killed, out of memory) after which the files still in
#: flight are reported as failed; on a cluster dask's own limit applies
#: (``distributed.scheduler.allowed-failures``, 3 by default).
ALLOWED_WORKER_DEATHS = 3
#: Seconds to wait for a dask scheduler to answer.
CONNECT_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class BatchConfig:
    """Where the files of a batch are worked on; never changes results."""

    jobs: int = 1                   # local worker processes; 1: in this process
    scheduler: str | None = None    # dask.distributed scheduler address, e.g. tcp://host:8786
    threads: int = 0                # model-call threads per worker; 0: cores / jobs (cluster: 1)

    def __post_init__(self):
        if self.jobs < 1:
            raise ConfigError(f"jobs must be >= 1, got {self.jobs}")
        if self.threads < 0:
            raise ConfigError(f"threads must be >= 0, got {self.threads}")
        if self.scheduler is not None and not self.scheduler.strip():
            raise ConfigError("scheduler address is empty")

    @property
    def in_process(self) -> bool:
        """Whether the work runs in this process (one job, no scheduler)."""
        return self.jobs == 1 and self.scheduler is None

    def worker_threads(self) -> int:
        """Model-call threads each worker gets, so that the workers do not oversubscribe.

        In this process (one job) 0 keeps each stage's own default (one thread per core);
        N local workers share the cores; a dask task gets one thread, as dask's workers
        set for the libraries they run (``--nthreads`` and ``--nworkers`` of
        ``dask worker`` choose the parallelism).
        """
        if self.threads or self.in_process:
            return self.threads
        if self.scheduler is not None:
            return 1
        return max(1, (os.cpu_count() or 1) // self.jobs)


@dataclass(frozen=True)
class Outcome:
    """What became of one item of a batch."""

    index: int                      # position of the item in the input
    value: object = None            # what the task returned; None when it failed
    error: StreamzError | None = None
    seconds: float = 0.0            # wall time of the task on its worker
    worker: str = ""                # "pid N" of a local process, or the dask worker address

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class FileProgress:
    """Progress-hook artifact of a batch: one file finished.

    Library batch functions call ``hook(step, artifact=FileProgress(...), completed=,
    total=)`` as each file finishes, so a caller can show files done, audio hours per hour
    and the time left.
    """

    path: str
    ok: bool                        # False: the file failed
    elapsed: float                  # wall seconds since the batch started (workers included)
    seconds: float = 0.0            # wall time of its task on its worker
    audio_seconds: float | None = None  # audio processed; None: unknown or nothing to do
    skipped: bool = False           # already done by an earlier run


def for_workers(path, config: BatchConfig) -> Path | None:
    """``path`` as the workers must be given it: absolute on a cluster, whose workers run
    in folders of their own; as it is otherwise (None stays None)."""
    if path is None or config.scheduler is None:
        return None if path is None else Path(path)
    return Path(os.path.abspath(path))


def without_path(message: str, path) -> str:
    """A per-file error message without the path it starts with, as given or absolute."""
    for prefix in (f"{path}: ", f"{os.path.abspath(path)}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def run_batch(task: Callable, items: Iterable, *, setup: Callable,
              config: BatchConfig = BatchConfig()) -> Iterator[Outcome]:
    """Run ``task(resources, item)`` for every item, on the workers ``config`` names.

    Each worker builds its resources (models, sessions) once with ``setup(threads)`` and
    keeps them for every item it gets, like a pool initializer. A task that raises a
    :class:`StreamzError` gives that item a failed :class:`Outcome`; the others go on.

    Parameters
    ----------
    task : callable
        ``task(resources, item) -> value``, a module-level function (workers import it).
    items : iterable
        Picklable work items (file paths, tuples).
    setup : callable
        ``setup(threads) -> resources``; hashable and comparable by value (a frozen
        dataclass), as workers keep the resources of the last setup they were given.
    config : BatchConfig
        One job: in this process. More: joblib's process pool. A scheduler: the dask
        cluster (needs the ``dask`` extra).

    Yields
    ------
    Outcome
        One per item, as they finish (their ``index`` gives the input order), so that the
        caller can write each output as soon as it is done.

    Raises
    ------
    MissingDependencyError
        A scheduler is given but dask.distributed is not installed.
    WorkerError
        The scheduler cannot be reached.
    """
    items = list(items)
    if not items:
        return
    threads = config.worker_threads()
    if config.scheduler is not None:
        yield from _on_cluster(task, items, setup, threads, config.scheduler)
    elif config.in_process:
        resources = setup(threads)
        for index, item in enumerate(items):
            yield _attempt(task, resources, index, item)
    else:
        yield from _in_processes(task, items, setup, threads, config.jobs)


def _attempt(task, resources, index: int, item) -> Outcome:
    start = time.perf_counter()
    try:
        value, error = task(resources, item), None
    except StreamzError as e:
        value, error = None, e
    return Outcome(index, value, error, time.perf_counter() - start, _worker_name())


def _worker_name() -> str:
    if "distributed" in sys.modules:          # imported by a dask worker, never here
        from distributed import get_worker

        try:
            return get_worker().address
        except ValueError:                    # not in a dask task
            pass
    return f"pid {os.getpid()}"


# Resources of the last setup a worker process was given (models loaded once per worker;
# dask runs several tasks of a process in threads, hence the lock).
_resources: dict = {}
_resources_lock = threading.Lock()


def _work(task, setup, threads: int, index: int, item, folder: str | None = None) -> Outcome:
    """Runs on a worker: the task with this process's resources for ``setup``.

    ``folder``: the caller's working folder, which relative paths in ``item`` are taken
    from. Local workers outlive one batch (joblib reuses them), so a worker started for an
    earlier batch may sit in another folder.
    """
    if folder is not None and os.getcwd() != folder:
        os.chdir(folder)
    key = (setup, threads)
    with _resources_lock:
        if key not in _resources:
            _resources.clear()
            _resources[key] = setup(threads)
        resources = _resources[key]
    return _attempt(task, resources, index, item)


def _watch_parent(parent: int) -> None:
    """Started in each local worker: it ends when the process that started it is gone.

    loky's workers (and the resource trackers they hold open) outlive a parent killed with
    SIGKILL, and would go on with the files they had queued while a resumed batch does them
    again; a worker that never got a file would stay for good.
    """
    threading.Thread(target=_exit_without, args=(parent,), daemon=True,
                     name="streamz-parent-watch").start()


def _exit_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _in_processes(task, items: list, setup, threads: int, jobs: int) -> Iterator[Outcome]:
    from joblib import Parallel, delayed, parallel_config

    pending = dict(enumerate(items))
    deaths = 0
    while pending:
        todo = list(pending.items())
        try:
            with parallel_config(backend="loky", initializer=_watch_parent,
                                 initargs=(os.getpid(),)):
                outcomes = Parallel(n_jobs=jobs, return_as="generator_unordered")(
                    delayed(_work)(task, setup, threads, index, item, os.getcwd())
                    for index, item in todo)
            for outcome in outcomes:
                del pending[outcome.index]
                yield outcome
        except BrokenProcessPool as e:
            # a worker died: the files it and the others had in hand go to a new pool
            deaths += 1
            if deaths >= ALLOWED_WORKER_DEATHS:
                for index in list(pending):
                    del pending[index]
                    yield Outcome(index, error=WorkerError(
                        f"worker processes died {deaths} times (killed or out of memory) "
                        f"while this file was in flight: {e}"))


def _on_cluster(task, items: list, setup, threads: int, address: str) -> Iterator[Outcome]:
    try:
        from distributed import Client, KilledWorker, as_completed
    except ImportError as e:
        raise MissingDependencyError(
            "--scheduler needs dask.distributed, which is not installed: "
            + install_hint("dask")) from e
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise WorkerError(f"cannot reach the dask scheduler at {address}: {e}") from e
    with client:
        futures = [client.submit(_work, task, setup, threads, index, item, pure=False)
                   for index, item in enumerate(items)]
        index_of = {future.key: index for index, future in enumerate(futures)}
        # as_completed drops each future once yielded: results are not kept on the cluster
        finished, futures = as_completed(futures, loop=client.loop), None
        for future in finished:
            index = index_of.pop(future.key)
            try:
                outcome = future.result()
            except KilledWorker as e:     # its workers died each time dask retried it
                outcome = Outcome(index, error=WorkerError(
                    f"the dask workers died while working on this file: {e}"))
            yield outcome
