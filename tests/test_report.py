"""Plots, the HTML report and the regression check of `streamz score`."""

import json
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from cli_support import invoke
from streamz_speaker.diarization.rttm import Segment as S
from streamz_speaker.diarization.rttm import format_rttm
from streamz_speaker.speaker_id.evaluation import evaluate
from streamz_speaker.speaker_id.identification import Identification
from streamz_speaker.diarization.scoring import error_timeline

plots = pytest.importorskip("streamz_speaker.report.plots")   # needs the `report` extra


def test_error_timeline_places_each_kind_of_error():
    ref = [S(0, 10, "a"), S(10, 20, "b"), S(20, 25, "a")]
    hyp = [S(0, 12, "x"), S(12, 20, "y"), S(26, 30, "y")]
    timeline = error_timeline(ref, hyp, uem=[(0, 30)])
    assert timeline.mapping == {"x": "a", "y": "b"}
    assert timeline.errors == {"missed": [(20, 25)], "false_alarm": [(26, 30)],
                               "confusion": [(10, 12)]}
    assert timeline.scored == [(0, 30)]
    collar = error_timeline(ref, hyp, uem=[(0, 30)], collar=1.0)
    assert collar.scored[:2] == [(0.5, 9.5), (10.5, 19.5)]


def pixels(png: Path) -> np.ndarray:
    """RGB values of a PNG, in [0, 1]."""
    from matplotlib.image import imread

    return imread(png)[..., :3]


def blank_fraction(png: Path) -> float:
    """Share of the pixels that have the colour of the top-left one (the background)."""
    rgb = pixels(png)
    return float(np.mean(np.all(rgb == rgb[0, 0], axis=-1)))


def eval_report(n=12):
    rng = np.random.default_rng(0)
    speakers = ["alice", "bob", "carol"]
    results, truths = [], []
    for i in range(n):
        truth = speakers[i % 3] if i < n - 3 else "unknown"
        proba = rng.random(3) * 0.5
        if truth != "unknown":
            proba[speakers.index(truth)] += 0.5
        best = int(np.argmax(proba))
        results.append(Identification(Path(f"f{i}.wav"), speakers[best], speakers[best],
                                      float(proba[best]), proba, proba[None], sha256=str(i)))
        truths.append(truth)
    return evaluate(results, truths, speakers, threshold=0.8)


def test_eval_figures_are_drawn_and_not_blank(tmp_path):
    figures = plots.eval_figures(eval_report())
    assert list(figures) == ["confusion", "det", "scores"]
    for name, figure in figures.items():
        figure.savefig(tmp_path / f"{name}.png")
        assert pixels(tmp_path / f"{name}.png").std() > 0.05, name     # not one colour
        assert blank_fraction(tmp_path / f"{name}.png") < 0.95, name


def test_displays_keep_what_they_computed():
    report = eval_report()
    confusion = plots.ConfusionMatrixDisplay.from_report(report)
    assert confusion.confusion.sum() == report.n_files
    det = plots.DetCurveDisplay.from_report(report)
    same, different = plots.trials(report.files)
    assert len(same) == report.n_known and len(different) == 3 * report.n_files - len(same)
    assert det.at_threshold == (np.mean(different >= 0.8), np.mean(same < 0.8))
    assert det.plot().ax_.get_xlabel() == "false alarm rate"


def write_rttms(folder: Path, n_files=6, worse=False):
    """Reference and hypothesis RTTMs of n conversations; ``worse`` misses 2 s of each."""
    ref, hyp = folder / "ref.rttm", folder / "hyp.rttm"
    ref_text, hyp_text = "", ""
    for i in range(n_files):
        uri = f"conv{i:02d}"
        ref_text += format_rttm([S(0, 5, "a"), S(5, 10, "b")], uri)
        hyp_text += format_rttm([S(0, 5, "x"), S(5, 8 if worse else 10, "y")], uri)
    ref.write_text(ref_text)
    hyp.write_text(hyp_text)
    return ref, hyp


def page_links(page: Path) -> list:
    """Every src and href of an HTML page, in order."""
    links = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            links.extend(value for key, value in attrs if key in ("src", "href"))

    Parser().feed(page.read_text(encoding="utf-8"))
    return links


def test_score_report_links_every_image_and_opens_from_disk(tmp_path):
    ref, hyp = write_rttms(tmp_path, n_files=3, worse=True)
    result = invoke("score", ref, hyp, "--report", tmp_path / "report")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"report: {tmp_path / 'report' / 'index.html'}\n"
    folder = tmp_path / "report"
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert pngs == ["der.png", "timeline-01-conv00.png", "timeline-02-conv01.png",
                    "timeline-03-conv02.png"]
    links = page_links(folder / "index.html")
    assert sorted(link for link in links if link.endswith(".png")) == pngs
    assert all((folder / link).is_file() for link in links)      # relative, present
    assert not any(":" in link or link.startswith("/") for link in links)
    for png in pngs:
        assert blank_fraction(folder / png) < 0.95, png
    saved = json.loads((folder / "results.json").read_text())
    assert saved["total"]["der"] == pytest.approx(0.2) and saved["command"] == "score"


