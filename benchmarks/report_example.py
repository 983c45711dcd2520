"""Figures with 95% bootstrap intervals, and their HTML reports, for a development corpus.

Usage::

    python benchmarks/report_example.py [--corpus ../shared/data/dev-corpus] [--out DIR]
                                        [--diar-files conv02 conv04 ...]

Runs the streamz commands a user would run, each printed before it runs: train on
``id/train_files.txt``, ``eval`` on ``id/target_files.txt``, ``diarize`` the conversations
of ``diar/files.txt`` (or only ``--diar-files``) and ``score`` them against their lines of
``diar/all.rttm`` and ``diar/all.uem``. ``eval`` and ``score`` write ``--json`` (usable as
``--baseline``) and ``--report`` folders under ``--out``. Ends with the figures as Markdown
tables. Nothing in the corpus is written: lists and references are copied.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from streamz_speaker.speaker_id.ledger import read_ledger

REPO = Path(__file__).resolve().parents[1]


def streamz(*args, stdout=None) -> None:
    """Run ``streamz ARGS`` (this interpreter's), printing the command first."""
    shown = " ".join(shlex.quote(str(a)) for a in args)
    print(f"$ streamz {shown}" + (f" > {stdout}" if stdout else ""), flush=True)
    command = [sys.executable, "-m", "streamz_speaker", *map(str, args)]
    if stdout is None:
        subprocess.run(command, check=True)
        return
    with open(stdout, "w") as out:
        subprocess.run(command, check=True, stdout=out)


def absolute_list(src: Path, dst: Path) -> Path:
    dst.write_text("".join(f"{e.path}" + (f",{e.label}" if e.label else "") + "\n"
                           for e in read_ledger(src)))
    return dst


def subset(src: Path, dst: Path, column: int, uris: set) -> Path:
    """The lines of an RTTM or UEM file whose uri (field ``column``) is in ``uris``."""
    dst.write_text("".join(line for line in src.read_text().splitlines(True)
                           if line.split() and line.split()[column] in uris))
    return dst


def table(names: dict, values: dict, intervals: dict, percent: bool) -> str:
    """A Markdown table of figures with their intervals (figures that are None left out)."""
    from streamz_speaker.core.bootstrap import with_interval

    rows = ["| figure | value [95% interval] |", "|---|---|"]
    rows += [f"| {label} | {with_interval(values[name], intervals.get(name), percent=percent)} |"
             for name, label in names.items() if values[name] is not None]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path,
                        default=REPO.parent / "shared" / "data" / "dev-corpus")
    parser.add_argument("--out", type=Path, default=Path("/tmp/streamz-report-example"))
    parser.add_argument("--diar-files", nargs="*", default=None,
                        help="Conversation stems to diarize (default: all of diar/files.txt).")
    args = parser.parse_args()
    out, ident, diar = args.out, args.corpus / "id", args.corpus / "diar"
    out.mkdir(parents=True, exist_ok=True)
    cache = ["--cache-dir", out / "cache", "--feature-cache", out / "features"]
    train = absolute_list(ident / "train_files.txt", out / "train.txt")
    target = absolute_list(ident / "target_files.txt", out / "target.txt")
    model = out / "model.npz"
    streamz("-q", "train", train, "--model", model, "--retrain", "--target-list", target, *cache)
    streamz("-q", "eval", target, "--model", model, "--json", "--report", out / "id-report",
            *cache, stdout=out / "eval.json")
    files = [diar / line for line in (diar / "files.txt").read_text().split()
             if args.diar_files is None or Path(line).stem in args.diar_files]
    streamz("-q", "diarize", *files, "-o", out / "rttm")
    hypothesis = out / "hypothesis.rttm"
    hypothesis.write_text("".join((out / "rttm" / f"{f.stem}.rttm").read_text() for f in files))
    reference, uem = (subset(diar / name, out / name, column, {f.stem for f in files})
                      for name, column in (("all.rttm", 1), ("all.uem", 0)))
    streamz("-q", "score", reference, hypothesis, "--uem", uem, "--json",
            "--report", out / "diar-report", stdout=out / "score.json")

    from streamz_speaker.speaker_id.evaluation import FIGURES as EVAL
    from streamz_speaker.report.html import FIGURE_NAMES
    from streamz_speaker.diarization.scoring import DerComponents

    evaluation = json.loads((out / "eval.json").read_text())
    scoring = json.loads((out / "score.json").read_text())
    totals = DerComponents(*(scoring["total"][key] for key in
                             ("total", "missed", "false_alarm", "confusion"))).figures()
    print(f"\nSpeaker ID ({evaluation['n_files']} files, {evaluation['n_known']} of known "
          f"speakers, threshold {evaluation['threshold']}):\n")
    print(table({k: FIGURE_NAMES[k] for k in EVAL}, evaluation, evaluation["intervals"],
                percent=False))
    print(f"\nDiarization ({len(scoring['files'])} files, % of reference speech):\n")
    print(table({k: FIGURE_NAMES[k] for k in scoring["intervals"]}, totals,
                scoring["intervals"], percent=True))
    print(f"\nReports: {out / 'id-report' / 'index.html'}, {out / 'diar-report' / 'index.html'}")


if __name__ == "__main__":
    main()
