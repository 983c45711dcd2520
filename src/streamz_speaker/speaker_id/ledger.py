"""Training and target file lists: ``path[,label]`` lines, ``#`` comments and blank lines."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.fileio import atomic_write_text
from ..core.audio import AUDIO_EXTENSIONS
from ..core.errors import LedgerError

_LABEL = re.compile(r"^[A-Za-z0-9_.\-]+$")
#: A comment starts at a ``#`` that begins the line or follows a space or tab, so that
#: ``a.wav,bob   # note`` is a comment while a file named ``take#2.wav`` is not.
_COMMENT = re.compile(r"(?:^|\s)#")


@dataclass(frozen=True)
class LedgerEntry:
    """One audio file named by a list."""

    line: int                  # 1-based line number in the list
    raw_path: str              # the path as written
    path: Path                 # resolved: relative paths are taken from the list's folder
    label: str | None          # speaker label (integer or name), None when unlabelled


def split_comment(text: str) -> tuple[str, str]:
    """Split a list line into its content and its comment.

    Returns
    -------
    content : str
        The text before the comment, e.g. ``"a.wav,bob"``.
    comment : str
        The comment with the spaces before it, e.g. ``"   # note"``; empty when there is none.
    """
    match = _COMMENT.search(text)
    if match is None:
        return text, ""
    start = len(text[:match.end() - 1].rstrip())
    return text[:start], text[start:]


def parse_line(text: str, *, source: str, line: int, base: Path) -> LedgerEntry | None:
    """Parse one list line; None for blank lines and comment-only lines.

    Raises
    ------
    LedgerError
        Naming ``source:line`` and the problem.
    """
    content = split_comment(text)[0].strip()
    if not content:
        return None
    raw_path, label = content, None
    if "," in content:
        head, tail = (part.strip() for part in content.rsplit(",", 1))
        # A comma inside a file name: the tail is then the end of a path, not a label.
        if Path(tail).suffix.lower() not in AUDIO_EXTENSIONS:
            raw_path, label = head, tail
            if not label:
                raise LedgerError(f"{source}:{line}: empty label after the comma in {text!r}")
            if "," in head and Path(head).suffix.lower() not in AUDIO_EXTENSIONS:
                raise LedgerError(f"{source}:{line}: too many fields in {content!r}: expected "
                                  "path[,label] ('#' starts a comment)")
            if not _LABEL.match(label):
                raise LedgerError(f"{source}:{line}: malformed label {label!r} (use letters, "
                                  "digits, '_', '-' or '.')")
    if not raw_path:
        raise LedgerError(f"{source}:{line}: missing file path in {text!r}")
    path = Path(os.path.expanduser(raw_path))
    return LedgerEntry(line=line, raw_path=raw_path,
                       path=path if path.is_absolute() else base / path, label=label)


def read_ledger(path: os.PathLike | str, *, allow_empty: bool = True) -> list[LedgerEntry]:
    """Read a ``path[,label]`` list.

    Parameters
    ----------
    path : path-like
        The list file (UTF-8).
    allow_empty : bool
        When False, a list that names no audio file is an error.

    Returns
    -------
    list of LedgerEntry, in file order

    Raises
    ------
    LedgerError
        If the list is missing, unreadable, a folder, has a malformed line, or (unless
        ``allow_empty``) names no audio file.
    """
    path = Path(path)
    if path.is_dir():
        raise LedgerError(f"{path}: is a directory, not a file list")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LedgerError(f"{path}: file list not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise LedgerError(f"{path}: cannot read file list ({e})") from e
    base = path.resolve().parent
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = parse_line(line, source=str(path), line=number, base=base)
        if entry is not None:
            entries.append(entry)
    if not entries and not allow_empty:
        raise LedgerError(f"{path}: the list names no audio files (one per line: path[,label])")
    return entries


def write_labels(path: os.PathLike | str, labels: dict[int, str]) -> None:
    """Write labels into the lines of a list, atomically, keeping every other line as is.

    Parameters
    ----------
    path : path-like
        The list file.
    labels : dict
        1-based line number -> label for lines that are currently unlabelled.
    """
    if not labels:
        return
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, label in labels.items():
        entry = parse_line(lines[number - 1], source=str(path), line=number, base=Path("."))
        if entry is None:
            raise LedgerError(f"{path}:{number}: expected a file line to label")
        comment = split_comment(lines[number - 1])[1]
        lines[number - 1] = f"{entry.raw_path},{label}{comment}"
    atomic_write_text(path, "\n".join(lines) + "\n")


def remove_lines(path: os.PathLike | str, numbers: set[int]) -> None:
    """Drop the given 1-based lines from a list, atomically."""
    if not numbers:
        return
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    atomic_write_text(path, "".join(f"{line}\n" for i, line in enumerate(lines, start=1)
                                    if i not in numbers))


def append_entry(path: os.PathLike | str, audio: os.PathLike | str, label: str) -> str:
    """Append ``audio,label`` to a list atomically (the list is created when missing).

    The audio path is written relative to the list's folder when it lies below it.

    Returns
    -------
    str
        The line appended, without its newline.
    """
    path = Path(path)
    if not _LABEL.match(label):
        raise LedgerError(f"{path}: malformed label {label!r} (use letters, digits, '_', '-' "
                          "or '.')")
    audio = Path(audio).resolve()
    try:
        shown = audio.relative_to(path.resolve().parent)
    except ValueError:
        shown = audio
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write_text(path, f"{text}{shown},{label}\n")
    return f"{shown},{label}"
