"""The live-tracking server: a FastAPI app that translates WebSocket frames to and from
:mod:`streamz_speaker.live.online`."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import resources

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..core.config import SAMPLE_RATE
from ..core.errors import ProtocolError, StreamzError
from ..core.provenance import package_version
from . import protocol
from .load import LagTracker, LoadMeter
from .online import OnlineConfig, OnlineDiarizer

log = logging.getLogger(__name__)

#: uvicorn settings of the live server. Frames up to 4x the largest accepted reach the app,
#: which refuses them with an error message (larger ones are closed by the protocol layer).
#: No keep-alive ping timeout: a client whose audio queues up behind a busy server answers
#: pings late, and dead clients are closed by ``ServerConfig.idle_timeout`` anyway.
UVICORN_OPTIONS = {"ws_max_size": 4 * protocol.MAX_FRAME_BYTES, "ws_ping_timeout": None}

#: Files of the page, served under /static/.
STATIC_TYPES = {"app.js": "text/javascript", "worklet.js": "text/javascript",
                "style.css": "text/css"}


@dataclass(frozen=True)
class ServerConfig:
    """What ``streamz serve`` sets."""

    max_sessions: int = 8           # open WebSocket sessions; more are refused
    token: str | None = None        # required from clients when set
    idle_timeout: float = 60.0      # seconds without a message before a session is closed
    workers: int = 0                # threads for the models; 0: one per core
    online: OnlineConfig = OnlineConfig()
    #: new sessions are refused (1013) when the sessions would need more than this share of
    #: the model threads' CPU, as measured from the running load (live.load.LoadMeter)
    max_load: float = 0.85
    #: a session whose processing falls this far behind real time gets a "lagging" event
    #: (again every lag_event_seconds while it stays behind)
    max_lag_seconds: float = 2.0
    lag_event_seconds: float = 5.0


class _Sessions:
    def __init__(self):
        self.open = 0
        self.started = 0


def create_app(models, config: ServerConfig = ServerConfig(), *, learner=None,
               namer=None) -> FastAPI:
    """The FastAPI app.

    Parameters
    ----------
    models : DiarizationModels
        Loaded once, shared by every session (ONNX Runtime sessions are thread-safe).
    config : ServerConfig
    learner : live.learning.VoiceLearner, optional
        ``--learn``: voices are learned when a session stops; its namer names speakers.
    namer : callable, optional
        Names speakers (``--model`` without ``--learn``).

    Returns
    -------
    FastAPI
    """
    workers = config.workers or os.cpu_count() or 1
    pool = ThreadPoolExecutor(workers, thread_name_prefix="streamz-live")
    cores = min(workers, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count() or 1)
    meter = LoadMeter(cores, max_load=config.max_load)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="StreamZ live speaker tracking", docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan)
    sessions = _Sessions()
    with_names = namer is not None or learner is not None

    def current_namer():
        return learner.namer if learner is not None else namer

    @app.get("/health")
    def health():
        return {"status": "ok", "version": package_version(),
                "models": {"segmentation": True, "embedding": True,
                           "speaker_model": with_names, "learn": learner is not None},
                "sessions": sessions.open, "max_sessions": config.max_sessions,
                "load": {"cpu_per_second": round(meter.load(), 3),
                         "capacity": round(meter.capacity(), 3),
                         "session_cpu_per_audio_second": meter.cost()}}

    @app.get("/", response_class=HTMLResponse)
    def page():
        return HTMLResponse(_static("index.html"))

    @app.get("/static/{name}")
    def static(name: str):
        if name not in STATIC_TYPES:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return Response(_static(name), media_type=STATIC_TYPES[name])

    @app.websocket("/ws/session")
    async def session(ws: WebSocket):
        await ws.accept()
        if config.token is not None and not _authorised(ws, config.token):
            await _refuse(ws, "missing or wrong token (pass ?token=... or an Authorization: "
                              "Bearer header)", protocol.CLOSE_POLICY)
            return
        if sessions.open >= config.max_sessions:
            await _refuse(ws, f"server busy: {sessions.open} sessions open, the limit is "
                              f"{config.max_sessions} (--max-sessions); try again later",
                          protocol.CLOSE_TRY_AGAIN)
            return
        fits, why = meter.admit(sessions.open)
        if not fits:
            await _refuse(ws, why, protocol.CLOSE_TRY_AGAIN)
            return
        sessions.open += 1
        try:
            await _run_session(ws, sessions, config, pool, models, current_namer, learner,
                               with_names, meter)
        except (WebSocketDisconnect, OSError):
            log.debug("client left")
        except Exception:                # noqa: BLE001  one session's failure, not the server's
            log.exception("live session failed")
            await _refuse(ws, "internal server error; session closed", protocol.CLOSE_INTERNAL)
        finally:
            sessions.open -= 1

    return app


async def _run_session(ws, sessions, config, pool, models, current_namer, learner,
                       with_names, meter) -> None:
    loop = asyncio.get_running_loop()
    diarizer = None
    lag = LagTracker()
    last_lag_event = -float("inf")
    while True:
        try:
            waiting = time.monotonic()
            message = await asyncio.wait_for(ws.receive(), config.idle_timeout)
            lag.waited(time.monotonic() - waiting)
        except asyncio.TimeoutError:
            await _refuse(ws, f"no message for {config.idle_timeout:g} s; session closed",
                          protocol.CLOSE_GOING_AWAY)
            return
        if message["type"] == "websocket.disconnect":
            return
        try:
            if message.get("text") is not None:
                request = protocol.parse_message(message["text"])
                if isinstance(request, protocol.Start):
                    if diarizer is not None:
                        raise ProtocolError("session already started; send {\"action\": "
                                            "\"stop\"} first")
                    online = replace(config.online, num_speakers=request.num_speakers)
                    diarizer = OnlineDiarizer(models, online, namer=current_namer())
                    sessions.started += 1
                    await ws.send_json(protocol.started(request.num_speakers))
                    continue
                if diarizer is None:
                    raise ProtocolError("stop before start: nothing to report")
                report = await loop.run_in_executor(pool, diarizer.finish)
                learned = None
                if learner is not None:
                    learned = await _learn(loop, pool, learner, diarizer, ws,
                                           f"live session {sessions.started}")
                await ws.send_json(protocol.report(report, learned=learned))
                await ws.close(protocol.CLOSE_NORMAL)
                return
            data = message.get("bytes") or b""
            if len(data) > protocol.MAX_FRAME_BYTES:
                await _refuse(ws, str(ProtocolError(
                    f"audio frame too large: {len(data)} bytes, at most "
                    f"{protocol.MAX_FRAME_BYTES}")), protocol.CLOSE_TOO_BIG)
                return
            y = protocol.decode_pcm(data)
            if diarizer is None:
                raise ProtocolError("audio before start: send {\"action\": \"start\"} first; "
                                    "frame dropped")
            for event in await loop.run_in_executor(pool, _measured, meter, diarizer, y):
                await ws.send_json(protocol.speaker_event(event, with_names=with_names))
            behind = lag.processed(y.size / SAMPLE_RATE)
            if behind > config.max_lag_seconds and \
                    time.monotonic() - last_lag_event >= config.lag_event_seconds:
                last_lag_event = time.monotonic()
                await ws.send_json(protocol.lagging(behind, config.max_lag_seconds))
        except ProtocolError as e:
            await ws.send_json(protocol.error(str(e)))
        except StreamzError as e:       # e.g. the model file is locked for too long
            await ws.send_json(protocol.error(str(e)))


def _measured(meter: LoadMeter, diarizer: OnlineDiarizer, y):
    """``diarizer.push(y)`` with its thread CPU time recorded in ``meter``."""
    start = time.thread_time()
    try:
        return diarizer.push(y)
    finally:
        meter.record(time.thread_time() - start, y.size / SAMPLE_RATE)


async def _learn(loop, pool, learner, diarizer, ws, source: str) -> list:
    """Learn the session's voices; a failure (e.g. the model locked by a long ``train``
    run) is reported to the client and the report still follows."""
    try:
        return await loop.run_in_executor(pool, lambda: learner.learn(diarizer.learnable(),
                                                                      source=source))
    except StreamzError as e:
        await ws.send_json(protocol.error(f"nothing learned: {e}"))
        return []


def _authorised(ws: WebSocket, token: str) -> bool:
    given = ws.query_params.get("token")
    header = ws.headers.get("authorization", "")
    if given is None and header.lower().startswith("bearer "):
        given = header[7:].strip()
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


async def _refuse(ws: WebSocket, message: str, code: int) -> None:
    try:
        await ws.send_json(protocol.error(message))
        await ws.close(code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass                          # the client is already gone


def _static(name: str) -> bytes:
    return resources.files("streamz_speaker.live").joinpath("static", name).read_bytes()
