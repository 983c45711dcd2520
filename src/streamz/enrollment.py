"""Enrol a speaker from a recording, a time range of it, or one speaker's diarized turns."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from ._fileio import atomic_path, file_lock
from .audio import load_audio
from .config import SAMPLE_RATE
from .errors import ConfigError, StreamzError
from .ledger import append_entry

#: Less speech than this cannot make a speaker profile.
MIN_ENROLL_SECONDS = 1.0


def parse_range(text: str) -> tuple[float, float]:
    """``"12.5-20"`` (seconds) -> (12.5, 20.0).

    Raises
    ------
    ConfigError
    """
    try:
        start, end = (float(part) for part in text.split("-", 1))
    except ValueError:
        raise ConfigError(f"segment must look like START-END in seconds (e.g. 12.5-20), got "
                          f"{text!r}") from None
    if not 0 <= start < end:
        raise ConfigError(f"segment start must be >= 0 and before its end, got {text!r}")
    return start, end


def speaker_turns(rttm_path: os.PathLike | str, speaker: str, *, uri: str | None = None
                  ) -> list[tuple[float, float]]:
    """The turns of ``speaker`` in an RTTM file (of ``uri`` when it holds several files).

    Raises
    ------
    RttmError, StreamzError
        When the file is malformed or the speaker has no turn.
    """
    from .diarization.rttm import read_rttm

    by_uri = read_rttm(rttm_path)
    if uri is not None and uri in by_uri:
        by_uri = {uri: by_uri[uri]}
    turns = [(s.start, s.end) for segs in by_uri.values() for s in segs if s.label == speaker]
    if not turns:
        found = sorted({s.label for segs in by_uri.values() for s in segs})
        raise StreamzError(f"{rttm_path}: no turn of speaker {speaker!r}; speakers there: "
                           f"[{', '.join(found)}]")
    return sorted(turns)


def excerpt(y: np.ndarray, ranges, *, source: str) -> np.ndarray:
    """Concatenate the samples of ``ranges`` (seconds) of ``y``.

    Raises
    ------
    StreamzError
        When the ranges hold less than ``MIN_ENROLL_SECONDS`` of audio.
    """
    pieces = [y[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in ranges]
    out = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if out.size < MIN_ENROLL_SECONDS * SAMPLE_RATE:
        raise StreamzError(f"{source}: the selected audio lasts {out.size / SAMPLE_RATE:.2f} s; "
                           f"at least {MIN_ENROLL_SECONDS} s is needed to enrol a speaker")
    return out


def enroll(name: str, audio: os.PathLike | str, *, list_path: os.PathLike | str,
           model_path: os.PathLike | str, ranges=None, enroll_dir: os.PathLike | str | None = None,
           lock_timeout: float = 0.0) -> Path:
    """Add a recording (or part of it) to the training list as speaker ``name``.

    With ``ranges`` the selected audio is written as a WAV under ``enroll_dir`` (default:
    ``enrolled/`` beside the list) and that file is listed; otherwise the recording itself.
    Nothing is learned here: the next ``train`` run learns it like any other list entry.

    Parameters
    ----------
    name : str
        Speaker label.
    audio : path-like
    list_path : path-like
        The training list (created when missing).
    model_path : path-like
        The model whose lock guards the list.
    ranges : list of (start, end), optional
        Seconds of ``audio`` to use.
    enroll_dir : path-like, optional

    Returns
    -------
    Path
        The audio file that was listed.
    """
    audio = Path(audio)
    y = load_audio(audio)  # validates the recording whatever happens next
    listed = audio
    if ranges is not None:
        clip = excerpt(y, ranges, source=str(audio))
        folder = Path(enroll_dir) if enroll_dir else Path(list_path).resolve().parent / "enrolled"
        digest = hashlib.sha256(clip.tobytes()).hexdigest()[:12]
        listed = folder / f"{name}-{audio.stem}-{digest}.wav"
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(listed) as tmp:
            sf.write(tmp, clip, SAMPLE_RATE, subtype="FLOAT", format="WAV")
    elif y.size < MIN_ENROLL_SECONDS * SAMPLE_RATE:
        raise StreamzError(f"{audio}: lasts {y.size / SAMPLE_RATE:.2f} s; at least "
                           f"{MIN_ENROLL_SECONDS} s is needed to enrol a speaker")
    model_path = Path(model_path)
    with file_lock(model_path.with_name(model_path.name + ".lock"), timeout=lock_timeout):
        append_entry(list_path, listed, name)
    return listed
