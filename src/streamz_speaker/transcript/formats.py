"""Read speech-to-text transcripts: Whisper JSON, whisper.cpp JSON, SRT and WebVTT."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from ..core.errors import TranscriptError
from .model import Cue, Transcript, Word

#: Kinds of transcript read, and the file suffixes that name them.
KINDS = ("whisper", "whisper.cpp", "srt", "vtt")
SUFFIXES = {".json": "json", ".srt": "srt", ".vtt": "vtt"}
#: Cues may overlap the previous one by this much (recognisers round their times); more is
#: an error, as it means cues out of order or two transcripts in one.
OVERLAP_TOLERANCE_SECONDS = 0.5
#: A cue may end this far past the end of the audio (a recogniser's last timestamp is often
#: rounded up); more means the transcript is not of this recording.
END_TOLERANCE_SECONDS = 1.0

_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})$")
_ARROW = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)(.*)$")
_SPECIAL_TOKEN = re.compile(r"^\s*(\[_[^\]]*\]|<\|[^|]*\|>)\s*$")


def read_transcript(path: os.PathLike | str, *, kind: str | None = None) -> Transcript:
    """Read a transcript file.

    Parameters
    ----------
    path : path-like
        A ``.json`` (openai-whisper, faster-whisper or WhisperX result: ``segments`` with
        ``start``/``end``/``text`` and optional ``words``; or whisper.cpp ``-oj``/``-ojf``:
        ``transcription`` with ``offsets`` and optional ``tokens``), ``.srt`` or ``.vtt`` file.
    kind : str, optional
        One of :data:`KINDS`; default: from the suffix and the content.

    Returns
    -------
    Transcript

    Raises
    ------
    TranscriptError
        The file cannot be read, is not one of these formats, or has a malformed, reversed or
        overlapping cue; the message names the file and the segment or line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise TranscriptError(f"{path}: cannot read transcript: {e}") from e
    if kind is None:
        kind = _sniff(path, text)
    if kind in ("whisper", "whisper.cpp", "json"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise TranscriptError(f"{path}: line {e.lineno}: not valid JSON: {e.msg}") from e
        return parse_transcript(doc, kind=None if kind == "json" else kind, source=str(path))
    return parse_transcript(text, kind=kind, source=str(path))


def parse_transcript(data: Any, *, kind: str | None = None,
                     source: str = "<transcript>") -> Transcript:
    """Parse a transcript held in memory.

    Parameters
    ----------
    data : dict or str
        A Whisper-style result (``whisper.transcribe(...)``'s dict, faster-whisper's segments
        turned into ``{"segments": [...]}``, WhisperX's result), a whisper.cpp JSON document,
        or the text of an SRT or WebVTT file.
    kind : str, optional
        One of :data:`KINDS`; default: guessed from ``data``.
    source : str
        How messages name the transcript.

    Returns
    -------
    Transcript

    Raises
    ------
    TranscriptError
        ``data`` has the wrong shape, or a cue or word is malformed, reversed or overlaps the
        one before.
    """
    if kind is not None and kind not in KINDS:
        raise TranscriptError(f"{source}: unknown transcript kind {kind!r}; "
                              f"expected one of {', '.join(KINDS)}")
    if isinstance(data, str):
        kind = kind or ("vtt" if data.lstrip("\ufeff").startswith("WEBVTT") else "srt")
        if kind not in ("srt", "vtt"):
            raise TranscriptError(f"{source}: {kind} transcripts are JSON, not text")
        cues, raw = (_parse_vtt if kind == "vtt" else _parse_srt)(data, source)
    elif isinstance(data, dict):
        if kind is None:
            kind = "whisper.cpp" if "transcription" in data else "whisper"
        if kind == "whisper":
            cues, raw = _parse_whisper(data, source), data
        elif kind == "whisper.cpp":
            cues, raw = _parse_whisper_cpp(data, source), data
        else:
            raise TranscriptError(f"{source}: an {kind} transcript is text, not JSON")
    else:
        raise TranscriptError(f"{source}: expected a JSON object or subtitle text, got "
                              f"{type(data).__name__}")
    check_order(cues, source)
    return Transcript(tuple(cues), kind, source, raw)


def check_order(cues, source: str) -> None:
    """Raise :class:`TranscriptError` for a reversed cue or word, or cues out of order."""
    previous = None
    for cue in cues:
        if cue.end < cue.start:
            raise TranscriptError(f"{source}: {cue.where}: reversed: ends at {cue.end:.3f} s "
                                  f"before it starts at {cue.start:.3f} s")
        if previous is not None and cue.start < previous.end - OVERLAP_TOLERANCE_SECONDS:
            what = "before" if cue.start < previous.start else "overlapping"
            raise TranscriptError(
                f"{source}: {cue.where}: starts at {cue.start:.3f} s, {what} {previous.where} "
                f"({previous.start:.3f}-{previous.end:.3f} s): cues must be in time order "
                "and not overlap")
        last = None
        for k, w in enumerate(cue.words):
            if w.start is None:
                continue
            if w.end < w.start:
                raise TranscriptError(f"{source}: {cue.where}: word {k} ({w.text!r}) reversed: "
                                      f"{w.start:.3f}-{w.end:.3f} s")
            if last is not None and w.start < last.start - OVERLAP_TOLERANCE_SECONDS:
                raise TranscriptError(f"{source}: {cue.where}: word {k} ({w.text!r}) at "
                                      f"{w.start:.3f} s starts before the word before it "
                                      f"({last.start:.3f} s)")
            last = w
        previous = cue


def check_duration(transcript: Transcript, duration: float) -> None:
    """Raise :class:`TranscriptError` when a cue ends past the recording's end.

    Parameters
    ----------
    transcript : Transcript
    duration : float
        Length of the recording in seconds; a cue may end up to
        :data:`END_TOLERANCE_SECONDS` after it.
    """
    for cue in transcript.cues:
        ends = [cue.end] + [w.end for w in cue.words if w.end is not None]
        if max(ends) > duration + END_TOLERANCE_SECONDS:
            raise TranscriptError(
                f"{transcript.source}: {cue.where}: ends at {max(ends):.3f} s, past the end "
                f"of the audio ({duration:.3f} s): is this the transcript of this recording?")


def _sniff(path: Path, text: str) -> str:
    head = text.lstrip()
    if head.startswith("{"):
        return "json"
    if head.startswith("WEBVTT"):
        return "vtt"
    suffix = SUFFIXES.get(path.suffix.lower())
    if suffix == "json":
        return "json"      # not an object: parse_transcript says so
    if suffix in ("srt", "vtt"):
        return suffix
    if any(_ARROW.match(line) for line in text.splitlines()[:3]):
        return "srt"
    raise TranscriptError(f"{path}: not a transcript: expected Whisper or whisper.cpp JSON "
                          "(.json), SRT (.srt) or WebVTT (.vtt)")


# -- Whisper JSON (openai-whisper, faster-whisper, WhisperX) -----------------------------

def _number(value, source: str, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TranscriptError(f"{source}: {where}: {name} must be a number of seconds, got "
                              f"{value!r}")
    if value < 0:
        raise TranscriptError(f"{source}: {where}: {name} is negative ({value})")
    return float(value)


def _parse_whisper(doc: dict, source: str) -> list[Cue]:
    segments = doc.get("segments")
    if not isinstance(segments, list):
        raise TranscriptError(f"{source}: expected a Whisper result with a 'segments' list "
                              "(or whisper.cpp's 'transcription'), found keys "
                              f"{sorted(doc)[:8]}")
    cues = []
    for i, seg in enumerate(segments):
        where = f"segment {i}"
        if not isinstance(seg, dict):
            raise TranscriptError(f"{source}: {where}: expected an object, got "
                                  f"{type(seg).__name__}")
        for key in ("start", "end"):
            if key not in seg:
                raise TranscriptError(f"{source}: {where}: no '{key}'")
        start = _number(seg["start"], source, where, "start")
        end = _number(seg["end"], source, where, "end")
        text = seg.get("text", "")
        if not isinstance(text, str):
            raise TranscriptError(f"{source}: {where}: 'text' must be a string")
        raw_words = seg.get("words")
        if raw_words is None or raw_words == []:
            words = _plain_words(text)
        elif not isinstance(raw_words, list):
            raise TranscriptError(f"{source}: {where}: 'words' must be a list")
        else:
            words = _whisper_words(raw_words, text, source, where)
        cues.append(Cue(start, end, text, tuple(words), where, i))
    return cues


def _whisper_words(raw_words: list, text: str, source: str, where: str) -> list[Word]:
    texts, times = [], []
    for k, w in enumerate(raw_words):
        if not isinstance(w, dict) or not isinstance(w.get("word", w.get("text")), str):
            raise TranscriptError(f"{source}: {where}: word {k}: expected an object with a "
                                  "'word' string")
        texts.append(w.get("word", w.get("text")))
        if "start" in w and "end" in w:     # WhisperX leaves some (numbers) without times
            times.append((_number(w["start"], source, f"{where} word {k}", "start"),
                          _number(w["end"], source, f"{where} word {k}", "end")))
        else:
            times.append((None, None))
    spans = locate(text, texts)
    return [Word(t, s, e, span, (k, k + 1))
            for k, (t, (s, e), span) in enumerate(zip(texts, times, spans))]


# -- whisper.cpp JSON (-oj, -ojf) ---------------------------------------------------------

def _cpp_time(item: dict, source: str, where: str) -> tuple[float, float]:
    offsets = item.get("offsets")
    if isinstance(offsets, dict) and "from" in offsets and "to" in offsets:
        return (_number(offsets["from"], source, where, "offsets.from") / 1000.0,
                _number(offsets["to"], source, where, "offsets.to") / 1000.0)
    stamps = item.get("timestamps")
    if isinstance(stamps, dict) and "from" in stamps and "to" in stamps:
        return (parse_time(stamps["from"], source, where), parse_time(stamps["to"], source, where))
    raise TranscriptError(f"{source}: {where}: no 'offsets' (milliseconds) or 'timestamps'")


def _parse_whisper_cpp(doc: dict, source: str) -> list[Cue]:
    items = doc.get("transcription")
    if not isinstance(items, list):
        raise TranscriptError(f"{source}: expected whisper.cpp JSON with a 'transcription' list")
    cues = []
    for i, item in enumerate(items):
        where = f"segment {i}"
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            raise TranscriptError(f"{source}: {where}: expected an object with a 'text' string")
        start, end = _cpp_time(item, source, where)
        text = item.get("text", "")
        tokens = item.get("tokens")
        if tokens:
            if not isinstance(tokens, list):
                raise TranscriptError(f"{source}: {where}: 'tokens' must be a list")
            words = _cpp_words(tokens, text, source, where)
        else:
            words = _plain_words(text)
        cues.append(Cue(start, end, text, tuple(words), where, i))
    return cues


def _cpp_words(tokens: list, text: str, source: str, where: str) -> list[Word]:
    """Whole words from whisper.cpp's sub-word tokens: a token starting with a space (or the
    first text token) starts a word; special tokens (``[_BEG_]``, ``[_TT_150]``) are none."""
    groups: list[list[int]] = []
    for k, tok in enumerate(tokens):
        if not isinstance(tok, dict) or not isinstance(tok.get("text"), str):
            raise TranscriptError(f"{source}: {where}: token {k}: expected an object with a "
                                  "'text' string")
        if _SPECIAL_TOKEN.match(tok["text"]) or not tok["text"]:
            continue
        if not groups or tok["text"][:1].isspace() or groups[-1][-1] != k - 1:
            groups.append([k])
        else:
            groups[-1].append(k)
    texts = ["".join(tokens[k]["text"] for k in g) for g in groups]
    spans = locate(text, texts)
    words = []
    for g, t, span in zip(groups, texts, spans):
        first = _cpp_time(tokens[g[0]], source, f"{where} token {g[0]}")
        last = _cpp_time(tokens[g[-1]], source, f"{where} token {g[-1]}")
        words.append(Word(t, first[0], max(last[1], first[0]), span, (g[0], g[-1] + 1)))
    return words


# -- SRT and WebVTT -------------------------------------------------------------------------

def parse_time(value, source: str, where: str) -> float:
    """``HH:MM:SS,mmm``, ``HH:MM:SS.mmm`` or ``MM:SS.mmm`` in seconds."""
    m = _TIME.match(str(value).strip())
    if not m:
        raise TranscriptError(f"{source}: {where}: bad time {value!r} (expected HH:MM:SS,mmm)")
    h, mnt, s, ms = m.groups()
    return int(h or 0) * 3600 + int(mnt) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000.0


def _blocks(text: str):
    """``(first line number, lines)`` of each block of non-blank lines."""
    block, first = [], 0
    for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if line.strip():
            if not block:
                first = n
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


def _parse_srt(text: str, source: str):
    cues = []
    for first, lines in _blocks(text.lstrip("\ufeff")):
        timing = 1 if len(lines) > 1 and "-->" in lines[1] else 0
        if "-->" not in lines[timing]:
            raise TranscriptError(f"{source}: line {first}: expected a cue (number, then "
                                  f"'start --> end'), got {lines[0].strip()!r}")
        where = f"cue {len(cues) + 1} (line {first + timing})"
        start, end, _ = _timing(lines[timing], source, where)
        cue_text = "\n".join(lines[timing + 1:])
        cues.append(Cue(start, end, cue_text, tuple(_plain_words(cue_text)),
                        where, len(cues)))
    return cues, None


def _parse_vtt(text: str, source: str):
    blocks = list(_blocks(text.lstrip("\ufeff")))
    if not blocks or not blocks[0][1][0].startswith("WEBVTT"):
        raise TranscriptError(f"{source}: line 1: a WebVTT file starts with 'WEBVTT'")
    header, cues, extra = "\n".join(blocks[0][1]), [], []
    for first, lines in blocks[1:]:
        if lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing = 0 if "-->" in lines[0] else 1
        if timing >= len(lines) or "-->" not in lines[timing]:
            raise TranscriptError(f"{source}: line {first}: expected a cue ('start --> end'), "
                                  f"got {lines[0].strip()!r}")
        where = f"cue {len(cues) + 1} (line {first + timing})"
        start, end, settings = _timing(lines[timing], source, where)
        cue_text = "\n".join(lines[timing + 1:])
        cues.append(Cue(start, end, cue_text, tuple(_plain_words(cue_text)),
                        where, len(cues)))
        extra.append((lines[0] if timing else None, settings))
    return cues, {"header": header, "cues": extra}


def _timing(line: str, source: str, where: str):
    m = _ARROW.match(line)
    if not m:
        raise TranscriptError(f"{source}: {where}: expected 'start --> end', got {line.strip()!r}")
    return parse_time(m[1], source, where), parse_time(m[2], source, where), m[3].strip()


# -- words in text ------------------------------------------------------------------------------

def _plain_words(text: str) -> list[Word]:
    return [Word(m.group(), span=m.span()) for m in re.finditer(r"\S+", text)]


def locate(text: str, words) -> list[tuple[int, int] | None]:
    """Character spans of ``words`` found in order in ``text`` (None for one not found).

    Parameters
    ----------
    text : str
        A cue's text.
    words : sequence of str
        Its words as the recogniser listed them (with or without their leading space).

    Returns
    -------
    list of (int, int) or None, one per word
    """
    spans, at = [], 0
    for w in words:
        core = w.strip()
        k = text.find(core, at) if core else -1
        if k < 0:
            spans.append(None)
        else:
            spans.append((k, k + len(core)))
            at = k + len(core)
    return spans
