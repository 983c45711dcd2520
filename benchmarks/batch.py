"""Batch benchmark: throughput on 1 and 2 local workers and a 2-worker LocalCluster, peak RSS
of 2-hour inputs that need decoding or resampling, and a batch killed and resumed.

Usage::

    python benchmarks/batch.py                    # everything (about 30 min on 2 cores)
    python benchmarks/batch.py --skip-rss --kills 0
    python benchmarks/batch.py --only-rss --hours 2
    python benchmarks/batch.py --corpora dc --fast --kills 2 --skip-rss   # a quick look

Diarization throughput: ``streamz -q diarize LIST -o OUT`` on the conversations of the dev
corpora (both, when present: ../shared/data/dev-corpus/diar and dev-wide/diar), timed from
the command's start to its end (start-up and model loading included), with ``--jobs 1``,
``--jobs 2`` and ``--scheduler`` of a LocalCluster (2 worker processes, 1 thread each,
started before the clock); with the CPU seconds the run used (its workers included) and the
cores it kept busy on average (CPU / wall), which other jobs on the machine do not change
much, unlike the wall time. The RTTMs of the three runs are compared byte for byte, and
scored (DER, collar 0, overlap scored). Feature extraction: speaker-ID features (CAM++
windows, no cache) of the corpora's id/ files through ``extraction.extract_many`` on the
same three kinds of workers. Peak RSS: a child process diarizes a synthetic 2-hour 44.1 kHz
WAV and a 2-hour 22.05 kHz MP3 (the dev-corpus conversations, looped) given as paths.
Kills: the dev-corpus batch is killed with SIGKILL at random points (every other run with
``--jobs 2``), then resumed; every RTTM must then be there once, equal to the uninterrupted
run's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CORPORA = {"dc": SHARED / "dev-corpus", "dw": SHARED / "dev-wide"}


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}")


def conversations(folder: Path, corpora: dict) -> tuple[Path, dict]:
    """A list of the corpora's conversations as links named PREFIX-convNN (distinct uris)."""
    links = folder / "audio"
    links.mkdir()
    seconds = {}
    import soundfile as sf

    for prefix, root in corpora.items():
        diar = root / "diar"
        for name in (diar / "files.txt").read_text().split():
            link = links / f"{prefix}-{name}"
            link.symlink_to(diar / name)
            seconds[link.stem] = sf.info(str(diar / name)).duration
    listing = folder / "files.txt"
    listing.write_text("".join(f"{p}\n" for p in sorted(links.iterdir())))
    return listing, seconds


def diarize_run(listing: Path, out: Path, extra: list) -> tuple[float, float]:
    """Wall seconds of a ``streamz diarize`` run, and the CPU seconds of it and its workers
    (local worker processes are its children, reaped before it exits)."""
    command = [sys.executable, "-m", "streamz_speaker", "-q", "diarize", str(listing), "-o", str(out),
               *extra]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise RuntimeError(f"{' '.join(command)} failed ({status})")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def cluster_cpu(address: str | None) -> float:
    """CPU seconds the cluster's worker processes have used so far (0 without a cluster)."""
    if address is None:
        return 0.0
    from distributed import Client

    with Client(address) as client:
        return sum(t[0] + t[1] for t in client.run(os.times).values())


def der(out: Path, corpora: dict) -> float:
    """Corpus DER of the RTTMs in ``out`` (uris PREFIX-convNN)."""
    from streamz_speaker.diarization.rttm import read_rttm
    from streamz_speaker.diarization.scoring import diarization_error, read_uem

    total = None
    for prefix, root in corpora.items():
        reference = read_rttm(root / "diar" / "all.rttm")
        uem = read_uem(root / "diar" / "all.uem")
        for uri in reference:
            hypothesis = read_rttm(out / f"{prefix}-{uri}.rttm").get(f"{prefix}-{uri}", [])
            error = diarization_error(reference[uri], hypothesis, uem=uem[uri])
            total = error if total is None else total + error
    return total.der


