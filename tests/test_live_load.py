"""Overload is explicit: capacity from the measured load, and a session's lag behind real time."""

import pytest

from live_support import live_models, meeting  # noqa: F401  fixtures

from streamz_speaker.live import protocol
from streamz_speaker.live.load import LagTracker, LoadMeter


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def stream(meter, clock, sessions, seconds, cost, step=0.5):
    """``sessions`` real-time sessions, each step costing ``cost`` CPU s per audio s."""
    for _ in range(int(seconds / step)):
        clock.t += step
        for _ in range(sessions):
            meter.record(cost * step, step)


def test_admits_until_the_measured_load_fills_the_cores():
    clock = Clock()
    meter = LoadMeter(2, max_load=0.85, window=10, clock=clock)
    assert meter.admit(0) == (True, "")                 # nothing measured yet
    stream(meter, clock, 5, 20, cost=0.3)               # 5 sessions: 1.5 CPU s per s
    assert meter.cost() == pytest.approx(0.3)
    assert meter.load() == pytest.approx(1.5, rel=0.1)
    fits, why = meter.admit(5)                          # a 6th needs 1.8 > 1.7
    assert not fits and "server at capacity" in why and "0.30" in why
    cheaper = LoadMeter(2, max_load=0.85, window=10, clock=clock)
    stream(cheaper, clock, 5, 20, cost=0.15)            # the same sessions on a faster CPU
    assert cheaper.admit(5)[0] and cheaper.admit(10)[0] and not cheaper.admit(11)[0]


def test_a_busy_machine_refuses_even_with_few_sessions():
    clock = Clock()
    meter = LoadMeter(2, max_load=0.85, window=10, clock=clock)
    stream(meter, clock, 1, 20, cost=1.7)               # one session faster than real time
    assert not meter.admit(1)[0]


def test_old_records_leave_the_window():
    clock = Clock()
    meter = LoadMeter(2, window=10, clock=clock)
    stream(meter, clock, 6, 10, cost=0.5)
    clock.t += 11
    assert meter.load() == 0 and meter.cost() is None and meter.admit(6)[0]


def test_lag_grows_when_processing_is_slower_than_real_time():
    clock = Clock()
    lag = LagTracker(clock)
    lag.waited(1.0)                                     # first frame: the stream starts
    for _ in range(10):                                 # 0.1 s frames taking 0.2 s each
        clock.t += 0.2
        behind = lag.processed(0.1)
        lag.waited(0.0)                                 # the next frame was already queued
    assert behind == pytest.approx(1.0)


def test_a_pause_of_the_client_is_not_lag():
    clock = Clock()
    lag = LagTracker(clock)
    lag.waited(1.0)
    clock.t += 0.05
    assert lag.processed(0.1) == 0.0
    clock.t += 5.0                                      # the client sends nothing for 5 s
    lag.waited(5.0)
    clock.t += 0.05
    assert lag.processed(0.1) == 0.0


def test_lagging_event_shape():
    event = protocol.lagging(2.345, 2.0)
    assert event["event"] == "lagging" and event["lagMs"] == 2345
    assert "2.3 s behind" in event["message"]


@pytest.mark.models
def test_server_refuses_with_1013_when_the_measured_load_is_full(live_models, monkeypatch):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from streamz_speaker.live import server

    full = (False, "server at capacity: 6 sessions use 1.70 CPU seconds per second, ...")
    monkeypatch.setattr(server.LoadMeter, "admit", lambda self, n: full)
    with TestClient(server.create_app(live_models, server.ServerConfig())) as client:
        body = client.get("/health").json()
        assert body["load"]["capacity"] > 0 and "cpu_per_second" in body["load"]
        with client.websocket_connect("/ws/session") as ws:
            assert "server at capacity" in ws.receive_json()["message"]
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
        assert info.value.code == protocol.CLOSE_TRY_AGAIN


@pytest.mark.models
def test_a_session_behind_real_time_is_told(live_models, meeting, monkeypatch):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from live_support import pcm
    from streamz_speaker.live import server

    monkeypatch.setattr(server.LagTracker, "processed", lambda self, seconds: 3.5)
    config = server.ServerConfig(max_lag_seconds=2.0, lag_event_seconds=1000.0)
    with TestClient(server.create_app(live_models, config)) as client, \
            client.websocket_connect("/ws/session") as ws:
        ws.send_text('{"action": "start"}')
        ws.receive_json()
        for i in range(0, 16000, 1600):
            ws.send_bytes(pcm(meeting[i:i + 1600]))
        ws.send_text('{"action": "stop"}')
        messages = []
        while not messages or messages[-1]["event"] != "report":
            messages.append(ws.receive_json())
    lagging = [m for m in messages if m["event"] == "lagging"]
    assert len(lagging) == 1 and lagging[0]["lagMs"] == 3500           # once per 1000 s
