"""benchmarks/live.py runs without ../shared (DER skipped) and on one file with it."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "dev-wide" / "diar"


def run(*args, timeout=600):
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "live.py"), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_without_the_corpus_the_der_part_is_skipped(tmp_path):
    result = run("--corpus", str(tmp_path / "absent"), "--only", "der")
    assert result.returncode == 0, result.stderr
    assert "not found (the dev-wide corpus lives in ../shared): DER skipped" in result.stdout


@pytest.mark.slow
@pytest.mark.models
def test_der_table_on_one_even_conversation(tmp_path):
    if not CORPUS.is_dir():
        pytest.skip("../shared/data/dev-wide is not present")
    result = run("--only", "der", "--files", "conv02", "--rttm-dir", str(tmp_path),
                 "--set", "recluster_after=30")
    assert result.returncode == 0, result.stderr
    assert "recluster_after=30," in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("| conv02 |"))
    offline, online = (float(x) for x in row.split("|")[3:5])
    assert online < offline + 6
    assert (tmp_path / "conv02.online.rttm").stat().st_size > 0