def rttms(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.rttm"))}


def throughput(corpora: dict, cluster_address: str | None, work: Path, fast: bool) -> Path:
    listing, seconds = conversations(work, corpora)
    audio_hours = sum(seconds.values()) / 3600
    mode = ["--fast"] if fast else []
    runs = [("1 local worker (--jobs 1)", ["--jobs", "1"]),
            ("2 local workers (--jobs 2)", ["--jobs", "2"]),
            ("1 local worker, 1 thread (--threads 1)", ["--jobs", "1", "--threads", "1"])]
    if cluster_address:
        runs.append(("2-worker LocalCluster (--scheduler)", ["--scheduler", cluster_address]))
    print(f"\nDiarization{' (--fast)' if fast else ''}: {len(seconds)} files, "
          f"{audio_hours * 60:.1f} min of audio; wall time of `streamz -q diarize LIST -o OUT`")
    print(f"{'workers':38s} {'wall s':>7s} {'audio h/h':>9s} {'vs 1':>5s} {'CPU s':>6s} "
          f"{'cores':>5s} {'DER %':>6s} {'RTTMs':>10s}  load")
    first = None
    for i, (name, extra) in enumerate(runs):
        out = work / f"rttm-{i}"
        load = os.getloadavg()[0]
        address = extra[1] if extra[0] == "--scheduler" else None
        before = cluster_cpu(address)
        wall, cpu = diarize_run(listing, out, mode + extra)
        cpu += cluster_cpu(address) - before
        if first is None:
            first = (wall, out)
        same = "identical" if rttms(out) == rttms(first[1]) else "DIFFERENT"
        print(f"{name:38s} {wall:7.1f} {audio_hours / (wall / 3600):9.1f} "
              f"{first[0] / wall:5.2f} {cpu:6.0f} {cpu / wall:5.2f} "
              f"{100 * der(out, corpora):6.2f} {same:>10s}  "
              f"{load:.1f}-{os.getloadavg()[0]:.1f}")
    per_file = [json.loads(line) for line in (first[1] / "manifest.jsonl").read_text().splitlines()]
    busy = sum(r["seconds"] for r in per_file if r["status"] == "done")
    print(f"per-file work of the 1-worker run (manifest): {busy:.1f} s for "
          f"{sum(seconds.values()):.0f} s of audio ({sum(seconds.values()) / busy:.1f}x "
          "realtime; the rest of the wall time is start-up and model loading)")
    return first[1]


def features(corpora: dict, cluster_address: str | None) -> None:
    from streamz_speaker.core.workers import BatchConfig
    from streamz_speaker.core.config import FeatureConfig
    from streamz_speaker.speaker_id.extraction import CacheConfig, extract_many
    from streamz_speaker.speaker_id.ledger import read_ledger

    paths = []
    for root in corpora.values():
        for name in ("train_files.txt", "target_files.txt"):
            paths += [e.path for e in read_ledger(root / "id" / name)]
    configs = [("1 local worker (--jobs 1)", BatchConfig(jobs=1)),
               ("2 local workers (--jobs 2)", BatchConfig(jobs=2))]
    if cluster_address:
        configs.append(("2-worker LocalCluster (--scheduler)",
                        BatchConfig(scheduler=cluster_address)))
    print(f"\nSpeaker-ID features (CAM++ windows, no cache): {len(paths)} files of the id/ "
          "lists; extract_many from its call to its last file (workers' start-up included)")
    print(f"{'workers':38s} {'wall s':>7s} {'audio h/h':>9s} {'vs 1':>5s} {'features':>10s}  load")
    first = None
    for name, config in configs:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        outcomes = extract_many(paths, FeatureConfig(), CacheConfig(None, None), batch=config)
        wall = time.perf_counter() - start
        audio = sum(o.value.audio_seconds for o in outcomes if o.ok)
        values = [o.value.clean for o in outcomes if o.ok]
        if first is None:
            first = (wall, values)
        same = all(a.shape == b.shape and (a == b).all() for a, b in zip(values, first[1]))
        print(f"{name:38s} {wall:7.1f} {audio / wall:9.1f} {first[0] / wall:5.2f} "
              f"{'identical' if same and len(values) == len(first[1]) else 'DIFFERENT':>10s}  "
              f"{load:.1f}-{os.getloadavg()[0]:.1f}")


def make_long(corpus: Path, hours: float, path: Path, rate: int, fmt: str) -> float:
    """The corpus conversations looped to ``hours``, resampled to ``rate``, block by block."""
    import numpy as np
    import soundfile as sf

    from streamz_speaker.core.audio import load_audio, resample

    pieces = [load_audio(corpus / "diar" / name)
              for name in (corpus / "diar" / "files.txt").read_text().split()]
    target, written = int(hours * 3600 * 16_000), 0
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, format=fmt,
                      **({"subtype": "PCM_16"} if fmt == "WAV" else {})) as fh:
        while written < target:
            for y in pieces:
                y = y[: target - written]
                fh.write(np.clip(resample(y, orig_sr=16_000, target_sr=rate), -1, 1))
                written += y.size
                if written >= target:
                    break
    return written / 16_000