def test_score_prints_intervals_beside_the_totals(tmp_path):
    ref, hyp = write_rttms(tmp_path)
    (tmp_path / "hyp.rttm").write_text(   # conv00 perfect, the others miss 2 s of 10
        "".join(format_rttm([S(0, 5, "x"), S(5, 10 if i == 0 else 8, "y")], f"conv{i:02d}")
                for i in range(6)))
    result = invoke("score", ref, hyp)
    # a resample holds k perfect files of 6, k ~ Binomial(6, 1/6), and its DER is
    # 20% * (6 - k) / 6; P(k >= 3) = 6.2% and P(k >= 4) = 0.9%, so the 2.5% quantile is
    # the k = 3 value, 10%, and the 97.5% quantile the k = 0 value, 20%
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["conv00", "0.00", "0.00", "0.00", "0.00", "10.000"]
    assert lines[-1].split() == ["TOTAL", "16.67", "[10.00,", "20.00]", "16.67", "[10.00,",
                                 "20.00]", "0.00", "[0.00,", "0.00]", "0.00", "[0.00,",
                                 "0.00]", "60.000"]
    data = json.loads(invoke("score", ref, hyp, "--json").stdout)
    assert data["intervals"]["der"] == [0.1, 0.2]
    assert data["bootstrap"] == {"method": "percentile", "confidence": 0.95,
                                 "resamples": 1000, "seed": 0}


def test_score_baseline_fails_on_a_real_regression_and_passes_otherwise(tmp_path):
    ref, hyp = write_rttms(tmp_path)
    saved = tmp_path / "baseline.json"
    saved.write_text(invoke("score", ref, hyp, "--json").stdout)
    same = invoke("score", ref, hyp, "--baseline", saved)
    assert same.exit_code == 0, same.output
    assert "against " + str(saved) + " (paired, on the 6 files of both runs)" in same.stdout
    _, worse = write_rttms(tmp_path, worse=True)
    result = invoke("score", ref, worse, "--baseline", saved)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Warning: DER got worse: 0.00% -> 20.00% (20.00 points worse; 95% interval of the "
        "change [+20.00, +20.00])",
        "Warning: missed speech got worse: 0.00% -> 20.00% (20.00 points worse; 95% interval "
        "of the change [+20.00, +20.00])",
        "Error: 2 figures worse than the baseline by more than 1.0 points"]
    assert invoke("score", ref, worse, "--baseline", saved,
                  "--max-regression", "25").exit_code == 0
    # the regressed run as baseline: going back is an improvement
    (tmp_path / "worse.json").write_text(invoke("score", ref, worse, "--json").stdout)
    better = invoke("score", ref, hyp, "--baseline", tmp_path / "worse.json", "--json")
    assert better.exit_code == 0
    assert json.loads(better.stdout)["baseline"]["regressions"] == []


def test_score_baseline_must_be_a_comparable_run(tmp_path):
    ref, hyp = write_rttms(tmp_path, n_files=2)
    saved = tmp_path / "baseline.json"
    saved.write_text(invoke("score", ref, hyp, "--json", "--collar", "0.5").stdout)
    result = invoke("score", ref, hyp, "--baseline", saved)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {saved}: made with other settings: collar 0.5 "
                             "(baseline) vs 0.0; compare runs made the same way\n")
    saved.write_text("[]")
    assert "not a saved --json run" in invoke("score", ref, hyp, "--baseline", saved).stderr
    result = invoke("score", ref, hyp, "--baseline", tmp_path / "none.json")
    assert result.stderr == f"Error: {tmp_path / 'none.json'}: baseline not found\n"


def test_report_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    ref, hyp = write_rttms(tmp_path, n_files=1)
    import streamz_speaker.report

    monkeypatch.delitem(sys.modules, "streamz_speaker.report.plots")
    monkeypatch.delattr(streamz_speaker.report, "plots")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)   # import fails
    result = invoke("score", ref, hyp, "--report", tmp_path / "report")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: plots need matplotlib, which is not installed: "
                                    "pip install 'streamz-speaker[report]'")
    assert not (tmp_path / "report").exists()


def test_matplotlib_is_imported_only_for_plots():
    import subprocess

    code = ("import sys, streamz_speaker, streamz_speaker.cli, streamz_speaker.speaker_id.evaluation, streamz_speaker.diarization.scoring, "
            "streamz_speaker.report, streamz_speaker.report.html; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
