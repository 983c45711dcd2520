"""Live commands of the CLI: ``serve`` (the WebSocket server) and ``stream`` (its client)."""

from __future__ import annotations

import json
import sys

import click

from ..core import install_hint
from ..core.errors import MissingDependencyError, StreamzError
from ._shared import DEFAULT_MODEL, notice, shown, threshold_option, verbosity_options

def _require_serve_extra(command: str):
    """Import the optional server packages, or say which install provides them."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError(
            f"streamz {command} needs {e.name}, which is not installed: "
            f"{install_hint('serve')} (in a checkout: pip install -e '.[serve]')") from None


@click.command()
@verbosity_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; use with --token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--model", "model_path", type=click.Path(), default=None,
              help=f"Speaker model (.npz) whose enrolled speakers name live speakers "
                   f"(with --learn: default {DEFAULT_MODEL}, created when missing).")
@threshold_option
@click.option("--learn", is_flag=True,
              help="When a session stops, add voices with enough clean speech to the model "
                   "(new speaker_NNN, or refresh the matched speaker).")
@click.option("--max-sessions", type=click.IntRange(min=1), default=8, show_default=True,
              help="Open sessions allowed at once; more are refused.")
@click.option("--max-speakers", type=click.IntRange(1, 20), default=5, show_default=True,
              help="Most speakers found when a client does not give num_speakers.")
@click.option("--token", envvar="STREAMZ_TOKEN", default=None,
              help="Clients must send this token (?token= or Authorization: Bearer); "
                   "default: $STREAMZ_TOKEN.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Threads running the models (0: one per core).")
def serve(host, port, model_path, threshold, learn, max_sessions, max_speakers, token,
          workers):
    """Track live speakers: WebSocket server and page.

    Clients connect to ws://HOST:PORT/ws/session and stream 16 kHz 16-bit mono PCM; the
    server answers with speaker events and a report (see README). GET / is a page that
    tracks the speakers heard by your microphone; GET /health reports the state. No audio
    is written anywhere.

    \b
    Example:
        streamz serve --port 8000 --model models/model.npz
    """
    _require_serve_extra("serve")
    import uvicorn

    from ..diarization.pipeline import load_models
    from ..live.online import OnlineConfig
    from ..live.server import UVICORN_OPTIONS, ServerConfig, create_app

    learner = namer = None
    if learn:
        from ..live.learning import VoiceLearner

        learner = VoiceLearner(model_path or DEFAULT_MODEL, threshold)
    elif model_path is not None:
        from ..live.learning import SpeakerNamer
        from ..speaker_id.persistence import load_model

        namer = SpeakerNamer(load_model(model_path), threshold)
    config = ServerConfig(max_sessions=max_sessions, token=token, workers=workers,
                          online=OnlineConfig(max_speakers=max_speakers))
    app = create_app(load_models(), config, learner=learner, namer=namer)
    if host not in ("127.0.0.1", "localhost", "::1") and token is None:
        notice(f"Warning: listening on {host} without --token: anyone who reaches this "
               "port can use the server")
    notice(f"StreamZ live server on http://{host}:{port}/ (WebSocket /ws/session)"
           + (f", learning voices into {shown(learner.model_path)}" if learner else ""))
    from threadpoolctl import threadpool_limits

    # the per-step arrays are small: one BLAS thread each, not threads fighting for cores
    with threadpool_limits(limits=1, user_api="blas"):
        uvicorn.run(app, host=host, port=port, log_level="warning", **UVICORN_OPTIONS)


@click.command()
@verbosity_options
@click.argument("audio", type=click.Path())
@click.option("--url", default="ws://127.0.0.1:8000/ws/session", show_default=True,
              help="The server's session URL.")
@click.option("--speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Times real time to send the audio at; 0: as fast as the server takes it.")
@click.option("--num-speakers", type=click.IntRange(1, 5), default=None,
              help="Tell the server how many speakers there are (default: it finds out).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the report's segments as RTTM here.")
@click.option("--token", envvar="STREAMZ_TOKEN", default=None,
              help="Token the server requires (default: $STREAMZ_TOKEN).")
def stream(audio, url, speed, num_speakers, output, token):
    """Stream AUDIO to a live server, print its events.

    The file (any format streamz reads) is decoded to 16 kHz 16-bit mono and sent in
    0.1 s frames at --speed times real time. Every server message is printed as one JSON
    line on stdout; the report's segments can be written as RTTM.

    \b
    Example:
        streamz stream meeting.flac --speed 0 -o meeting.rttm
    """
    _require_serve_extra("stream")
    from pathlib import Path

    from ..core.audio import load_audio
    from ..live.client import stream_file

    y = load_audio(audio)
    uri = Path(audio).stem.replace(" ", "_") or "audio"

    def show(message: dict):
        click.echo(json.dumps(message))
        sys.stdout.flush()

    report = stream_file(y, url, speed=speed, num_speakers=num_speakers, token=token,
                         on_message=show)
    if output is not None:
        from ..live.client import write_report_rttm

        write_report_rttm(report, uri, output)
        notice(f"RTTM written to {shown(output)}")
    if report.get("event") != "report":
        raise StreamzError(f"{url}: the server closed the session without a report")
