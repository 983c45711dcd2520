"""A client of the live server: streams 16 kHz audio over the WebSocket protocol."""

from __future__ import annotations

import json
import os
import time

import numpy as np

from ..core.config import SAMPLE_RATE
from ..core.errors import StreamzError

#: Audio per binary frame sent (0.1 s, what the browser page sends).
FRAME_SECONDS = 0.1


def to_pcm16(y: np.ndarray) -> bytes:
    """Float audio in [-1, 1] as 16-bit little-endian PCM bytes (clipped)."""
    return (np.clip(y, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()


def stream_file(y: np.ndarray, url: str, *, speed: float = 1.0, num_speakers: int | None = None,
                token: str | None = None, on_message=None, open_timeout: float = 10.0) -> dict:
    """Send ``y`` to a live server at ``speed`` times real time; return its last message.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono float32 audio at 16 kHz.
    url : str
        ``ws://HOST:PORT/ws/session``.
    speed : float
        Times real time (0: as fast as the server takes it).
    num_speakers : int, optional
    token : str, optional
        Sent as ``Authorization: Bearer``.
    on_message : callable, optional
        Called with every message the server sends (a dict), in order.

    Returns
    -------
    dict
        The report (``{"event": "report", ...}``), or the last message when the server
        closed the session early (an error).

    Raises
    ------
    StreamzError
        If the server cannot be reached.
    """
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.sync.client import connect

    headers = {"Authorization": f"Bearer {token}"} if token else None
    on_message = on_message or (lambda message: None)
    last: dict = {}
    try:
        # no keep-alive pings: behind a busy server they queue after the audio and time out
        ws = connect(url, additional_headers=headers, open_timeout=open_timeout,
                     max_size=None, ping_interval=None)
    except (OSError, InvalidHandshake, TimeoutError) as e:
        raise StreamzError(f"{url}: cannot connect to the live server ({e})") from e

    def drain(timeout: float) -> bool:
        """Handle what the server sent; False once it has closed the session."""
        nonlocal last
        try:
            while True:
                last = json.loads(ws.recv(timeout=timeout))
                on_message(last)
                timeout = 0
        except TimeoutError:
            return True
        except ConnectionClosed:
            return False

    with ws:
        start = {"action": "start"} if num_speakers is None else \
            {"action": "start", "num_speakers": num_speakers}
        ws.send(json.dumps(start))
        if not drain(open_timeout) or last.get("event") != "started":
            return last
        frame = int(FRAME_SECONDS * SAMPLE_RATE)
        t0 = time.monotonic()
        for i in range(0, len(y), frame):
            try:
                ws.send(to_pcm16(y[i:i + frame]))
            except ConnectionClosed:
                drain(0)
                return last
            if speed > 0:
                wait = t0 + (i + frame) / SAMPLE_RATE / speed - time.monotonic()
            else:
                wait = 0
            if not drain(max(wait, 0)):
                return last
        try:
            ws.send(json.dumps({"action": "stop"}))
        except ConnectionClosed:
            pass
        deadline = time.monotonic() + 600     # finishing a session takes about one step
        while drain(1.0) and last.get("event") != "report" and time.monotonic() < deadline:
            pass
    return last


def write_report_rttm(report: dict, uri: str, path: os.PathLike | str) -> None:
    """Write a report's segments as RTTM (``SPEAKER_NN``, or the speaker's name)."""
    from ..diarization.rttm import Segment, speaker_label, write_rttm

    if report.get("event") != "report":
        raise StreamzError("no report to write: the session did not finish")
    segments = [Segment(s["start"], s["end"], s.get("name") or speaker_label(s["speaker"]))
                for s in report["segments"]]
    write_rttm(path, segments, uri)
