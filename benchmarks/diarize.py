"""Diarization benchmark: DER per file (collar 0, overlap scored), speaker counts, speed, memory.

Usage::

    python benchmarks/diarize.py [--corpus ../shared/data/dev-corpus/diar] [--long-hours 2]
                                 [--skip-long | --long-only] [--long-fast] [--long-in-memory]
                                 [--skip-fast] [--halves]
    python benchmarks/diarize.py --corpus ../shared/data/dev-wide/diar --skip-long --halves
    python benchmarks/diarize.py --corpus build/real-check --skip-long  # scripts/make_real_check.py

Prints one table per mode (default, --fast) and, for a synthetic long recording (the corpus
conversations concatenated, 16 kHz WAV), its DER, speed and the peak RSS of a child process
that loads the models and diarizes it (by path, streamed; or decoded first).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "dev-corpus" / "diar"


def run_mode(corpus: Path, fast: bool, models) -> list[dict]:
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization import diarize
    from streamz_speaker.diarization.config import (FAST_SEGMENTATION_STEP_SECONDS, DiarizationConfig,
                                                    SegmentationConfig)
    from streamz_speaker.diarization.rttm import read_rttm
    from streamz_speaker.diarization.scoring import diarization_error, read_uem

    config = DiarizationConfig(segmentation=SegmentationConfig(
        FAST_SEGMENTATION_STEP_SECONDS if fast else 1.0))
    reference = read_rttm(corpus / "all.rttm")
    uem = read_uem(corpus / "all.uem")
    rows = []
    for line in (corpus / "files.txt").read_text().split():
        path = corpus / line
        y = load_audio(path)                   # decoding is not counted in the realtime factor
        uri = path.stem
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = diarize(y, models=models, config=config, uri=uri)
        elapsed = time.perf_counter() - start
        error = diarization_error(reference[uri], list(result.segments), uem=uem[uri])
        rows.append({"file": uri, "der": error.der, "miss": error.missed / error.total,
                     "fa": error.false_alarm / error.total,
                     "conf": error.confusion / error.total, "error": error,
                     "found": result.num_speakers, "count": _count_text(result.count),
                     "ref": len({s.label for s in reference[uri]}),
                     "duration": result.duration, "seconds": elapsed})
    return rows


def _count_text(count) -> str:
    if count is None or count.gap_ratio is None:
        return count.method if count is not None else "-"
    return f"{count.speakers} ({count.gap_ratio:.2f}, {count.runner_up})"


def print_table(title: str, rows: list[dict], halves: bool = False) -> None:
    print(f"\n{title}")
    print(f"{'file':8s} {'DER%':>6s} {'miss%':>6s} {'FA%':>6s} {'conf%':>6s} {'spk':>5s} "
          f"{'audio s':>8s} {'xRT':>6s} {'count (gap ratio, runner-up)':s}")
    for r in rows:
        print(f"{r['file']:8s} {100 * r['der']:6.1f} {100 * r['miss']:6.1f} {100 * r['fa']:6.1f} "
              f"{100 * r['conf']:6.1f} {r['found']:>2d}/{r['ref']:<2d} {r['duration']:8.1f} "
              f"{r['duration'] / r['seconds']:6.1f} {r['count']}")
    groups = [("corpus", rows)]
    if halves:      # dev-wide: tune on the odd-numbered conversations, report the even ones
        groups += [(name, [r for r in rows if int(r["file"][-2:]) % 2 == parity])
                   for name, parity in (("odd", 1), ("even", 0))]
    for name, group in groups:
        total = group[0]["error"]
        for r in group[1:]:
            total = total + r["error"]
        audio = sum(r["duration"] for r in group)
        seconds = sum(r["seconds"] for r in group)
        right = sum(r["found"] == r["ref"] for r in group)
        print(f"{name:8s} {100 * total.der:6.1f} {100 * total.missed / total.total:6.1f} "
              f"{100 * total.false_alarm / total.total:6.1f} "
              f"{100 * total.confusion / total.total:6.1f} {right:>2d}/{len(group):<2d} "
              f"{audio:8.1f} {audio / seconds:6.1f}  {_intervals(group)}")


def _intervals(rows: list[dict]) -> str:
    """95% bootstrap intervals (files resampled, seed 0) of the DER and its parts."""
    from streamz_speaker.diarization.scoring import sample

    intervals = sample({r["file"]: r["error"] for r in rows}).intervals()
    return "DER/miss/FA/conf 95% CI: " + " ".join(
        "n/a" if intervals[k] is None else
        f"[{100 * intervals[k][0]:.1f}, {100 * intervals[k][1]:.1f}]"
        for k in ("der", "miss_rate", "false_alarm_rate", "confusion_rate"))


def make_long(corpus: Path, hours: float, out: Path):
    """Concatenate the corpus conversations (16 kHz PCM16) until ``hours`` long.

    Returns the length in seconds, the reference turns and the scored regions (UEM) of the
    concatenation (the conversations' own, shifted).
    """
    import numpy as np
    import soundfile as sf

    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization.rttm import Segment, read_rttm
    from streamz_speaker.diarization.scoring import read_uem

    names = [corpus / line for line in (corpus / "files.txt").read_text().split()]
    pieces = [load_audio(path) for path in names]
    reference, uem = read_rttm(corpus / "all.rttm"), read_uem(corpus / "all.uem")
    target = int(hours * 3600 * 16_000)
    written, turns, scored = 0, [], []
    with sf.SoundFile(out, "w", samplerate=16_000, channels=1, subtype="PCM_16") as fh:
        while written < target:
            for path, p in zip(names, pieces):
                p = p[: target - written]
                offset, end = written / 16_000, (written + p.size) / 16_000
                turns += [Segment(s.start + offset, min(s.end + offset, end), s.label)
                          for s in reference[path.stem] if s.start + offset < end]
                scored += [(a + offset, min(b + offset, end)) for a, b in uem[path.stem]
                           if a + offset < end]
                fh.write(np.clip(p, -1, 1))
                written += p.size
                if written >= target:
                    break
    return written / 16_000, turns, scored


def measure_long(corpus: Path, hours: float, fast: bool, in_memory: bool = False) -> None:
    from streamz_speaker.diarization.rttm import read_rttm
    from streamz_speaker.diarization.scoring import diarization_error

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        seconds, reference, uem = make_long(corpus, hours, path)
        cmd = [sys.executable, "-c", _CHILD, str(path), "1" if fast else "0",
               "1" if in_memory else "0", str(Path(tmp) / "long.rttm")]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
        elapsed = time.perf_counter() - start
        hypothesis = read_rttm(Path(tmp) / "long.rttm").get("long", [])
        error = diarization_error(reference, hypothesis, uem=uem)
        how = "decoded array" if in_memory else "file path, streamed"
        print(f"\n{hours:g} h synthetic recording ({'--fast' if fast else 'default'}, {how}): "
              f"peak RSS {int(out[0]) / 1024:.0f} MiB, {out[1]} speakers (10 distinct voices in "
              f"the corpus), DER {100 * error.der:.1f} %, {seconds / float(out[2]):.1f}x realtime "
              f"(diarize call{'' if in_memory else ' incl. reading the file'}; {elapsed:.0f} s "
              f"wall incl. loading)")


_CHILD = """
import resource, sys, time, warnings
warnings.simplefilter("ignore")
from streamz_speaker.diarization import diarize, load_models
from streamz_speaker.diarization.config import DiarizationConfig, SegmentationConfig
from streamz_speaker.core.audio import load_audio
models = load_models()
audio = load_audio(sys.argv[1]) if sys.argv[3] == "1" else sys.argv[1]
cfg = DiarizationConfig(segmentation=SegmentationConfig(2.0 if sys.argv[2] == "1" else 1.0))
t = time.perf_counter()
r = diarize(audio, models=models, config=cfg, uri="long")
dt = time.perf_counter() - t
open(sys.argv[4], "w").write(r.to_rttm())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, r.num_speakers, dt)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--long-hours", type=float, default=2.0)
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--skip-fast", action="store_true", help="no --fast table")
    parser.add_argument("--halves", action="store_true",
                        help="also odd- and even-numbered files apart (dev-wide: tune on the "
                             "odd half, report the even half)")
    parser.add_argument("--long-only", action="store_true", help="only the long recording")
    parser.add_argument("--long-fast", action="store_true",
                        help="long recording with the 2 s step (--fast)")
    parser.add_argument("--long-in-memory", action="store_true",
                        help="long recording decoded first and passed as an array (the audio "
                             "then stays in memory); default: passed as a path and streamed")
    args = parser.parse_args(argv)
    if not (args.corpus / "files.txt").exists():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    from streamz_speaker.diarization import load_models

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    if not args.long_only:
        models = load_models()
        default = run_mode(args.corpus, False, models)
        print_table("default (1 s segmentation step)", default, args.halves)
        if not args.skip_fast:
            fast = run_mode(args.corpus, True, models)
            print_table("--fast (2 s segmentation step)", fast, args.halves)
    if not args.skip_long:
        measure_long(args.corpus, args.long_hours, fast=args.long_fast,
                     in_memory=args.long_in_memory)
    print(f"\nbenchmark process peak RSS: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
