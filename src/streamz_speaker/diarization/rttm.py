"""Speaker segments: from discrete diarization, to and from RTTM."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..core.fileio import atomic_write_text
from ..core.errors import RttmError
from .config import FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS


@dataclass(frozen=True)
class Segment:
    """One speaker turn, in seconds."""

    start: float
    end: float
    label: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def speaker_label(index: int) -> str:
    """``SPEAKER_00``, ``SPEAKER_01``, ... (pyannote's naming)."""
    return f"SPEAKER_{index:02d}"


def to_segments(discrete: np.ndarray, *, frame_step: float = FRAME_STEP_SECONDS,
                frame_duration: float = FRAME_DURATION_SECONDS, start: float = 0.0,
                labels: Sequence[str] | None = None,
                duration: float | None = None) -> list[Segment]:
    """Convert a discrete diarization into speaker turns.

    As pyannote's ``Binarize`` (onset = offset = 0.5): frame ``i`` stands for the time of its
    middle, ``start + i * frame_step + frame_duration / 2``; a turn runs from the middle of its
    first active frame to the middle of the first inactive frame after it (or of the last
    frame).

    Parameters
    ----------
    discrete : ndarray of shape (num_frames, num_speakers)
        Binary activity (> 0.5 is active).
    frame_step, frame_duration : float
        Frame geometry in seconds.
    start : float
        Time of the start of frame 0, in seconds.
    labels : sequence of str, optional
        One label per column. By default the speakers that have at least one turn are named
        ``SPEAKER_00``, ``SPEAKER_01``, ... in column order.
    duration : float, optional
        Clip turns to ``[0, duration]`` seconds (e.g. the length of the recording).

    Returns
    -------
    segments : list of Segment
        Sorted by start time, then end time, then label.
    """
    discrete = np.asarray(discrete)
    if discrete.ndim != 2:
        raise ValueError(f"expected discrete diarization of shape (num_frames, num_speakers), "
                         f"got {discrete.shape}")
    num_frames, num_speakers = discrete.shape
    if labels is not None and len(labels) != num_speakers:
        raise ValueError(f"got {len(labels)} labels for {num_speakers} speakers")
    if num_frames == 0:
        return []
    times = start + np.arange(num_frames) * frame_step + 0.5 * frame_duration
    active = discrete > 0.5
    padded = np.zeros((num_frames + 2, num_speakers), dtype=np.int8)
    padded[1:-1] = active
    edges = np.diff(padded, axis=0)                     # (num_frames + 1, num_speakers)
    segments = []
    next_label = 0
    for k in range(num_speakers):
        onsets = np.flatnonzero(edges[:, k] == 1)
        offsets = np.flatnonzero(edges[:, k] == -1)
        turns = []
        for i, j in zip(onsets, offsets):
            t0, t1 = times[i], times[min(j, num_frames - 1)]
            if duration is not None:
                t0, t1 = max(t0, 0.0), min(t1, duration)
            if t1 > t0:
                turns.append((float(t0), float(t1)))
        if not turns:
            continue
        if labels is not None:
            label = labels[k]
        else:
            label = speaker_label(next_label)
            next_label += 1
        segments.extend(Segment(t0, t1, label) for t0, t1 in turns)
    segments.sort(key=lambda s: (s.start, s.end, s.label))
    return segments


def format_rttm(segments: Iterable[Segment], uri: str) -> str:
    """RTTM text, one ``SPEAKER`` line per segment, each ending with a newline.

    Times are printed with millisecond precision:
    ``SPEAKER {uri} 1 {start:.3f} {duration:.3f} <NA> <NA> {label} <NA> <NA>``.
    """
    if not uri or any(c.isspace() for c in uri):
        raise ValueError(f"RTTM uri must be non-empty without whitespace, got {uri!r}")
    lines = []
    for s in segments:
        if any(c.isspace() for c in s.label) or not s.label:
            raise ValueError(f"RTTM label must be non-empty without whitespace, got {s.label!r}")
        lines.append(f"SPEAKER {uri} 1 {s.start:.3f} {s.duration:.3f} <NA> <NA> {s.label} "
                     "<NA> <NA>\n")
    return "".join(lines)


def write_rttm(path: os.PathLike | str, segments: Iterable[Segment], uri: str) -> None:
    """Write :func:`format_rttm` output to ``path`` atomically."""
    atomic_write_text(path, format_rttm(segments, uri))


def text_records(path: os.PathLike | str, kind: str):
    """Yield ``("path:line", line, fields)`` for each non-blank, non-``;;`` line of a file.

    Raises
    ------
    RttmError
        If the file cannot be read (``kind`` names the format in the message).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RttmError(f"{path}: cannot read {kind} file: {e}") from e
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if fields and not fields[0].startswith(";;"):
            yield f"{path}:{lineno}", line, fields


def read_rttm(path: os.PathLike | str) -> dict[str, list[Segment]]:
    """Read the ``SPEAKER`` lines of an RTTM file.

    Blank lines, ``;;`` comments and other record types (``SPKR-INFO``, ...) are skipped.

    Parameters
    ----------
    path : path-like
        RTTM file.

    Returns
    -------
    segments : dict of str to list of Segment
        Turns of each file (uri), in file order; uris in order of first appearance.

    Raises
    ------
    RttmError
        If the file cannot be read or a ``SPEAKER`` line is malformed; the message names the
        file and the line number.
    """
    out: dict[str, list[Segment]] = {}
    for where, line, fields in text_records(path, "RTTM"):
        if fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise RttmError(f"{where}: expected at least 8 fields "
                            "(SPEAKER uri channel start duration <NA> <NA> label ...), "
                            f"got {len(fields)}: {line.strip()!r}")
        uri, label = fields[1], fields[7]
        try:
            start, dur = float(fields[3]), float(fields[4])
        except ValueError:
            raise RttmError(f"{where}: start and duration must be numbers, got "
                            f"{fields[3]!r} and {fields[4]!r}") from None
        if not (math.isfinite(start) and math.isfinite(dur)) or start < 0 or dur < 0:
            raise RttmError(f"{where}: start and duration must be finite and >= 0, got "
                            f"{fields[3]} and {fields[4]}")
        out.setdefault(uri, []).append(Segment(start, start + dur, label))
    return out