_CHILD = """
import resource, sys, time, warnings
warnings.simplefilter("ignore")
from streamz_speaker.diarization import diarize, load_models
models = load_models()
t = time.perf_counter()
r = diarize(sys.argv[1], models=models)
print(time.perf_counter() - t, r.num_speakers)
"""


def peak_rss(corpus: Path, hours: float, work: Path) -> None:
    print(f"\nPeak RSS of a child process that loads the models and diarizes a {hours:g} h file "
          "given as a path (default settings)")
    print(f"{'input':30s} {'peak RSS MiB':>12s} {'diarize s':>9s} {'x realtime':>10s}  load")
    for name, rate, fmt in (("44.1 kHz WAV (PCM 16)", 44_100, "WAV"),
                            ("22.05 kHz MP3", 22_050, "MP3")):
        path = work / f"long.{fmt.lower()}"
        seconds = make_long(corpus, hours, path, rate, fmt)
        load = os.getloadavg()[0]
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        out = child.stdout.read().split()
        _, status, usage = os.wait4(child.pid, 0)
        assert status == 0, status
        print(f"{name:30s} {usage.ru_maxrss / 1024:12.0f} {float(out[0]):9.1f} "
              f"{seconds / float(out[0]):10.1f}  {load:.1f}-{os.getloadavg()[0]:.1f}")
        path.unlink()


def kills(corpus: Path, reference: Path | None, n: int, work: Path, fast: bool) -> None:
    """SIGKILL the dev-corpus batch ``n`` times at random points, then let it finish."""
    listing, seconds = conversations(work, {"dc": corpus})
    mode = ["--fast"] if fast else []
    if reference is None:
        reference = work / "reference"
        diarize_run(listing, reference, mode)
    expected = {name: data for name, data in rttms(reference).items() if name.startswith("dc-")}
    out = work / "killed"
    command = [sys.executable, "-m", "streamz_speaker", "-q", "diarize", str(listing), "-o", str(out),
               *mode]
    rng = random.Random(12)
    done_at_kill = []

    def done() -> int:
        return len(list(out.glob("*.rttm"))) if out.exists() else 0

    for kill in range(n):
        jobs = ["--jobs", "2"] if kill % 2 else []
        process = subprocess.Popen(command + jobs, stderr=subprocess.DEVNULL)
        # a third of the kills once this run has written a file, the others before: during
        # start-up, model loading or a file; each a random 0-3 s later still
        target = done() + rng.choice([0, 0, 1])
        while done() < target and process.poll() is None:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        done_at_kill.append(done())
    subprocess.run(command, check=True)
    found = rttms(out)
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    done = sorted(r["uri"] for r in records if r["status"] == "done")
    others = sorted(p.name for p in out.iterdir() if p.suffix != ".rttm")
    print(f"\nKilled {n} times at random points (RTTMs present at each kill: {done_at_kill}), "
          f"then resumed: {len(found)}/{len(expected)} RTTMs present, "
          f"{sum(found.get(k) == v for k, v in expected.items())} equal to the uninterrupted "
          f"run's (none truncated); 'done' records per file: "
          f"{'each once' if done == sorted(set(done)) and len(done) == len(expected) else done}"
          f"; other files there: {others}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0, help="length of the RSS inputs")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of the resumed batch")
    parser.add_argument("--fast", action="store_true", help="diarize with --fast")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--skip-features", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--only-rss", action="store_true")
    parser.add_argument("--corpora", nargs="+", choices=sorted(CORPORA), default=sorted(CORPORA),
                        help="dc: dev-corpus, dw: dev-wide (default: both)")
    args = parser.parse_args(argv)
    corpora = {k: CORPORA[k] for k in args.corpora if (CORPORA[k] / "diar" / "files.txt").exists()}
    if not corpora:
        print(f"no dev corpus under {SHARED}: nothing to measure", file=sys.stderr)
        return 0
    print(f"machine: {machine()}")
    reference = None
    with tempfile.TemporaryDirectory(prefix="streamz-batch-") as tmp:
        work = Path(tmp)
        if not args.only_rss:
            cluster = None
            if not args.skip_cluster:
                from distributed import LocalCluster

                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
            address = cluster.scheduler_address if cluster else None
            if not args.skip_throughput:
                (work / "diar").mkdir()
                reference = throughput(corpora, address, work / "diar", args.fast)
            if not args.skip_features:
                features(corpora, address)
            if cluster is not None:
                cluster.close()
            if args.kills and "dc" in corpora:
                (work / "kills").mkdir()
                kills(corpora["dc"], reference, args.kills, work / "kills", args.fast)
        if not args.skip_rss and "dc" in corpora:
            peak_rss(corpora["dc"], args.hours, work)
    print(f"\nmachine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
