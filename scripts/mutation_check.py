"""Plant one-line bugs (mutants) in the wiring code, one at a time, and see whether a test fails.

Each mutant is data: the files it applies to (glob patterns, so it survives files being moved
or split), the text to find (whitespace runs match any whitespace, so line breaks do not
matter), its replacement, and the tests to run. For each mutant the script replaces the text,
runs the tests (stopping at the first failure), restores the file byte for byte, and reports:

- ``killed``: a test failed (named in the table);
- ``SURVIVED``: every test passed, so the planted bug would reach users unnoticed;
- ``not applicable``: the text is no longer in those files (the code changed: update the
  mutant or drop it); ``ambiguous``: it occurs more than once (make it longer).

Mutants marked ``issue`` are the planted bugs of issue 8. The files are changed in place while
a mutant runs: do not edit them meanwhile (an interrupted run still restores them).

Examples::

    python scripts/mutation_check.py                          # every mutant (55 min on 2 busy cores)
    python scripts/mutation_check.py -k training              # ids containing "training"
    python scripts/mutation_check.py --all-tests -k cli-fast  # the whole suite for one mutant
    python scripts/mutation_check.py --output benchmarks/mutation.txt
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PIPELINE = ("src/streamz_speaker/diarization/pipeline.py",)
TRAINING = ("src/streamz_speaker/speaker_id/training.py",)
CLI = ("src/streamz_speaker/cli/*.py",)
OPEN_SET = ("src/streamz_speaker/speaker_id/open_set.py",)
IDENTIFICATION = ("src/streamz_speaker/speaker_id/identification.py",)

#: Every test that runs the ONNX models end to end is marked ``models``.
DIARIZATION_TESTS = ("tests", "-m", "models")
TRAINING_TESTS = ("tests/test_training.py", "tests/test_identification.py",
                  "tests/test_open_set.py")
CLI_TESTS = ("tests/test_*cli*.py", "tests/cli", "tests/test_scoring.py",
             "tests/test_speaker_naming.py", "tests/test_model_assets.py")


@dataclass(frozen=True)
class Mutant:
    id: str
    files: tuple[str, ...]       # glob patterns relative to the repository
    find: str                    # must occur exactly once in those files
    replace: str
    tests: tuple[str, ...]       # pytest arguments; globs are expanded, missing paths dropped
    note: str = ""               # what a user would see
    issue: bool = False          # one of issue 8's planted bugs


MUTANTS = [
    # -- diarization pipeline: stage calls and their arguments --------------------------------
    Mutant("pipeline-reconstruct-no-step", PIPELINE,
           "centre_weighted=config.centre_weighted, step_seconds=step)",
           "centre_weighted=config.centre_weighted)", DIARIZATION_TESTS,
           "--fast turns misplaced (reconstruct assumes a 1 s step)", issue=True),
    Mutant("pipeline-count-no-step", PIPELINE,
           "aggregation.speaker_count(activity, step_seconds=step,",
           "aggregation.speaker_count(activity,", DIARIZATION_TESTS,
           "--fast speaker counts misplaced", issue=True),
    Mutant("pipeline-count-threshold-ignored", PIPELINE,
           "threshold=config.count_threshold)", ")", DIARIZATION_TESTS,
           "count threshold 0.5 instead of the configured 0.75: more overlap", issue=True),
    Mutant("pipeline-cluster-no-step", PIPELINE,
           "central=central, step_seconds=step,", "central=central,", DIARIZATION_TESTS,
           "--fast: central embeddings taken from the wrong part of each window"),
    Mutant("pipeline-clustering-config-dropped", PIPELINE,
           "clustering.cluster(embeddings, activity, config.clustering,",
           "clustering.cluster(embeddings, activity,", DIARIZATION_TESTS,
           "--num/--min/--max-speakers ignored", issue=True),
    Mutant("pipeline-segments-not-clipped", PIPELINE,
           "rttm.to_segments(discrete, duration=duration)", "rttm.to_segments(discrete)",
           DIARIZATION_TESTS, "last turn ends after the recording", issue=True),
    Mutant("pipeline-exclusive-ignored", PIPELINE,
           "exclusive=config.exclusive,", "exclusive=False,", DIARIZATION_TESTS,
           "--exclusive: another speaker may keep an overlapped frame (no overlap: the rule "
           "is applied again after binarization)"),
    Mutant("pipeline-exclusive-pads-overlap", PIPELINE,
           "if config.exclusive:", "if False:", DIARIZATION_TESTS,
           "--exclusive with --pad-offset: padded turns overlap the next speaker"),
    Mutant("pipeline-binarize-skipped", PIPELINE,
           "smoothed = binarize.binarize(discrete, config.binarize)", "smoothed = discrete",
           DIARIZATION_TESTS, "--pad-offset and --min-duration-on/off ignored"),
    Mutant("pipeline-wespeaker-step-fixed", PIPELINE,
           "step_seconds=seg_cfg.step_seconds, executor=pool,", "step_seconds=1.0, executor=pool,",
           DIARIZATION_TESTS, "community-1 models with --fast: embeddings of the wrong windows"),
    Mutant("pipeline-no-speech-not-special", PIPELINE,
           "if not activity.any():", "if False:", DIARIZATION_TESTS,
           "silent recordings run the later stages on nothing"),
    Mutant("pipeline-result-count-from-centroids", PIPELINE,
           "len({s.label for s in segments}),", "len(clusters.centroids),", DIARIZATION_TESTS,
           "num_speakers counts clusters that never speak"),
    Mutant("pipeline-stream-config-dropped", PIPELINE,
           "diarize(streamed, models=models, config=config,", "diarize(streamed, models=models,",
           DIARIZATION_TESTS, "options ignored for recordings of 10 minutes or more"),

    # -- training rules ----------------------------------------------------------------------
    Mutant("training-threshold-exclusive", TRAINING,
           "is_new = confidence < threshold", "is_new = confidence <= threshold",
           TRAINING_TESTS, "a file exactly at the threshold becomes a new speaker", issue=True),
    Mutant("training-burn-in-removed", TRAINING,
           "threshold = (1 + self.cfg.threshold) / 2 if in_burn_in else self.cfg.threshold",
           "threshold = self.cfg.threshold", TRAINING_TESTS,
           "early files merged into the first speakers too easily", issue=True),
    Mutant("training-burn-in-one-more-file", TRAINING,
           "in_burn_in = len(self.model.learned) < self.burn_in",
           "in_burn_in = len(self.model.learned) <= self.burn_in", TRAINING_TESTS,
           "burn-in lasts one file longer than --burn-in-limit"),
    Mutant("training-burn-in-default-floor", TRAINING,
           "round(0.2 * n_files), 10, 50)", "round(0.2 * n_files), 0, 50)", TRAINING_TESTS,
           "short lists get almost no burn-in"),
    Mutant("training-duplicates-learned-twice", TRAINING,
           "if sha in model.learned or sha in seen:", "if sha in model.learned:",
           TRAINING_TESTS, "a file listed twice weighs double", issue=True),
    Mutant("training-learned-files-relearned", TRAINING,
           "if sha in model.learned or sha in seen:", "if sha in seen:", TRAINING_TESTS,
           "cron runs learn every file again"),
    Mutant("training-learned-line-not-relabelled", TRAINING,
           "for entry, sha in todo + known_unlabelled", "for entry, sha in todo",
           TRAINING_TESTS, "a line learned by an interrupted run stays unlabelled", issue=True),
    Mutant("training-labels-not-written", TRAINING,
           "write_labels(list_path, labels_to_write)", "write_labels(list_path, {})",
           TRAINING_TESTS, "labels never written back into the list"),
    Mutant("training-speaker-cap-ignored", TRAINING,
           "and len(self.model.speakers) < self.cfg.max_speakers", "", TRAINING_TESTS,
           "--max-speakers ignored"),
    Mutant("training-retrain-ignored", TRAINING,
           "fresh = cfg.retrain or not model_path.exists()", "fresh = not model_path.exists()",
           TRAINING_TESTS, "--retrain ignored"),
    Mutant("training-targets-not-refreshed", TRAINING,
           "remove_lines(list_path, {entry.line for entry in stale})",
           "remove_lines(list_path, set())", TRAINING_TESTS,
           "target list keeps files the model learned"),
    Mutant("training-no-replay", TRAINING,
           "if len(self.model.memory_y):", "if False:", TRAINING_TESTS,
           "MFCC models forget old speakers when learning new ones"),
    Mutant("training-memory-unbounded", TRAINING,
           "if mine.size > self.cfg.memory_per_speaker:", "if False:", TRAINING_TESTS,
           "the model file grows without bound"),
    Mutant("training-new-label-reused", TRAINING,
           'return f"speaker_{max(numbers, default=0) + 1:03d}"',
           'return f"speaker_{max(numbers, default=0):03d}"', TRAINING_TESTS,
           "new speakers named speaker_000, then merged with it"),
    Mutant("open-set-no-leave-one-out", OPEN_SET,
           "keep = file_of != i", "keep = file_of >= 0", TRAINING_TESTS,
           "threshold calibrated on files scoring themselves: too high", issue=True),
    Mutant("identify-threshold-exclusive", IDENTIFICATION,
           "return confidence >= threshold and not second_voice(",
           "return confidence > threshold and not second_voice(",
           TRAINING_TESTS, "identify says unknown exactly at --threshold"),
    Mutant("identify-list-threshold-exclusive", IDENTIFICATION,
           "confident = self.window_proba.max(axis=1) >= threshold",
           "confident = self.window_proba.max(axis=1) > threshold", TRAINING_TESTS,
           "identify --list drops windows exactly at --threshold"),

    # -- CLI: options reach the library -------------------------------------------------------
    Mutant("cli-fast-ignored", CLI,
           "SegmentationConfig(FAST_SEGMENTATION_STEP_SECONDS) if fast",
           "SegmentationConfig() if fast", CLI_TESTS, "--fast does nothing", issue=True),
    Mutant("cli-num-speakers-ignored", CLI,
           "ClusteringConfig(num_speakers=num_speakers,", "ClusteringConfig(num_speakers=None,",
           CLI_TESTS, "--num-speakers does nothing"),
    Mutant("cli-min-speakers-ignored", CLI,
           "min_speakers=min_speakers or 1", "min_speakers=1", CLI_TESTS,
           "--min-speakers does nothing"),
    Mutant("cli-max-speakers-ignored", CLI,
           "min_speakers=min_speakers or 1, max_speakers=max_speakers)",
           "min_speakers=min_speakers or 1, max_speakers=None)", CLI_TESTS,
           "--max-speakers does nothing"),
    Mutant("cli-exclusive-ignored", CLI,
           "exclusive=exclusive)", "exclusive=False)", CLI_TESTS, "--exclusive does nothing"),
    Mutant("cli-min-duration-on-ignored", CLI,
           "BinarizeConfig(min_duration_on=min_duration_on,", "BinarizeConfig(min_duration_on=0.0,",
           CLI_TESTS, "--min-duration-on does nothing"),
    Mutant("cli-min-duration-off-ignored", CLI,
           "min_duration_off=min_duration_off, pad_offset=", "min_duration_off=0.0, pad_offset=",
           CLI_TESTS, "--min-duration-off does nothing"),
    Mutant("cli-pad-offset-ignored", CLI,
           "pad_offset=pad_offset)", "pad_offset=0.0)", CLI_TESTS, "--pad-offset does nothing"),
    Mutant("cli-train-threshold-ignored", CLI,
           "TrainConfig(threshold=threshold,", "TrainConfig(threshold=0.8,", CLI_TESTS,
           "train --threshold does nothing"),
    Mutant("cli-train-burn-in-ignored", CLI,
           "burn_in_limit=burn_in_limit,", "burn_in_limit=None,", CLI_TESTS,
           "--burn-in-limit does nothing"),
    Mutant("cli-train-max-speakers-ignored", CLI,
           "max_speakers=max_speakers, epochs=epochs", "max_speakers=100, epochs=epochs",
           CLI_TESTS, "train --max-speakers does nothing"),
    Mutant("cli-train-retrain-ignored", CLI,
           "retrain=retrain,", "retrain=False,", CLI_TESTS, "--retrain does nothing"),
    Mutant("cli-train-features-ignored", CLI,
           "feature_config=FeatureConfig(kind=features) if features else None",
           "feature_config=None", CLI_TESTS, "--features mfcc gives an embedding model"),
    Mutant("cli-identify-threshold-ignored", CLI,
           "model, files, threshold=threshold,", "model, files, threshold=0.8,", CLI_TESTS,
           "identify --threshold does nothing"),
    Mutant("cli-identify-list-threshold", CLI,
           "r.speaker_shares(model.speakers, threshold)", "r.speaker_shares(model.speakers, 0.0)",
           CLI_TESTS, "identify --list counts unconfident windows"),
    Mutant("cli-score-collar-ignored", CLI,
           "collar=collar, skip_overlap=skip_overlap)", "collar=0.0, skip_overlap=skip_overlap)",
           CLI_TESTS, "score --collar does nothing"),
    Mutant("cli-score-skip-overlap-ignored", CLI,
           "collar=collar, skip_overlap=skip_overlap)", "collar=collar, skip_overlap=False)",
           CLI_TESTS, "score --skip-overlap does nothing"),
    Mutant("cli-score-uem-ignored", CLI,
           "uem=uem_map,", "uem=None,", CLI_TESTS, "score --uem does nothing"),
    Mutant("cli-failures-exit-0", CLI,
           "sys.exit(1)", "pass", CLI_TESTS, "failed files exit with status 0 (cron misses it)"),
]


def _pattern(text: str) -> re.Pattern:
    """``text`` literally, except that each run of whitespace matches any whitespace."""
    return re.compile(r"\s+".join(re.escape(part) for part in text.split()))


def _files(globs) -> list[Path]:
    found = {p for g in globs for p in REPO.glob(g) if p.is_file()}
    return sorted(found)


def _test_args(tests) -> list[str]:
    """Expand globs; drop paths that do not exist (options pass through)."""
    args = []
    for t in tests:
        if t.startswith("-") or (args and args[-1] == "-m"):
            args.append(t)
        else:
            args += sorted(str(p.relative_to(REPO)) for p in REPO.glob(t))
    return args


def _line(path: Path, match: re.Match) -> int:
    return path.read_text(encoding="utf-8").count("\n", 0, match.start()) + 1


def _locate(mutant: Mutant):
    """(path, match) of the single occurrence, or (status, None)."""
    pattern = _pattern(mutant.find)
    hits = [(path, m) for path in _files(mutant.files)
            for m in pattern.finditer(path.read_text(encoding="utf-8"))]
    if not hits:
        return "not applicable", None
    if len(hits) > 1:
        return "ambiguous", None
    return hits[0]


def _pytest(args, timeout):
    """(exit code, first failing test or None, seconds); exit code None on timeout."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, time.monotonic() - start
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE)
    return done.returncode, failed and failed.group(1), time.monotonic() - start


