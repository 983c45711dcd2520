"""The live server: health, page, the WebSocket protocol and its error cases."""

import json

import numpy as np
import pytest

from live_support import live_models, meeting, pcm  # noqa: F401  fixtures
from streamz_speaker.live import protocol

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from streamz_speaker.live.server import ServerConfig, create_app  # noqa: E402

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def client(live_models):
    with TestClient(create_app(live_models, ServerConfig(max_sessions=2))) as c:
        yield c


def closed_with(ws):
    """Read until the server closes; returns (messages, close code)."""
    messages = []
    with pytest.raises(WebSocketDisconnect) as info:
        while True:
            messages.append(ws.receive_json())
    return messages, info.value.code


def test_health_and_page(client):
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["sessions"] == 0 and body["max_sessions"] == 2
    assert body["models"]["segmentation"] and body["version"]
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "AudioWorkletNode" in client.get("/static/app.js").text
    assert client.get("/static/worklet.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/../server.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


def test_a_session_follows_the_reference_protocol(client, meeting):
    y = meeting[:12 * 16000]
    with client.websocket_connect("/ws/session") as ws:
        ws.send_text(json.dumps({"action": "start", "num_speakers": 2}))
        assert ws.receive_json() == {"event": "started", "num_speakers": 2}
        for i in range(0, y.size, 1600):
            ws.send_bytes(pcm(y[i:i + 1600]))
        ws.send_text(json.dumps({"action": "stop"}))
        messages, code = closed_with(ws)
    assert code == protocol.CLOSE_NORMAL
    events, report = messages[:-1], messages[-1]
    assert events and all(e["event"] == "speaker" for e in events)
    assert set(events[0]) == {"event", "currentSpeakerId", "speakingTimeMs", "audioTimeMs"}
    times = [e["audioTimeMs"] for e in events]
    assert times == sorted(times) and times[-1] <= 12000
    assert report["event"] == "report" and report["durationMs"] == 12000
    assert {s["id"] for s in report["speakers"]} <= {0, 1}
    for seg in report["segments"]:
        assert 0 <= seg["start"] < seg["end"] <= 12.0 and seg["name"] is None
    assert sum(s["totalTimeMs"] for s in report["speakers"]) > 5000


def test_automatic_count_is_announced_as_null(client):
    with client.websocket_connect("/ws/session") as ws:
        ws.send_text('{"action": "start"}')
        assert ws.receive_json() == {"event": "started", "num_speakers": None}
        ws.send_text('{"action": "stop"}')
        messages, code = closed_with(ws)
    assert messages[-1]["speakers"] == [] and code == protocol.CLOSE_NORMAL


@pytest.mark.parametrize("send, message", [
    (lambda ws: ws.send_text("{oops"), "malformed JSON"),
    (lambda ws: ws.send_text('{"action": "dance"}'), "unknown action 'dance'"),
    (lambda ws: ws.send_bytes(b"\x00\x00"), "audio before start"),
    (lambda ws: ws.send_text('{"action": "stop"}'), "stop before start"),
    (lambda ws: ws.send_text('{"action": "start", "num_speakers": 9}'), "num_speakers"),
])
def test_bad_messages_get_an_error_and_the_session_goes_on(client, send, message):
    with client.websocket_connect("/ws/session") as ws:
        send(ws)
        reply = ws.receive_json()
        assert reply["event"] == "error" and message in reply["message"]
        ws.send_text('{"action": "start"}')
        assert ws.receive_json()["event"] == "started"
        ws.send_bytes(b"\x00\x01\x02")                      # odd byte count: dropped
        assert "even number of bytes" in ws.receive_json()["message"]
        ws.send_text('{"action": "start"}')
        assert "already started" in ws.receive_json()["message"]
        ws.send_bytes(pcm(np.zeros(1600, np.float32)))
        ws.send_text('{"action": "stop"}')
        messages, code = closed_with(ws)
    assert messages[-1]["event"] == "report" and messages[-1]["durationMs"] == 100


def test_oversized_frames_close_the_session(client):
    with client.websocket_connect("/ws/session") as ws:
        ws.send_text('{"action": "start"}')
        ws.receive_json()
        ws.send_bytes(bytes(protocol.MAX_FRAME_BYTES + 2))
        messages, code = closed_with(ws)
    assert code == protocol.CLOSE_TOO_BIG and "too large" in messages[0]["message"]
    assert client.get("/health").json()["sessions"] == 0


def test_max_sessions_refuses_more(client):
    with client.websocket_connect("/ws/session") as a, \
            client.websocket_connect("/ws/session") as b:
        a.send_text('{"action": "start"}')
        b.send_text('{"action": "start"}')
        a.receive_json(), b.receive_json()
        assert client.get("/health").json()["sessions"] == 2
        with client.websocket_connect("/ws/session") as c:
            messages, code = closed_with(c)
        assert code == protocol.CLOSE_TRY_AGAIN
        assert "server busy: 2 sessions open, the limit is 2" in messages[0]["message"]
    with client.websocket_connect("/ws/session") as d:     # slots are given back
        d.send_text('{"action": "start"}')
        assert d.receive_json()["event"] == "started"


def test_token_is_required_when_set(live_models):
    app = create_app(live_models, ServerConfig(token="s3cret"))
    with TestClient(app) as c:
        for path, headers in [("/ws/session", {}), ("/ws/session?token=wrong", {}),
                              ("/ws/session", {"Authorization": "Bearer nope"})]:
            with c.websocket_connect(path, headers=headers) as ws:
                messages, code = closed_with(ws)
            assert code == protocol.CLOSE_POLICY and "token" in messages[0]["message"]
        for path, headers in [("/ws/session?token=s3cret", {}),
                              ("/ws/session", {"Authorization": "Bearer s3cret"})]:
            with c.websocket_connect(path, headers=headers) as ws:
                ws.send_text('{"action": "start"}')
                assert ws.receive_json()["event"] == "started"


def test_idle_clients_are_closed(live_models):
    with TestClient(create_app(live_models, ServerConfig(idle_timeout=0.3))) as c:
        with c.websocket_connect("/ws/session") as ws:
            messages, code = closed_with(ws)
    assert code == protocol.CLOSE_GOING_AWAY and "no message for 0.3 s" in messages[0]["message"]


def test_failed_learning_is_reported_and_the_report_follows(live_models):
    from streamz_speaker.core.errors import LockError

    class Locked:
        namer = None

        def learn(self, voices, *, source):
            raise LockError("models/model.npz.lock: locked by another streamz process")

    with TestClient(create_app(live_models, learner=Locked())) as c:
        with c.websocket_connect("/ws/session") as ws:
            ws.send_text('{"action": "start"}')
            ws.receive_json()
            ws.send_text('{"action": "stop"}')
            messages, code = closed_with(ws)
    assert messages[0] == {"event": "error", "message": "nothing learned: models/model.npz."
                                                        "lock: locked by another streamz process"}
    assert messages[1]["event"] == "report" and messages[1]["learned"] == []
    assert code == protocol.CLOSE_NORMAL
