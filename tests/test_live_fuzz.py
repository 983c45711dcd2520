"""Fuzzing the live server: hundreds of sessions sending random frames, random JSON and
vanishing at random points, next to a well-behaved session."""

import gc
import json
import random
import threading
import time

import numpy as np
import pytest

from live_support import live_models, meeting, pcm, running_server  # noqa: F401  fixtures

pytest.importorskip("uvicorn")
psutil = pytest.importorskip("psutil")

pytestmark = [pytest.mark.slow, pytest.mark.models]

SESSIONS = 300
THREADS = 6
_COUNT = threading.Lock()


def bump(stats: dict, key: str) -> None:
    with _COUNT:
        stats[key] = stats.get(key, 0) + 1


def random_text(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return json.dumps({"action": rng.choice(["start", "stop", "pause", None, 3]),
                           "num_speakers": rng.choice([None, 0, 1, 5, 6, -1, "2", 2.5, True])})
    if kind == 1:
        return json.dumps(rng.choice([[], [1, 2], "start", 42, None, {"a": {"b": []}}]))
    if kind == 2:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(0, 40)))
    if kind == 3:
        return "{" * rng.randrange(1, 5000)
    return json.dumps({"action": rng.choice(["start", "stop"])})


def random_frame(rng: random.Random) -> bytes:
    size = rng.choice([0, 1, 3, 2 * rng.randrange(1, 800), 2 * rng.randrange(1, 4000),
                       rng.randrange(320_001, 400_000)])
    return rng.randbytes(size)


def fuzz_session(url: str, seed: int, stats: dict) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.sync.client import connect

    rng = random.Random(seed)
    try:
        ws = connect(url, open_timeout=30, max_size=None)
    except (OSError, InvalidHandshake, TimeoutError):
        bump(stats, "refused")
        return
    with ws:
        try:
            _fuzz(ws, rng, stats)
        except (ConnectionClosed, OSError, TimeoutError):
            pass
    bump(stats, "done")


def _fuzz(ws, rng: random.Random, stats: dict) -> None:
    for _ in range(rng.randrange(0, 12)):
        if rng.random() < 0.5:
            ws.send(random_text(rng))
        else:
            ws.send(random_frame(rng))
        if rng.random() < 0.3:
            try:
                reply = json.loads(ws.recv(timeout=rng.choice([0, 0.05, 1])))
                bump(stats, reply["event"])
            except TimeoutError:
                pass
    end = rng.randrange(3)
    if end == 0:                                   # vanish: no close handshake
        ws.socket.close()
    elif end == 1:
        ws.close()
    else:
        ws.send('{"action": "stop"}')
        while json.loads(ws.recv(timeout=30))["event"] not in ("report", "error"):
            pass


def good_session(url: str, y: np.ndarray, out: dict) -> None:
    from streamz_speaker.live.client import stream_file

    out["events"] = []
    out["report"] = stream_file(y, url, speed=0, on_message=out["events"].append)


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def test_fuzzed_sessions_do_not_hurt_the_server_or_others(live_models, meeting):
    from streamz_speaker.live.online import diarize_stream
    from streamz_speaker.live.protocol import decode_pcm, report
    from streamz_speaker.live.server import ServerConfig, create_app

    y = decode_pcm(pcm(meeting[:10 * 16000]))
    _, expected = diarize_stream(y, live_models, block_seconds=0.1)
    app = create_app(live_models, ServerConfig(max_sessions=32, idle_timeout=20))
    with running_server(app) as (host, port):
        url = f"ws://{host}:{port}/ws/session"
        stats = {"refused": 0, "done": 0}
        for seed in range(20):                           # warm-up: arenas, imports
            fuzz_session(url, 10_000 + seed, stats)
        baseline = rss()
        good: dict = {}
        worker = threading.Thread(target=good_session, args=(url, y, good))
        worker.start()
        seeds = iter(range(SESSIONS))
        lock = threading.Lock()

        def fuzzer():
            while True:
                with lock:
                    seed = next(seeds, None)
                if seed is None:
                    return
                fuzz_session(url, seed, stats)

        threads = [threading.Thread(target=fuzzer) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads + [worker]:
            t.join(timeout=600)
        import urllib.request

        def health():
            with urllib.request.urlopen(f"http://{host}:{port}/health") as r:
                return json.load(r)

        deadline = time.monotonic() + 30
        while (state := health())["sessions"] and time.monotonic() < deadline:
            time.sleep(0.2)
        after = rss()
    assert state["status"] == "ok" and state["sessions"] == 0
    assert stats["done"] + stats["refused"] == SESSIONS + 20 and stats.get("error", 0) > 50
    # the well-behaved session got exactly what it gets alone
    assert good["report"] == json.loads(json.dumps(report(expected)))
    assert all(e["event"] == "speaker" for e in good["events"][1:-1])
    # memory back to baseline: nothing of the finished sessions is kept
    assert after - baseline < 60 * 2 ** 20, (baseline, after)
