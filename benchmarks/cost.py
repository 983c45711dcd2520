"""Diarization cost: CPU seconds per audio hour per stage, with DER, for one or more code trees.

Usage::

    python benchmarks/cost.py                                   # this checkout only
    python benchmarks/cost.py --tree new=. --tree old=/work/baseline
    python benchmarks/cost.py --tree new=. --tree old=../base --sets dev-wide-even --modes fast
    python benchmarks/cost.py --tree dense=.@coarse_seconds=0 --tree new=. --sets dev-wide-odd

(``@key=value,...`` after a tree sets fields of its ``SegmentationConfig``.) "windows run":
segmentation windows the model ran on, as a share of the windows of the dense step.

Each code tree runs in its own interpreter (``TREE/.venv/bin/python`` when the tree has a
virtual environment, this interpreter otherwise, with ``TREE/src`` first on the path; the
child checks that ``streamz_speaker`` is imported from that tree). For every set and mode the
trees run one after the other, so their figures share the machine's state.

CPU seconds are user + system time of the child process (``resource.getrusage``, every
thread included), not wall time: they hold under load. The child loads the models, then for
each file decodes it and diarizes it; only the decoding and diarization are counted. Stages
are timed with thread CPU clocks around the library's stage functions (patched in the
child, so both trees are measured the same way; nothing in the library prints):

- decode: ``core.audio.load_audio`` (file to 16 kHz float32);
- segmentation: the segmentation model and powerset decoding of every window batch;
- backbone: fbank + the CAM++ backbone over the recording;
- pooling: masked statistics pooling + the embedding head;
- clustering: ``clustering.cluster`` (count, spectral or VBx clustering, assignment);
- rest: everything else (aggregation, reconstruction, turns, thread hand-offs).

ONNX Runtime and BLAS are pinned to one thread in both trees (``OMP_NUM_THREADS=1`` etc.,
``RuntimeConfig(intra_op_threads=1)``: one worker, one ORT thread per session), which
changes speed only, never results. DER: ``streamz_speaker.diarization.scoring`` (collar 0,
overlap scored, with the corpus UEM); "counts": files whose number of speakers found equals
the reference's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETS = {
    # name: (corpus folder, file filter)
    "dev-wide-even": (REPO.parent / "shared" / "data" / "dev-wide" / "diar", "even"),
    "dev-wide-odd": (REPO.parent / "shared" / "data" / "dev-wide" / "diar", "odd"),
    "real-check": (REPO / "build" / "real-check", "all"),
    "dev-corpus": (REPO.parent / "shared" / "data" / "dev-corpus" / "diar", "all"),
}
STAGES = ("decode", "segmentation", "backbone", "pooling", "clustering", "rest")
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}


def cpu_info() -> str:
    """CPU model and the vector extensions that decide ONNX Runtime's kernels."""
    model, flags = platform.processor() or "?", set()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = set(value.split())
    except (OSError, subprocess.CalledProcessError):
        pass
    marks = " ".join(f"{f}={'yes' if f in flags else 'no'}"
                     for f in ("avx2", "avx512f", "avx512_vnni"))
    return f"{model}, {os.cpu_count()} cores; {marks}"


def files_of(corpus: Path, which: str) -> list[Path]:
    names = (corpus / "files.txt").read_text().split()
    if which != "all":
        parity = 0 if which == "even" else 1
        names = [n for n in names if int(re.sub(r"\D", "", Path(n).stem)) % 2 == parity]
    return [corpus / n for n in names]


