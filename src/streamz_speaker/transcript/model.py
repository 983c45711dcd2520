"""What a transcript holds (cues and their words), before and after speakers are assigned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Label of a word that no speaker of the diarization is near (see ``AssignConfig.gap_seconds``).
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Word:
    """One word of a cue, as the recogniser wrote it.

    ``start``/``end`` are the recogniser's word times in seconds, None when the input has
    none (SRT, WebVTT, segment-only JSON). ``span`` is the word's ``(begin, end)`` character
    offsets in its cue's ``text`` (None when the word's text could not be found there);
    ``items`` the ``(first, last + 1)`` indices of the input's own records for it (``words``
    of a Whisper segment, ``tokens`` of a whisper.cpp segment; None for plain text).
    """

    text: str
    start: float | None = None
    end: float | None = None
    span: tuple[int, int] | None = None
    items: tuple[int, int] | None = None


@dataclass(frozen=True)
class Cue:
    """One segment (Whisper JSON), transcription item (whisper.cpp) or subtitle cue."""

    start: float                # seconds
    end: float                  # seconds
    text: str                   # as in the input
    words: tuple[Word, ...]     # in order; may be empty (a cue without text)
    where: str                  # "segment 3", "line 12": how error messages name it
    index: int                  # position among the input's cues (0-based)

    @property
    def timed(self) -> bool:
        """Whether the recogniser gave word times (WhisperX leaves a few words, such as
        numerals, without; they are placed between their neighbours)."""
        return any(w.start is not None for w in self.words)


@dataclass(frozen=True)
class Transcript:
    """A parsed transcript: its cues in order, and what is needed to write it back.

    ``kind`` is one of ``"whisper"`` (openai-whisper, faster-whisper, WhisperX JSON),
    ``"whisper.cpp"`` (``-oj``/``-ojf`` JSON), ``"srt"`` and ``"vtt"``; ``raw`` the parsed
    JSON document (or the WebVTT header block) the writers start from; ``source`` names the
    file in messages.
    """

    cues: tuple[Cue, ...]
    kind: str
    source: str = "<transcript>"
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def timing(self) -> str:
        """``"words"`` when every cue has word times, ``"cues"`` when none has, else ``"mixed"``."""
        timed = [c.timed for c in self.cues if c.words]
        if timed and all(timed):
            return "words"
        return "cues" if not any(timed) else "mixed"

    @property
    def words(self) -> list[Word]:
        """Every word, in order."""
        return [w for c in self.cues for w in c.words]


@dataclass(frozen=True)
class LabelledWord:
    """A word with its speaker; times are estimated (``estimated``) when the input had none."""

    text: str
    start: float
    end: float
    speaker: str
    estimated: bool = False


@dataclass(frozen=True)
class LabelledCue:
    """One single-speaker piece of an input cue: its words ``first:last`` of cue ``origin``."""

    origin: int                 # index of the input cue
    first: int                  # first word (index into the input cue's words)
    last: int                   # one past the last word
    start: float                # seconds
    end: float                  # seconds
    speaker: str
    text: str                   # the piece of the input cue's text (all of it when not split)
    words: tuple[LabelledWord, ...]
    words_in_origin: int = 0    # number of words of the whole input cue

    @property
    def split(self) -> bool:
        """Whether this is only part of its input cue."""
        return self.first > 0 or self.last < self.words_in_origin


@dataclass(frozen=True)
class LabelledTranscript:
    """A transcript whose every cue has one speaker and every word a speaker.

    ``timing`` says what the word positions came from: ``"words"`` (the recogniser's word
    times), ``"cues"`` (only cue times: words spread over each cue by their characters) or
    ``"mixed"``. ``splits`` counts the input cues that were split at a speaker change.
    """

    transcript: Transcript
    cues: tuple[LabelledCue, ...]
    timing: str
    splits: int

    @property
    def speakers(self) -> list[str]:
        """Speakers in the order they first speak."""
        return list(dict.fromkeys(c.speaker for c in self.cues))

    @property
    def words(self) -> list[LabelledWord]:
        """Every word with its speaker, in the input's order."""
        return [w for c in self.cues for w in c.words]