def _restore_on_signal(signum, frame):
    raise KeyboardInterrupt  # unwinds through the finally that restores the file


def run_mutant(mutant: Mutant, tests, timeout) -> dict:
    path, match = _locate(mutant)
    row = {"id": mutant.id, "issue": mutant.issue, "note": mutant.note, "where": "",
           "killed_by": "", "seconds": 0.0}
    if match is None:
        return {**row, "status": path}
    original = path.read_bytes()
    times = (path.stat().st_atime_ns, path.stat().st_mtime_ns)
    text = original.decode("utf-8")
    row["where"] = f"{path.relative_to(REPO)}:{_line(path, match)}"
    try:
        path.write_text(text[:match.start()] + mutant.replace + text[match.end():],
                        encoding="utf-8")
        code, failed, seconds = _pytest(tests, timeout)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=times)   # unchanged mtime: cached bytecode stays valid
    row["seconds"] = seconds
    if code is None:
        return {**row, "status": "killed", "killed_by": f"timeout after {timeout:.0f} s"}
    if code == 0:
        return {**row, "status": "SURVIVED"}
    if code == 5:
        return {**row, "status": "no tests", "killed_by": " ".join(tests)}
    return {**row, "status": "killed", "killed_by": failed or f"pytest exit {code}"}


def _header(argv) -> list[str]:
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "src", "tests") else ""
    return [f"command: python scripts/mutation_check.py {' '.join(argv)}".rstrip(),
            f"commit:  {git('rev-parse', 'HEAD')}{dirty}",
            f"date:    {dt.datetime.now().isoformat(timespec='seconds')}", ""]


