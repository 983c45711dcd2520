"""Helpers of the live tests: shared models, a real server on a free port, PCM frames."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MEETING = EXAMPLES / "meeting.flac"


@pytest.fixture(scope="module")
def live_models():
    from streamz_speaker.diarization.pipeline import load_models

    return load_models()


@pytest.fixture(scope="module")
def meeting():
    from streamz_speaker.core.audio import load_audio

    return load_audio(MEETING)


def pcm(y: np.ndarray) -> bytes:
    """Float audio as 16-bit little-endian PCM."""
    from streamz_speaker.live.client import to_pcm16

    return to_pcm16(y)


@contextlib.contextmanager
def running_server(app):
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread; yields ``(host, port)``."""
    import uvicorn

    from streamz_speaker.live.server import UVICORN_OPTIONS

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **UVICORN_OPTIONS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    try:
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
