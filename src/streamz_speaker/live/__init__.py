"""Live speaker tracking: online diarization (:mod:`.online`), and the server over it."""

from .online import (MAX_SPEAKERS, OnlineConfig, OnlineDiarizer, Report, SpeakerEvent,
                     SpeakerTotal, Turn, diarize_stream, report_segments)

__all__ = ["MAX_SPEAKERS", "OnlineConfig", "OnlineDiarizer", "Report", "SpeakerEvent",
           "SpeakerTotal", "Turn", "diarize_stream", "report_segments"]
