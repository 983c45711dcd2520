"""Enrol a speaker from a recording, a time range of it, or one speaker's diarized turns."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..core.fileio import atomic_path, file_lock
from ..core.audio import load_audio
from ..core.config import SAMPLE_RATE
from ..core.errors import ConfigError, StreamzError
from .extraction import content_hash
from .ledger import LedgerEntry, append_entry, read_ledger, write_labels
from .persistence import load_model
from .training import drop_learned

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
    from ..diarization.rttm import read_rttm

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
        When a range starts after the end of the recording, or the ranges hold less than
        ``MIN_ENROLL_SECONDS`` of audio.
    """
    duration = y.size / SAMPLE_RATE
    for a, b in ranges:
        if a >= duration:
            raise StreamzError(f"{source}: segment {a:g}-{b:g} starts after the end of the "
                               f"recording, which lasts {duration:.2f} s")
    pieces = [y[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in ranges]
    out = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if out.size < MIN_ENROLL_SECONDS * SAMPLE_RATE:
        raise StreamzError(f"{source}: the selected audio lasts {out.size / SAMPLE_RATE:.2f} s; "
                           f"at least {MIN_ENROLL_SECONDS} s is needed to enrol a speaker")
    return out


@dataclass(frozen=True)
class Enrollment:
    """What :func:`enroll` did."""

    path: Path                 # the audio file listed: the excerpt, or the recording itself
    line: str                  # its line in the training list, "path,NAME"
    added: bool                # False: the list or the model already had it as NAME
    targets_removed: list = field(default_factory=list)  # target-list files of the recording


def enroll(name: str, audio: os.PathLike | str, *, list_path: os.PathLike | str,
           model_path: os.PathLike | str, ranges=None, enroll_dir: os.PathLike | str | None = None,
           target_list: os.PathLike | str | None = None, lock_timeout: float = 0.0) -> Enrollment:
    """Add a recording (or part of it) to the training list as speaker ``name``.

    With ``ranges`` the selected audio is written as a WAV under ``enroll_dir`` (default:
    ``enrolled/`` beside the list) and that file is listed; otherwise the recording itself.
    Nothing is learned here: the next ``train`` run learns it like any other list entry.

    Enrolling is idempotent: an excerpt is named by a hash of its decoded samples and
    written once, so the same audio enrolled again is the same file with the same content
    hash; when the list or the model already has it as ``name`` nothing is written.

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
    target_list : path-like, optional
        Evaluation list: its lines naming this recording (same content) are removed, since
        evaluating on enrolled audio says nothing about new audio.
    lock_timeout : float
        Seconds to wait for another run holding the model.

    Returns
    -------
    Enrollment

    Raises
    ------
    StreamzError
        When the audio is too short, or already enrolled or learned as another speaker.
    """
    audio, list_path, model_path = Path(audio), Path(list_path), Path(model_path)
    y = load_audio(audio)  # validates the recording whatever happens next
    listed = audio
    if ranges is not None:
        clip = excerpt(y, ranges, source=str(audio))
        folder = Path(enroll_dir) if enroll_dir else list_path.parent / "enrolled"
        digest = hashlib.sha256(clip.tobytes()).hexdigest()[:12]
        listed = folder / f"{name}-{audio.stem}-{digest}.wav"
    elif y.size < MIN_ENROLL_SECONDS * SAMPLE_RATE:
        raise StreamzError(f"{audio}: lasts {y.size / SAMPLE_RATE:.2f} s; at least "
                           f"{MIN_ENROLL_SECONDS} s is needed to enrol a speaker")
    with file_lock(model_path.with_name(model_path.name + ".lock"), timeout=lock_timeout):
        entry = _listed(list_path, listed)
        if entry is not None and entry.label not in (None, name):
            raise StreamzError(f"{list_path}:{entry.line}: {entry.raw_path} is already enrolled "
                               f"as {entry.label}, not {name}")
        written = ranges is not None and not listed.exists()
        if written:
            listed.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(listed) as tmp:
                # 24-bit PCM: a float WAV's PEAK chunk holds a time stamp, which would give
                # the same excerpt a new content hash each time
                sf.write(tmp, clip, SAMPLE_RATE, subtype="PCM_24", format="WAV")
        learned_as = _learned_as(model_path, listed)
        if learned_as not in (None, name):
            if written:
                listed.unlink()
            what = "the selected audio" if ranges is not None else "the recording"
            raise StreamzError(f"{audio}: {what} is already learned as {learned_as} by "
                               f"{model_path}, not {name}")
        if entry is None and learned_as is None:
            line, added = append_entry(list_path, listed, name), True
        elif entry is not None and entry.label is None:  # listed without a label: label it
            write_labels(list_path, {entry.line: name})
            line, added = f"{entry.raw_path},{name}", True
        else:
            line, added = f"{entry.raw_path if entry else listed},{name}", False
        removed = []
        if target_list is not None and Path(target_list).exists():
            removed = drop_learned(target_list, {content_hash(audio)})
    return Enrollment(path=listed, line=line, added=added, targets_removed=removed)


def _listed(list_path: Path, audio: Path) -> LedgerEntry | None:
    """The entry of ``list_path`` naming the file ``audio``, if any."""
    if not list_path.exists():
        return None
    target = audio.resolve()
    return next((e for e in read_ledger(list_path) if e.path.resolve() == target), None)


def _learned_as(model_path: Path, audio: Path) -> str | None:
    """The speaker the model learned ``audio``'s content as, None when it has not."""
    if not model_path.exists():
        return None
    return load_model(model_path).learned.get(content_hash(audio))
