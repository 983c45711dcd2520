"""Who said what: give every word of a speech-to-text transcript its speaker.

Reads Whisper (openai-whisper, faster-whisper, WhisperX) and whisper.cpp JSON, SRT and
WebVTT; assigns each word the speaker who talks most during it; splits cues where the speaker
changes; writes the input's JSON shape with ``"speaker"`` added, SRT, WebVTT or text.

Examples
--------
>>> from streamz_speaker.diarization import diarize
>>> from streamz_speaker.transcript import format_transcript, label_transcript, parse_transcript
>>> result = diarize("meeting.flac")                              # doctest: +SKIP
>>> labelled = label_transcript(parse_transcript(whisper_result), result.segments,
...                             duration=result.duration)         # doctest: +SKIP
>>> print(format_transcript(labelled, "srt"))                     # doctest: +SKIP
"""

from .assign import AssignConfig, assign_words, label_transcript, word_times
from .files import TRANSCRIPT_SUFFIXES, find_transcript, output_format
from .formats import KINDS, check_duration, parse_transcript, read_transcript
from .metrics import map_speakers, split_scores, wder, word_errors
from .model import (UNKNOWN, Cue, LabelledCue, LabelledTranscript, LabelledWord, Transcript,
                    Word)
from .writers import DEFAULT_FORMAT, FORMATS, format_transcript, metadata

__all__ = ["AssignConfig", "Cue", "DEFAULT_FORMAT", "FORMATS", "KINDS", "LabelledCue",
           "LabelledTranscript", "LabelledWord", "TRANSCRIPT_SUFFIXES", "Transcript", "UNKNOWN",
           "Word", "assign_words", "check_duration", "find_transcript", "format_transcript",
           "label_transcript", "map_speakers", "metadata", "output_format", "parse_transcript",
           "read_transcript", "split_scores", "wder", "word_errors", "word_times"]