def tree_python(tree: Path) -> str:
    venv = tree / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def tree_commit(tree: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+changes" if dirty else "")


def run_child(tree: Path, corpus: Path, which: str, fast: bool, overrides: dict) -> dict:
    env = dict(os.environ, **THREAD_ENV)
    env["STREAMZ_COST_SEGMENTATION"] = json.dumps(overrides)
    env["PYTHONPATH"] = str(tree / "src")
    cmd = [tree_python(tree), str(Path(__file__).resolve()), "--child", str(tree), str(corpus),
           which, "fast" if fast else "default"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(tree))
    if out.returncode != 0:
        raise SystemExit(f"child failed ({' '.join(cmd)}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------- child


def child(tree: str, corpus: str, which: str, mode: str) -> None:
    import resource
    import threading
    import time
    import warnings

    import streamz_speaker
    from streamz_speaker.diarization import clustering, embedding, frontend, pipeline
    from streamz_speaker.diarization.config import (FAST_SEGMENTATION_STEP_SECONDS,
                                                    DiarizationConfig, RuntimeConfig,
                                                    SegmentationConfig)
    from streamz_speaker.diarization.rttm import read_rttm
    from streamz_speaker.diarization.scoring import diarization_error, read_uem
    from streamz_speaker.core.audio import load_audio

    where = Path(streamz_speaker.__file__).resolve()
    if Path(tree).resolve() not in where.parents:
        raise SystemExit(f"streamz_speaker imported from {where}, not from {tree}")

    spent = dict.fromkeys(STAGES, 0.0)
    lock = threading.Lock()

    def timed(stage, fn):
        def wrapper(*args, **kwargs):
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with lock:
                    spent[stage] += time.thread_time() - start
        return wrapper

    # the stage functions of both trees (missing ones are skipped: a tree may lack a stage)
    patches = [(frontend, "_activity_batch", "segmentation"),
               (frontend, "_coarse_span", "segmentation"),
               (frontend, "_fill_span", "segmentation"),
               (embedding, "backbone_features", "backbone"),
               (embedding.Pooler, "add", "pooling"),
               (clustering, "cluster", "clustering")]
    for owner, name, stage in patches:
        if hasattr(owner, name):
            setattr(owner, name, timed(stage, getattr(owner, name)))

    windows = [0]                      # segmentation windows the model ran on

    def counted(fn, size):
        def wrapper(*args, **kwargs):
            out = fn(*args, **kwargs)
            with lock:
                windows[0] += size(args, out)
            return out
        return wrapper

    from streamz_speaker.diarization import segmentation
    if hasattr(segmentation, "Span"):
        segmentation.Span.__call__ = counted(segmentation.Span.__call__,
                                             lambda args, out: out.shape[0])
    else:
        segmentation.run_batch = counted(segmentation.run_batch,
                                         lambda args, out: out.shape[0])

    def process_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    step = FAST_SEGMENTATION_STEP_SECONDS if mode == "fast" else 1.0
    overrides = json.loads(os.environ.get("STREAMZ_COST_SEGMENTATION", "{}"))
    config = DiarizationConfig(segmentation=SegmentationConfig(step, **overrides))
    runtime = RuntimeConfig(intra_op_threads=1)
    start = process_cpu()
    models = pipeline.load_models(runtime=runtime)
    load_cpu = process_cpu() - start
    corpus = Path(corpus)
    reference, uem = read_rttm(corpus / "all.rttm"), read_uem(corpus / "all.uem")
    rows = []
    for path in files_of(corpus, which):
        for stage in STAGES:
            spent[stage] = 0.0
        windows[0] = 0
        before = process_cpu()
        t = time.thread_time()
        y = load_audio(path)
        spent["decode"] = time.thread_time() - t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pipeline.diarize(y, models=models, config=config, runtime=runtime,
                                      uri=path.stem)
        total = process_cpu() - before
        stages = dict(spent)
        stages["rest"] = total - sum(v for k, v in spent.items() if k != "rest")
        error = diarization_error(reference[path.stem], list(result.segments),
                                  uem=uem[path.stem])
        from streamz_speaker.diarization.segmentation import num_chunks
        rows.append({"file": path.stem, "seconds": y.shape[0] / 16_000, "cpu": total,
                     "windows": windows[0],
                     "dense_windows": num_chunks(y.shape[0], config.segmentation),
                     "stages": stages, "found": result.num_speakers,
                     "ref": len({s.label for s in reference[path.stem]}),
                     "error": [error.total, error.missed, error.false_alarm, error.confusion]})
    print(json.dumps({"module": str(where), "load_cpu": load_cpu, "rows": rows}))


# ---------------------------------------------------------------------------------------- report


def summarise(result: dict) -> dict:
    rows = result["rows"]
    hours = sum(r["seconds"] for r in rows) / 3600
    per_hour = {s: sum(r["stages"][s] for r in rows) / hours for s in STAGES}
    per_hour["total"] = sum(r["cpu"] for r in rows) / hours
    err = [sum(r["error"][i] for r in rows) for i in range(4)]
    return {"per_hour": per_hour, "der": 100 * sum(err[1:]) / err[0],
            "miss": 100 * err[1] / err[0], "fa": 100 * err[2] / err[0],
            "conf": 100 * err[3] / err[0], "hits": sum(r["found"] == r["ref"] for r in rows),
            "files": len(rows), "audio_s": hours * 3600, "load_cpu": result["load_cpu"],
            "windows": sum(r["windows"] for r in rows) / sum(r["dense_windows"] for r in rows)}


def _tree(spec: str) -> tuple[str, Path, dict]:
    """``NAME=PATH`` or ``NAME=PATH@key=value,...`` (SegmentationConfig fields of that run)."""
    name, _, rest = spec.partition("=")
    path, _, extra = rest.partition("@")
    overrides = {k: int(v) if k == "tolerance_frames" else float(v)
                 for k, v in (item.split("=") for item in extra.split(",") if item)}
    return name, Path(path).resolve(), overrides


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", default=[],
                        help="NAME=PATH of a checkout to measure (repeatable; default: this one)")
    parser.add_argument("--sets", default="dev-wide-even,real-check",
                        help=f"comma-separated, from {', '.join(SETS)}")
    parser.add_argument("--modes", default="default,fast")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    trees = [_tree(t) for t in args.tree] or [("this", REPO, {})]
    load = os.getloadavg()
    print(f"CPU: {cpu_info()}")
    print(f"python {platform.python_version()}; threads pinned: ORT intra-op 1, "
          f"{', '.join(f'{k}=1' for k in THREAD_ENV)}; load average at start "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for name, tree, overrides in trees:
        print(f"tree {name}: {tree} at {tree_commit(tree)} ({tree_python(tree)})"
              + (f", SegmentationConfig{overrides}" if overrides else ""))
    results = []
    for set_name in args.sets.split(","):
        corpus, which = SETS[set_name]
        if not (corpus / "files.txt").exists():
            print(f"\n{set_name}: {corpus} not found, skipped")
            continue
        for mode in args.modes.split(","):
            for name, tree, overrides in trees:
                summary = summarise(run_child(tree, corpus, which, mode == "fast", overrides))
                results.append({"set": set_name, "mode": mode, "tree": name, **summary})
                print(f"  done: {set_name} {mode} {name}: total "
                      f"{summary['per_hour']['total']:.1f} CPU s per audio hour, "
                      f"windows {100 * summary['windows']:.0f} %, DER {summary['der']:.2f} %, "
                      f"counts {summary['hits']}/{summary['files']} "
                      f"(load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
    print("\nCPU seconds per audio hour (user+sys of the process), DER % (collar 0, overlap "
          "scored), right speaker counts")
    head = (f"| set | mode | tree | {' | '.join(STAGES)} | total | vs {trees[-1][0]} "
            f"| windows run | DER % | miss / FA / conf | counts |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in results:
        base = next(b for b in results if b["set"] == r["set"] and b["mode"] == r["mode"]
                    and b["tree"] == trees[-1][0])
        ratio = r["per_hour"]["total"] / base["per_hour"]["total"]
        stages = " | ".join(f"{r['per_hour'][s]:.1f}" for s in STAGES)
        print(f"| {r['set']} ({r['audio_s']:.0f} s) | {r['mode']} | {r['tree']} | {stages} | "
              f"**{r['per_hour']['total']:.1f}** | {ratio:.2f} | {100 * r['windows']:.0f} % | "
              f"{r['der']:.2f} | "
              f"{r['miss']:.2f} / {r['fa']:.2f} / {r['conf']:.2f} | {r['hits']}/{r['files']} |")
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; model loading "
          f"(not counted): " + ", ".join(f"{r['tree']} {r['load_cpu']:.1f} s" for r in
                                        results[:len(trees)]))
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_info(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
