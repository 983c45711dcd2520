"""`streamz eval` with intervals, --report and --baseline."""

import json

import pytest

from cli_support import cache_args, invoke, train_small_model, write_clips
from test_report import page_links


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval-report")
    model = train_small_model(folder / "train")
    write_clips(folder / "unseen", n=4)
    targets = folder / "targets.txt"
    targets.write_text("".join(f"unseen/{name}{i}.wav,{name}\n"
                               for name in ("alice", "bob") for i in (2, 3)))
    return folder, model, targets


def run_eval(setup, *args):
    folder, model, targets = setup
    return invoke("-q", "eval", targets, "--model", model, *cache_args(folder), *args)


def test_eval_gives_intervals_in_text_and_json(setup):
    text = run_eval(setup)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[1].startswith("closed-set accuracy: ") and lines[1].count("[") == 1
    assert lines[5] == ("[95% bootstrap intervals: speakers, then their files, resampled 1000 "
                        "times, seed 0]")
    data = json.loads(run_eval(setup, "--json").stdout)
    assert data["command"] == "eval" and data["bootstrap"]["resamples"] == 1000
    low, high = data["intervals"]["accuracy"]
    assert low <= data["accuracy"] <= high
    assert data["intervals"]["auc"] is None          # no unknown speaker in the list
    assert set(data["per_speaker"]["alice"]) == {"precision", "recall", "support",
                                                 "precision_interval", "recall_interval"}
    assert [f["truth"] for f in data["files"]] == ["alice", "alice", "bob", "bob"]
    assert set(data["files"][0]["scores"]) == {"alice", "bob"}


def test_eval_report_and_a_passing_baseline(setup, tmp_path):
    saved = tmp_path / "baseline.json"
    saved.write_text(run_eval(setup, "--json").stdout)
    result = run_eval(setup, "--report", tmp_path / "report", "--baseline", saved)
    assert result.exit_code == 0, result.output
    assert f"against {saved} (paired, on the 4 files of both runs)" in result.stdout
    links = page_links(tmp_path / "report" / "index.html")
    assert sorted(links) == ["confusion.png", "det.png", "results.json", "scores.png"]
    assert all((tmp_path / "report" / link).stat().st_size > 1000 for link in links)
    saved_run = json.loads((tmp_path / "report" / "results.json").read_text())
    assert saved_run["baseline"]["regressions"] == []


def test_eval_baseline_fails_when_decisions_got_worse(setup, tmp_path):
    # at --threshold 1.0 every file is rejected; a baseline that accepted them all is better
    before = json.loads(run_eval(setup, "--json", "--threshold", "1.0").stdout)
    for f in before["files"]:
        f["speaker"] = f["truth"]
    saved = tmp_path / "baseline.json"
    saved.write_text(json.dumps(before))
    result = run_eval(setup, "--threshold", "1.0", "--baseline", saved)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Warning: open-set accuracy got worse: 100.00% -> 0.00% (100.00 points worse; 95% "
        "interval of the change [-100.00, -100.00])",
        "Warning: known falsely rejected got worse: 0.00% -> 100.00% (100.00 points worse; "
        "95% interval of the change [+100.00, +100.00])",
        "Error: 2 figures worse than the baseline by more than 1.0 points"]
    assert "WORSE" in result.stdout