def _table(rows) -> list[str]:
    width = max(len(r["id"]) for r in rows) + (2 if any(r["issue"] for r in rows) else 0)
    lines = [f"{'status':<15} {'mutant':<{width}}  {'where':<42} {'seconds':>7}  "
             "killed by / what a user would see"]
    for r in rows:
        name = r["id"] + (" *" if r["issue"] else "")
        detail = r["killed_by"] if r["status"] == "killed" else r["note"]
        lines.append(f"{r['status']:<15} {name:<{width}}  {r['where']:<42} "
                     f"{r['seconds']:>7.1f}  {detail}")
    applicable = [r for r in rows if r["status"] in ("killed", "SURVIVED")]
    killed = sum(r["status"] == "killed" for r in applicable)
    issue = [r for r in applicable if r["issue"]]
    lines += ["", f"killed {killed} of {len(applicable)} applicable mutants; "
                  f"{len(rows) - len(applicable)} not run (not applicable, ambiguous or no tests)"]
    if issue:
        lines.append(f"issue 8's planted bugs (*): killed "
                     f"{sum(r['status'] == 'killed' for r in issue)} of {len(issue)}")
    return lines


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="select", default="", help="only mutants whose id contains this")
    parser.add_argument("--all-tests", action="store_true",
                        help="run the whole test suite for every mutant, not its own tests")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutant")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument("--dry-run", action="store_true",
                        help="only show where each mutant applies")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if args.select in m.id]
    if not mutants:
        parser.error(f"no mutant id contains {args.select!r}")
    signal.signal(signal.SIGTERM, _restore_on_signal)

    if args.dry_run:
        for m in mutants:
            where, match = _locate(m)
            print(f"{m.id:<40} " + (where if match is None else
                                    f"{where.relative_to(REPO)}:{_line(where, match)}"))
        return 0
    for tests in dict.fromkeys(("tests",) if args.all_tests else m.tests for m in mutants):
        code, failed, _ = _pytest(_test_args(tests), args.timeout)
        if code != 0:
            print(f"the unmutated code fails its tests ({failed or f'pytest exit {code}'}): "
                  f"fix that first", file=sys.stderr)
            return 2
    rows = []
    for m in mutants:
        tests = ("tests",) if args.all_tests else m.tests
        rows.append(run_mutant(m, _test_args(tests), args.timeout))
        r = rows[-1]
        print(f"{r['status']:<15} {m.id:<40} {r['killed_by']}", file=sys.stderr, flush=True)
    report = "\n".join(_header(argv) + _table(rows)) + "\n"
    print(report, end="")
    if args.output:
        args.output.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
