"""Write a labelled transcript: the input's JSON shape with speakers, SRT, WebVTT or text."""

from __future__ import annotations

import json

from ..core.errors import TranscriptError
from .model import UNKNOWN, LabelledCue, LabelledTranscript

#: Output formats, and the default for each kind of input.
FORMATS = ("json", "srt", "vtt", "txt")
DEFAULT_FORMAT = {"whisper": "json", "whisper.cpp": "json", "srt": "srt", "vtt": "vtt"}
_TIMING = {"words": "word times from the transcript",
           "cues": "cue times only: words spread over each cue by their characters",
           "mixed": "word times where the transcript has them, else cue times"}


def metadata(labelled: LabelledTranscript) -> dict:
    """What the output says about how it was made (the ``"streamz"`` key of JSON output)."""
    words = labelled.words
    return {"speakers": labelled.speakers, "word_timing": labelled.timing,
            "word_timing_means": _TIMING[labelled.timing],
            "segments_split": labelled.splits,
            "unknown_words": sum(w.speaker == UNKNOWN for w in words), "words": len(words)}


def format_transcript(labelled: LabelledTranscript, fmt: str | None = None) -> str:
    """The labelled transcript as text.

    Parameters
    ----------
    labelled : LabelledTranscript
    fmt : {"json", "srt", "vtt", "txt"}, optional
        ``json``: the input's own JSON shape (a Whisper result, or whisper.cpp's) with
        ``"speaker"`` on every segment and every word, split segments in place of the
        originals, and a ``"streamz"`` object saying how words were timed; SRT and WebVTT
        input become ``{"segments": [...]}``. ``srt``/``vtt``: each cue's text prefixed with
        ``[SPEAKER]: ``. ``txt``: one paragraph per speaker turn, headed ``SPEAKER (mm:ss):``.
        Default: the input's format (``json`` for JSON input).

    Returns
    -------
    str
    """
    fmt = fmt or DEFAULT_FORMAT[labelled.transcript.kind]
    if fmt == "json":
        return json.dumps(_json(labelled), ensure_ascii=False, indent=2) + "\n"
    if fmt == "srt":
        return _srt(labelled)
    if fmt == "vtt":
        return _vtt(labelled)
    if fmt == "txt":
        return _txt(labelled)
    raise TranscriptError(f"unknown transcript format {fmt!r}; expected one of "
                          f"{', '.join(FORMATS)}")


# -- JSON ---------------------------------------------------------------------------------

def _json(labelled: LabelledTranscript) -> dict:
    kind, raw = labelled.transcript.kind, labelled.transcript.raw
    if kind == "whisper":
        doc = dict(raw)
        doc["segments"] = [_whisper_segment(raw["segments"][c.origin], c, i)
                           for i, c in enumerate(labelled.cues)]
        flat = doc.get("word_segments")
        if isinstance(flat, list) and len(flat) == len(labelled.words):   # WhisperX
            doc["word_segments"] = [dict(w, speaker=lw.speaker) if isinstance(w, dict) else w
                                    for w, lw in zip(flat, labelled.words)]
    elif kind == "whisper.cpp":
        doc = dict(raw)
        doc["transcription"] = [_cpp_item(raw["transcription"][c.origin], c, labelled)
                                for c in labelled.cues]
    else:
        doc = {"segments": [{"id": i, "start": round(c.start, 3), "end": round(c.end, 3),
                             "text": c.text, "speaker": c.speaker,
                             "words": [{"word": w.text, "speaker": w.speaker}
                                       for w in c.words]}
                            for i, c in enumerate(labelled.cues)]}
    doc["streamz"] = metadata(labelled)
    return doc


