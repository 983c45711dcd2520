"""Which transcript file belongs to which recording."""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import TranscriptError
from .formats import read_transcript
from .writers import DEFAULT_FORMAT

#: Suffixes of transcript files, most informative first: JSON can hold word times.
TRANSCRIPT_SUFFIXES = (".json", ".vtt", ".srt")


def find_transcript(audio: os.PathLike | str, where: os.PathLike | str) -> Path:
    """The transcript of a recording: ``where`` itself, or the file for it in folder ``where``.

    In a folder, the transcript of ``calls/a.wav`` is ``a.json``, ``a.vtt`` or ``a.srt``
    (as openai-whisper and faster-whisper name their output) or ``a.wav.json``,
    ``a.wav.vtt``, ``a.wav.srt`` (as whisper.cpp does); when several are there the first of
    those suffixes wins (JSON may carry word times; Whisper writes every format at once).

    Parameters
    ----------
    audio : path-like
        The recording.
    where : path-like
        A transcript file, or a folder of them.

    Returns
    -------
    Path

    Raises
    ------
    TranscriptError
        ``where`` does not exist, or the folder holds no transcript for ``audio``.
    """
    where, audio = Path(where), Path(audio)
    if where.is_file():
        return where
    if not where.is_dir():
        raise TranscriptError(f"{where}: no such transcript file or folder")
    for suffix in TRANSCRIPT_SUFFIXES:
        for name in (audio.stem + suffix, audio.name + suffix):
            if (where / name).is_file():
                return where / name
    raise TranscriptError(f"{where}: no transcript for {audio.name} (looked for "
                          f"{audio.stem}.json, .vtt, .srt and {audio.name}.json, .vtt, .srt)")


def output_format(source: os.PathLike | str, fmt: str | None = None) -> str:
    """The format a labelled transcript is written in: ``fmt``, else the input's own
    (``json`` for JSON input, ``srt``, ``vtt``), from its suffix or else its content."""
    if fmt is not None:
        return fmt
    suffix = Path(source).suffix.lower()
    if suffix in TRANSCRIPT_SUFFIXES:
        return suffix[1:]
    return DEFAULT_FORMAT[read_transcript(source).kind]
