"""``streamz stream`` against a real server, and ``serve``/``stream`` without the extra."""

import builtins
import json

import numpy as np
import pytest
import soundfile as sf

from cli_support import invoke
from live_support import live_models, running_server  # noqa: F401  fixtures
from streamz_speaker.diarization.rttm import read_rttm

pytest.importorskip("uvicorn")


@pytest.mark.models
def test_stream_prints_events_and_writes_rttm(live_models, tmp_path):
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.live.server import create_app

    from live_support import MEETING

    clip = tmp_path / "part of meeting.wav"           # 44.1 kHz: the client resamples
    y = load_audio(MEETING)[:9 * 16000]
    sf.write(clip, np.interp(np.arange(0, y.size, 16000 / 44100), np.arange(y.size), y),
             44100)
    with running_server(create_app(live_models)) as (host, port):
        result = invoke("stream", clip, "--url", f"ws://{host}:{port}/ws/session",
                        "--speed", "0", "--num-speakers", "3", "-o", tmp_path / "out.rttm")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {"event": "started", "num_speakers": 3}
    assert lines[-1]["event"] == "report"
    assert {line["event"] for line in lines[1:-1]} == {"speaker"}
    turns = read_rttm(tmp_path / "out.rttm")["part_of_meeting"]
    assert len(turns) == len(lines[-1]["segments"]) > 0
    assert turns[0].label.startswith("SPEAKER_")


@pytest.mark.models
def test_stream_paces_audio_in_real_time(live_models, tmp_path):
    from streamz_speaker.live.client import stream_file
    from streamz_speaker.live.server import create_app

    import time

    with running_server(create_app(live_models)) as (host, port):
        t0 = time.monotonic()
        report = stream_file(np.zeros(16000, np.float32), f"ws://{host}:{port}/ws/session",
                             speed=2.0)
        elapsed = time.monotonic() - t0
    assert report["event"] == "report" and report["durationMs"] == 1000
    assert elapsed >= 0.45                             # 1 s of audio at twice real time


def test_stream_reports_an_unreachable_server(tmp_path, make_wav):
    clip = make_wav("a.wav", seconds=0.5)
    result = invoke("stream", clip, "--url", "ws://127.0.0.1:9/ws/session")
    assert result.exit_code == 1
    assert "Error: ws://127.0.0.1:9/ws/session: cannot connect to the live server" in \
        result.stderr


@pytest.mark.parametrize("command", [["serve"], ["stream", "x.wav"]])
def test_missing_extra_says_what_to_install(monkeypatch, command):
    real_import = builtins.__import__

    def no_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError("No module named 'uvicorn'", name="uvicorn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    result = invoke(*command)
    assert result.exit_code == 1
    assert f"Error: streamz {command[0]} needs uvicorn, which is not installed: pip install " \
        "'streamz-speaker[serve]' (in a checkout: pip install -e '.[serve]')" in result.stderr


def test_serve_refuses_a_missing_model_before_listening(tmp_path):
    result = invoke("serve", "--model", tmp_path / "none.npz")
    assert result.exit_code == 1
    assert f"Error: {tmp_path / 'none.npz'}: model not found" in result.stderr