def _whisper_segment(seg: dict, cue: LabelledCue, index: int) -> dict:
    out = dict(seg)
    if cue.split:
        out.pop("tokens", None)        # sub-word tokens cannot be cut at a word
        out["start"], out["end"] = round(cue.start, 3), round(cue.end, 3)
        lead = " " if seg.get("text", "").startswith(" ") and not cue.text.startswith(" ") else ""
        out["text"] = lead + cue.text
    if "id" in seg:
        out["id"] = index
    if isinstance(seg.get("words"), list) and seg["words"]:
        words = seg["words"]
        start, end = cue.first, cue.last
        out["words"] = [dict(words[k], speaker=w.speaker)
                        for k, w in zip(range(start, end), cue.words)]
    return _with_speaker(out, cue.speaker)


def _with_speaker(item: dict, speaker: str) -> dict:
    """``item`` with ``"speaker"`` right after its ``"text"`` (at the end when it has none)."""
    out = {}
    for key, value in item.items():
        if key != "speaker":
            out[key] = value
        if key == "text":
            out["speaker"] = speaker
    out["speaker"] = speaker
    return out


def _cpp_item(item: dict, cue: LabelledCue, labelled: LabelledTranscript) -> dict:
    out = dict(item)
    source = labelled.transcript.cues[cue.origin]
    tokens = item.get("tokens")
    if isinstance(tokens, list) and tokens and source.words:
        spans = [w.items for w in source.words]
        lo = 0 if cue.first == 0 else spans[cue.first][0]
        hi = len(tokens) if cue.last == len(spans) else spans[cue.last - 1][1]
        speaker_of = {}
        for w, (a, b) in zip(cue.words, spans[cue.first:cue.last]):
            speaker_of.update({k: w.speaker for k in range(a, b)})
        out["tokens"] = [dict(tokens[k], speaker=speaker_of.get(k, cue.speaker))
                         for k in range(lo, hi)]
    if cue.split:
        lead = " " if item.get("text", "").startswith(" ") and not cue.text.startswith(" ") else ""
        out["text"] = lead + cue.text
        out["offsets"] = {"from": int(round(cue.start * 1000)), "to": int(round(cue.end * 1000))}
        out["timestamps"] = {"from": _clock(cue.start, ","), "to": _clock(cue.end, ",")}
    return _with_speaker(out, cue.speaker)


# -- subtitles and text ---------------------------------------------------------------------

def _clock(seconds: float, mark: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{mark}{ms:03d}"


def _prefixed(cue: LabelledCue) -> str:
    return f"[{cue.speaker}]: {cue.text.strip()}"


def _srt(labelled: LabelledTranscript) -> str:
    blocks = [f"{i}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n{_prefixed(c)}\n"
              for i, c in enumerate(labelled.cues, start=1)]
    return "\n".join(blocks)


def _vtt(labelled: LabelledTranscript) -> str:
    raw = labelled.transcript.raw if labelled.transcript.kind == "vtt" else None
    meta = metadata(labelled)
    blocks = [raw["header"] if raw else "WEBVTT",
              f"NOTE speakers by streamz: {', '.join(meta['speakers']) or 'none'}; "
              f"word timing: {meta['word_timing_means']}; "
              f"{meta['segments_split']} cues split at a speaker change"]
    part = {}
    for c in labelled.cues:
        ident, settings = raw["cues"][c.origin] if raw else (None, "")
        part[c.origin] = part.get(c.origin, 0) + 1
        if ident is not None and part[c.origin] > 1:
            ident = f"{ident}-{part[c.origin]}"
        timing = f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}" + (f" {settings}"
                                                                      if settings else "")
        blocks.append("\n".join(([ident] if ident else []) + [timing, _prefixed(c)]))
    return "\n\n".join(blocks) + "\n"


def _txt(labelled: LabelledTranscript) -> str:
    paragraphs, speaker = [], None
    for c in labelled.cues:
        text = " ".join(c.text.split())
        if not text:
            continue
        if c.speaker != speaker or not paragraphs:
            minutes, seconds = divmod(int(c.start), 60)
            paragraphs.append(f"{c.speaker} ({minutes:02d}:{seconds:02d}): {text}")
            speaker = c.speaker
        else:
            paragraphs[-1] += " " + text
    return "\n\n".join(paragraphs) + "\n"
