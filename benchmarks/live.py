"""Live-tracking benchmark: online vs offline DER, event latency, concurrent real-time sessions.

Usage::

    python benchmarks/live.py [--corpus ../shared/data/dev-wide/diar] [--only der|kernels|capacity|latency]
                              [--files conv02,conv04] [--sessions 1,2,4,6,8] [--seconds 40]

DER: the even-numbered dev-wide conversations (the reporting half; ``--half odd`` for the
tuning half), collar 0, overlap scored; online = the report's segments of
:class:`streamz_speaker.live.online.OnlineDiarizer` fed 0.5 s blocks (what ``streamz stream -o``
writes: windows matched again with 10 s of hindsight, ids merged by a re-clustering folded
in), "events" = what the live events showed (each event's speaker over the step before it,
one speaker at a time), offline = ``streamz diarize`` with the defaults.
"id changes / swaps": reference voices whose main online id is not the same in the first
and the second half of their speech, and pairs of voices whose ids traded places. RTTMs of
both go to --rttm-dir.

Latency: a ``streamz serve`` child process; N clients stream a conversation at real time
(0.1 s frames) at once. For each event, ``step end -> event`` is the wall time from the
moment the last sample of its step was sent to its arrival; ``audio -> event`` adds the
step (0.5 s): the wait of the step's first sample, the worst case of any sample. One session
on one core runs the server under ``taskset -c 0`` with one worker thread. The server's CPU
time per second of audio of one session tells how many sessions the cores hold when the
machine is not shared (cores / CPU time), whatever other load there is; ``capacity``
measures the CPU time of every step of one session and simulates N real-time sessions on
dedicated cores with those step costs (what the latency runs measure when the machine is
not shared with other jobs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "dev-wide" / "diar"


def half_files(corpus: Path, half: str = "even") -> list[Path]:
    """The conversations of one half of dev-wide (odd: the tuning half)."""
    names = (corpus / "files.txt").read_text().split()
    return [corpus / n for n in names if int(Path(n).stem[4:]) % 2 == (half == "odd")]


def id_changes(reference, segments) -> tuple[int, int]:
    """Reference voices whose main online id differs between the first and the second half
    of their speech (a voice given an id of its own later, or taken over), and how many
    pairs of voices swapped ids (a's first id is b's second and b's first is a's second)."""
    mains = {}
    for label in {s.label for s in reference}:
        turns = sorted((s for s in reference if s.label == label), key=lambda s: s.start)
        half = sum(t.duration for t in turns) / 2
        parts, spoken = [{}, {}], 0.0
        for turn in turns:
            part = parts[spoken >= half]
            spoken += turn.duration
            for seg in segments:
                both = min(turn.end, seg.end) - max(turn.start, seg.start)
                if both > 0:
                    part[seg.label] = part.get(seg.label, 0.0) + both
        if all(parts):
            mains[label] = tuple(max(p, key=p.get) for p in parts)
    changed = [m for m in mains.values() if m[0] != m[1]]
    swaps = sum((b, a) in changed for a, b in changed) // 2
    return len(changed), swaps


def run_der(corpus: Path, names, rttm_dir: Path, half: str, settings: dict) -> None:
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization import diarize
    from streamz_speaker.diarization.pipeline import load_models
    from streamz_speaker.diarization.rttm import Segment, read_rttm, speaker_label, write_rttm
    from streamz_speaker.live.online import OnlineConfig, OnlineDiarizer, report_segments
    from streamz_speaker.diarization.scoring import diarization_error, read_uem

    models = load_models()
    reference, uem = read_rttm(corpus / "all.rttm"), read_uem(corpus / "all.uem")
    files = [f for f in half_files(corpus, half) if not names or f.stem in names]
    config = OnlineConfig(**settings)
    print(f"online config: {config}")
    print("| file | spk ref | DER offline % | DER online % | miss/FA/conf online % | "
          "DER events % | spk found off/on | id changes / swaps | online x realtime |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals, changes = {"off": [], "on": [], "live": []}, np.zeros(2, int)
    for path in files:
        uri, y = path.stem, load_audio(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            offline = diarize(y, models=models, uri=uri)
        t0 = time.perf_counter()
        diarizer, events = OnlineDiarizer(models, config), []
        for i in range(0, y.size, 8000):           # 0.5 s blocks, as a stream would come
            events += diarizer.push(y[i:i + 8000])
        report = diarizer.finish()
        elapsed = time.perf_counter() - t0
        online = report_segments(report)
        # what the live events showed: one speaker per step, the step before each event
        live = [Segment(e.time - config.step_seconds, e.time, speaker_label(e.speaker))
                for e in events]
        rttm_dir.mkdir(parents=True, exist_ok=True)
        write_rttm(rttm_dir / f"{uri}.online.rttm", online, uri)
        write_rttm(rttm_dir / f"{uri}.offline.rttm", offline.segments, uri)
        ref = reference[uri]
        e_off = diarization_error(ref, list(offline.segments), uem=uem[uri])
        e_on = diarization_error(ref, online, uem=uem[uri])
        totals["off"].append(e_off)
        totals["on"].append(e_on)
        e_live = diarization_error(ref, live, uem=uem[uri])
        totals["live"].append(e_live)
        changed = id_changes(ref, online)
        changes += changed
        print(f"| {uri} | {len({s.label for s in ref})} | {100 * e_off.der:.1f} | "
              f"{100 * e_on.der:.1f} | {100 * e_on.missed / e_on.total:.1f} / "
              f"{100 * e_on.false_alarm / e_on.total:.1f} / "
              f"{100 * e_on.confusion / e_on.total:.1f} | {100 * e_live.der:.1f} | "
              f"{offline.num_speakers} / "
              f"{len(report.speakers)} | {changed[0]} / {changed[1]} | "
              f"{y.size / 16000 / elapsed:.2f} |", flush=True)

    def total(errors):
        t = sum(e.total for e in errors)
        return 100 * sum(e.missed + e.false_alarm + e.confusion for e in errors) / t

    print(f"| TOTAL | | {total(totals['off']):.2f} | {total(totals['on']):.2f} | | "
          f"{total(totals['live']):.2f} | | {changes[0]} / {changes[1]} | |")


def _serve(port: int, one_core: bool, max_sessions: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "streamz_speaker", "-q", "serve", "--port", str(port),
               "--max-sessions", str(max_sessions)]
    if one_core:
        command = ["taskset", "-c", "0"] + command + ["--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import urllib.request

    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {process.stderr.read().decode()}")


def _client(url: str, y: np.ndarray, out: list) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        _stream(url, y, out)
    except (ConnectionClosed, OSError, TimeoutError) as e:
        out.append(e)


def _stream(url: str, y: np.ndarray, out: list) -> None:
    from websockets.sync.client import connect

    from streamz_speaker.live.client import to_pcm16

    frame = 1600
    with connect(url, max_size=None, ping_interval=None) as ws:
        ws.send('{"action": "start"}')
        json.loads(ws.recv())
        t0 = time.monotonic()
        for i in range(0, y.size, frame):
            # as a microphone does: a frame leaves when its last sample has been spoken
            # (the sample at stream time T is spoken at t0 + T)
            sent = t0 + (i + frame) / 16000
            while True:
                wait = sent - time.monotonic()
                try:
                    message = json.loads(ws.recv(timeout=max(wait, 0)))
                except TimeoutError:
                    break
                if message.get("event") == "speaker":
                    out.append(time.monotonic() - t0 - message["audioTimeMs"] / 1000)
                elif message.get("event") == "lagging":
                    out.append(("lagging", message["lagMs"]))
            ws.send(to_pcm16(y[i:i + frame]))
        ws.send('{"action": "stop"}')
        while json.loads(ws.recv(timeout=60)).get("event") != "report":
            pass


def run_kernels() -> None:
    """Per-step small-array code: NumPy against the Numba kernel, and the other steps."""
    from streamz_speaker.diarization import embedding
    from streamz_speaker.diarization.pipeline import load_models
    from streamz_speaker.live._kernels import masked_moments
    from streamz_speaker.live.clustering import IncrementalClustering
    from streamz_speaker.live.frontend import window_embeddings
    from streamz_speaker.live.timeline import Timeline

    rng = np.random.default_rng(0)
    activity = np.zeros((589, 3), np.float32)
    activity[:300, 0], activity[250:, 1] = 1, 1
    features = rng.standard_normal((500, 512)).astype(np.float32)
    masks = embedding.pooling_masks(activity[None])
    head = load_models().head

    def ms(fn, n=300):
        fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return 1000 * (time.perf_counter() - t0) / n

    clustering = IncrementalClustering(5, 0.45, 0.3)
    emb, yes = rng.standard_normal((3, 192)), np.ones(3, bool)
    timeline, k = Timeline(5, count_threshold=0.7, max_turns=10_000), [0]
    window = np.zeros((589, 5), np.float32)
    window[:200, 0] = 1

    def timeline_step():
        timeline.add(30 * k[0], window, window.sum(axis=1))
        timeline.finalize(30 * k[0] + 30)
        k[0] += 1

    rows = [("masked moments, NumPy (float64 matmuls, embedding.pool)",
             ms(lambda: embedding.pool(features[None], masks))),
            ("masked moments, Numba kernel (live._kernels)",
             ms(lambda: masked_moments(features, masks[0]))),
            ("window_embeddings (kernel + head)",
             ms(lambda: window_embeddings(head, activity, features))),
            ("incremental clustering", ms(lambda: clustering(emb, yes, yes))),
            ("timeline add + finalize", ms(timeline_step))]
    print("| per-step code | ms |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:.2f} |")


def step_cpu_times(y: np.ndarray) -> np.ndarray:
    """CPU time (of the calling thread) of every step of one session over ``y``."""
    from streamz_speaker.diarization.pipeline import load_models
    from streamz_speaker.live.online import OnlineDiarizer

    diarizer = OnlineDiarizer(load_models())
    step, times = diarizer.step, []
    diarizer.push(y[:step])                                   # warm-up (first calls)
    for i in range(step, y.size - step + 1, step):
        t0 = time.thread_time()
        diarizer.push(y[i:i + step])
        times.append(time.thread_time() - t0)
    return np.array(times)


def simulate(service: np.ndarray, sessions: int, cores: int, *, step: float = 0.5,
             seconds: float = 60.0, seed: int = 0) -> np.ndarray:
    """Step end -> event latencies of ``sessions`` real-time streams on ``cores`` dedicated
    workers (first come, first served), each step costing a measured CPU time."""
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, step, sessions)
    ready = sorted((p + step * (k + 1), s) for s, p in enumerate(phases)
                   for k in range(int(seconds / step)))
    free = np.zeros(cores)
    busy_until = np.zeros(sessions)              # a session's steps run one after another
    latencies = []
    for t, s in ready:
        start = max(t, free.min(), busy_until[s])
        core = int(np.argmin(free))
        free[core] = busy_until[s] = start + rng.choice(service)
        latencies.append(free[core] - t)
    return np.array(latencies)


def run_capacity(audio: Path, seconds: float) -> None:
    from streamz_speaker.core.audio import load_audio

    y = load_audio(audio)[:int(seconds * 16000)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        service = step_cpu_times(y)
    print(f"per-step CPU time over {audio.name} ({service.size} steps): p50 "
          f"{1000 * np.median(service):.0f} ms, p95 {1000 * np.percentile(service, 95):.0f} ms,"
          f" mean {1000 * service.mean():.0f} ms ({service.mean() / 0.5:.3f} CPU s per audio s)")
    print("| sessions | dedicated cores | simulated step end -> event p50 / p95 s | "
          "audio -> event p95 s | p95 <= 1 s |")
    print("|---|---|---|---|---|")
    for cores, sessions in [(1, 1), (2, 1), (2, 4), (2, 6), (2, 8), (2, 10), (2, 12)]:
        lat = simulate(service, sessions, cores)
        p50, p95 = np.percentile(lat, [50, 95])
        print(f"| {sessions} | {cores} | {p50:.2f} / {p95:.2f} | {p95 + 0.5:.2f} | "
              f"{'yes' if p95 + 0.5 <= 1 else 'no'} |")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its threads."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_latency(audio: Path, sessions: list[int], seconds: float) -> None:
    from streamz_speaker.core.audio import load_audio

    y = load_audio(audio)                              # conv04: 4 speakers
    y = np.tile(y, int(np.ceil(seconds * 16000 / y.size)))[:int(seconds * 16000)]
    print(f"latency runs: {audio.name}, {seconds:g} s per session")
    port = 8711
    runs = [(1, True)] + [(n, False) for n in sessions]
    print("| sessions | cores | events | step end -> event p50 / p95 s | "
          "audio -> event p50 / p95 s | p95 <= 1 s | server CPU s per audio s | "
          "sessions failed | lagging events |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, one_core in runs:
        if one_core and not shutil.which("taskset"):
            continue
        server = _serve(port, one_core, max_sessions=max(n, 8))
        try:
            results = [[] for _ in range(n)]
            threads = [threading.Thread(target=_client, args=(f"ws://127.0.0.1:{port}/ws/session",
                                                               y, results[k]))
                       for k in range(n)]
            # random phases: each session starts at a random moment of a 0.5 s step
            for t, delay in zip(threads, np.diff(np.concatenate(
                    [[0.0], np.sort(np.random.default_rng(n).uniform(0, 0.5, n))]))):
                time.sleep(delay)
                t.start()
            busy = _cpu_seconds(server.pid)
            for t in threads:
                t.join()
            busy = _cpu_seconds(server.pid) - busy
        finally:
            server.terminate()
            server.wait(timeout=30)
        failed = sum(any(isinstance(x, Exception) for x in r) for r in results)
        lagging = sum(isinstance(x, tuple) for r in results for x in r)
        lat = np.array([x for r in results for x in r if isinstance(x, float)])
        p50, p95 = np.percentile(lat, [50, 95])
        step = 0.5
        print(f"| {n} | {1 if one_core else os.cpu_count()} | {lat.size} | {p50:.2f} / "
              f"{p95:.2f} | {p50 + step:.2f} / {p95 + step:.2f} | "
              f"{'yes' if p95 + step <= 1.0 and not failed else 'no'} | "
              f"{busy / (n * y.size / 16000):.3f} | {failed} | {lagging} |",
              flush=True)
        port += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", choices=["der", "latency", "kernels", "capacity"])
    parser.add_argument("--half", choices=["even", "odd"], default="even",
                        help="dev-wide half scored (odd: the half the settings were tuned on)")
    parser.add_argument("--files", default="", help="comma-separated uris (default: the half)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an OnlineConfig setting for the DER runs (repeatable), e.g. "
                             "recluster_after=80")
    parser.add_argument("--sessions", default="1,2,4,6,8")
    parser.add_argument("--rttm-dir", type=Path, default=REPO / "build" / "live-rttm")
    parser.add_argument("--seconds", type=float, default=40.0,
                        help="audio streamed per session in the latency runs")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    present = args.corpus.is_dir()
    if not present:
        print(f"{args.corpus} not found (the dev-wide corpus lives in ../shared): DER skipped, "
              f"latency measured on examples/meeting.flac")
    if args.only in (None, "der") and present:
        run_der(args.corpus, [n for n in args.files.split(",") if n], args.rttm_dir, args.half,
                {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.set)})
    if args.only in (None, "kernels"):
        run_kernels()
    audio = half_files(args.corpus)[1] if present else REPO / "examples" / "meeting.flac"
    if args.only in (None, "capacity"):
        run_capacity(audio, args.seconds)
    if args.only in (None, "latency"):
        run_latency(audio, [int(n) for n in args.sessions.split(",")], args.seconds)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
