"""The live-session WebSocket protocol: message shapes, validation, JSON forms of events."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..core.errors import ProtocolError
from .online import MAX_SPEAKERS, Report, SpeakerEvent

#: Largest binary frame accepted: 10 s of 16 kHz 16-bit audio. Clients send small frames
#: (a browser sends ~0.1 s); a larger one is refused and the session closed.
MAX_FRAME_BYTES = 320_000
#: Largest text message accepted.
MAX_TEXT_CHARS = 4096

#: WebSocket close codes (RFC 6455 and the IANA registry).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008          # missing or wrong token
CLOSE_TOO_BIG = 1009         # oversized frame
CLOSE_INTERNAL = 1011        # the server failed
CLOSE_TRY_AGAIN = 1013       # --max-sessions reached, or the CPU is fully used


@dataclass(frozen=True)
class Start:
    num_speakers: int | None     # None: the server finds the count


@dataclass(frozen=True)
class Stop:
    pass


def parse_message(text: str) -> Start | Stop:
    """A client's JSON text message.

    Accepted: ``{"action": "start"}`` with an optional ``"num_speakers"`` (integer 1-5, or
    null for an automatic count), and ``{"action": "stop"}``. Unknown keys are ignored.

    Raises
    ------
    ProtocolError
        Malformed JSON, not an object, unknown action or invalid ``num_speakers``.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ProtocolError(f"text message too long: {len(text)} characters, at most "
                            f"{MAX_TEXT_CHARS}")
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError(f"malformed JSON: {text[:80]!r}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a JSON object with an \"action\", got {text[:80]!r}")
    action = message.get("action")
    if action == "stop":
        return Stop()
    if action != "start":
        raise ProtocolError(f"unknown action {action!r}; expected \"start\" or \"stop\"")
    n = message.get("num_speakers")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int)
                          or not 1 <= n <= MAX_SPEAKERS):
        raise ProtocolError(f"num_speakers must be an integer from 1 to {MAX_SPEAKERS} or "
                            f"absent, got {n!r}")
    return Start(n)


def decode_pcm(data: bytes) -> np.ndarray:
    """A binary frame of 16-bit little-endian mono PCM as float32 samples in [-1, 1).

    Returns
    -------
    y : ndarray of shape (len(data) // 2,), float32

    Raises
    ------
    ProtocolError
        An odd number of bytes, or more than ``MAX_FRAME_BYTES``.
    """
    if len(data) > MAX_FRAME_BYTES:
        raise ProtocolError(f"audio frame too large: {len(data)} bytes, at most "
                            f"{MAX_FRAME_BYTES} (send the audio in smaller frames)")
    if len(data) % 2:
        raise ProtocolError(f"audio frame of {len(data)} bytes: 16-bit PCM needs an even "
                            "number of bytes; frame dropped")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def started(num_speakers: int | None) -> dict:
    return {"event": "started", "num_speakers": num_speakers}


def error(message: str) -> dict:
    return {"event": "error", "message": message}


def lagging(seconds: float, bound: float) -> dict:
    """``{"event": "lagging", "lagMs", "message"}``: the session's events come this late."""
    return {"event": "lagging", "lagMs": int(round(1000 * seconds)),
            "message": f"the server is {seconds:.1f} s behind this session's audio (more than "
                       f"{bound:g} s): it has more work than CPU; events arrive late"}


def speaker_event(event: SpeakerEvent, *, with_names: bool) -> dict:
    """``{"event": "speaker", "currentSpeakerId", "speakingTimeMs", "audioTimeMs"}``,
    plus ``"currentSpeakerName"`` when the server names speakers."""
    out = {"event": "speaker", "currentSpeakerId": event.speaker,
           "speakingTimeMs": {str(k): v for k, v in event.speaking_ms.items()},
           "audioTimeMs": int(round(1000 * event.time))}
    if with_names:
        out["currentSpeakerName"] = event.name
    return out


def report(result: Report, *, learned=None) -> dict:
    """``{"event": "report", "speakers": [...], "segments": [...]}`` (seconds), plus
    ``"merged"`` (live id -> the id its turns went to) when a re-clustering merged ids, and
    ``"learned"`` when the server learns voices."""
    out = {"event": "report", "durationMs": int(round(1000 * result.duration)),
           "speakers": [{"id": s.id, "totalTimeMs": s.total_ms, "name": s.name}
                        for s in result.speakers],
           "segments": [{"start": t.start, "end": t.end, "speaker": t.speaker,
                         "name": result.names.get(t.speaker)} for t in result.segments]}
    if result.merged:
        out["merged"] = {str(k): v for k, v in result.merged.items()}
    if result.dropped_segments:
        out["droppedSegments"] = result.dropped_segments
    if learned is not None:
        out["learned"] = learned
    return out
