"""Atomic writes, content hashes and an inter-process lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
import time
from pathlib import Path

from .errors import LockError


def sha256_file(path: os.PathLike | str, *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: os.PathLike | str):
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    A new file gets the permissions a plain ``open(path, "w")`` would give it (0666 less
    the umask); a file that is replaced keeps its permission bits. On an exception,
    KeyboardInterrupt included, the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temporary(path)
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _create_temporary(path: Path) -> Path:
    """Create an empty, uniquely named hidden file beside ``path``.

    Unlike ``tempfile.mkstemp`` (always 0600) the file is created with mode 0666, which the
    kernel reduces by the process umask, as for any file the user creates.
    """
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def atomic_write_text(path: os.PathLike | str, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def file_lock(path: os.PathLike | str, *, timeout: float = 0.0, poll: float = 0.2):
    """Hold an exclusive advisory lock on ``path`` (created if needed).

    Parameters
    ----------
    path : path-like
        The lock file, conventionally ``<model>.lock``.
    timeout : float
        Seconds to wait for another holder; 0 fails at once.

    Raises
    ------
    LockError
        If the lock is still held by another process after ``timeout`` seconds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"{path}: locked by another streamz process; try again when it "
                        "has finished (or pass --wait SECONDS)") from None
                time.sleep(poll)
        yield
    finally:
        fh.close()
