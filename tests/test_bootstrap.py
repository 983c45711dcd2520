"""Bootstrap intervals and the regression check, on cases with known answers."""

import numpy as np
import pytest

from streamz_speaker.core.errors import ConfigError, ReportError
from streamz_speaker.speaker_id.evaluation import FIGURES as EVAL_FIGURES
from streamz_speaker.speaker_id.evaluation import sample as eval_sample
from streamz_speaker.report import BootstrapConfig, Sample, compare, compare_runs
from streamz_speaker.core.bootstrap import percentile_interval, resamples


def mean_sample(values, clusters=None):
    """Units with a value each; the figure is their mean."""
    values = np.asarray(values, float)
    return Sample(keys=list(range(len(values))),
                  statistic=lambda idx: {"mean": float(values[idx].mean())},
                  clusters=list(range(len(values))) if clusters is None else list(clusters))


def test_two_units_give_the_hand_computed_interval():
    # resampled means of {0, 1}: 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4, so the
    # central 95% runs from 0 to 1
    assert mean_sample([0, 1]).intervals()["mean"] == (0.0, 1.0)
    assert mean_sample([0.3] * 5).intervals()["mean"] == (0.3, 0.3)
    assert mean_sample([0.3]).intervals() == {"mean": None}       # nothing to resample


def test_interval_of_a_proportion_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    values = rng.random(400) < 0.3
    p = values.mean()
    low, high = mean_sample(values).intervals(BootstrapConfig(n_resamples=2000))["mean"]
    half = 1.96 * np.sqrt(p * (1 - p) / values.size)
    assert low == pytest.approx(p - half, abs=0.01)
    assert high == pytest.approx(p + half, abs=0.01)


def test_intervals_are_reproducible_and_follow_the_seed():
    s = mean_sample(np.random.default_rng(2).random(30))
    assert s.intervals(BootstrapConfig(seed=5)) == s.intervals(BootstrapConfig(seed=5))
    assert s.intervals(BootstrapConfig(seed=5)) != s.intervals(BootstrapConfig(seed=6))


def test_resampling_speakers_widens_the_interval_of_clustered_outcomes():
    # speaker A's 10 files all right, speaker B's all wrong: files look like 20 independent
    # coin flips, but only two speakers were seen
    values = [1] * 10 + [0] * 10
    by_file = mean_sample(values).intervals()["mean"]
    by_speaker = mean_sample(values, clusters=["A"] * 10 + ["B"] * 10).intervals()["mean"]
    assert by_speaker == (0.0, 1.0)
    assert 0.2 < by_file[0] < 0.35 and 0.65 < by_file[1] < 0.8


def test_resamples_keep_each_stratum_and_draw_whole_clusters():
    clusters = ["a", "a", "a", "b", "u1", "u2"]
    strata = [1, 1, 1, 1, 0, 0]
    for idx in resamples(clusters, strata=strata, config=BootstrapConfig(n_resamples=50)):
        drawn = np.array(clusters)[idx]
        assert np.sum(np.isin(drawn, ["u1", "u2"])) == 2     # the stratum of two singletons
        assert len(idx) - 2 in (2, 4, 6)                     # two of {a (3 files), b (1)}


def test_config_is_checked():
    with pytest.raises(ConfigError, match="n_resamples"):
        BootstrapConfig(n_resamples=0)
    with pytest.raises(ConfigError, match="confidence"):
        BootstrapConfig(confidence=1.0)
    assert percentile_interval([1, 2, 3, 4, 5], 0.5) == (2.0, 4.0)


def eval_files(n_speakers=4, per_speaker=5, wrong=()):
    """Evaluation results: file i of speaker s is decided right unless (s, i) in wrong."""
    files = []
    for s in range(n_speakers):
        for i in range(per_speaker):
            truth = f"spk{s}"
            best = f"spk{(s + 1) % n_speakers}" if (s, i) in wrong else truth
            files.append({"sha256": f"{s}-{i}", "truth": truth, "known": True, "best": best,
                          "confidence": 0.9, "speaker": best})
    return files


def test_identical_runs_differ_by_exactly_zero():
    s = eval_sample(eval_files(wrong={(0, 1), (2, 3)}))
    comparison = compare(s, s, EVAL_FIGURES)
    assert comparison.paired and comparison.n_common == 20
    assert not comparison.regressions
    for change in comparison.changes:
        if change.current is not None:
            assert change.difference == 0 and change.interval == (0.0, 0.0)


def test_a_real_loss_fails_and_noise_or_a_small_loss_passes():
    before = eval_sample(eval_files())
    # every speaker loses two files of five: 40 points, the same way in every resample
    much_worse = eval_sample(eval_files(wrong={(s, i) for s in range(4) for i in (0, 1)}))
    comparison = compare(much_worse, before, EVAL_FIGURES)
    assert [c.figure for c in comparison.regressions] == ["accuracy", "open_set_accuracy"]
    accuracy = comparison.changes[0]
    assert accuracy.difference == pytest.approx(-0.4) and accuracy.interval[1] < 0
    # one file of twenty lost: 5 points, more than the margin, but one speaker's file
    # could be luck: the paired interval reaches zero
    one_lost = compare(eval_sample(eval_files(wrong={(0, 0)})), before, EVAL_FIGURES)
    assert one_lost.changes[0].worse_by == pytest.approx(0.05)
    assert one_lost.changes[0].interval[1] == 0.0 and not one_lost.regressions
    # the same loss within a wider margin passes whatever the interval
    assert not compare(much_worse, before, EVAL_FIGURES, max_regression=50).regressions


def test_runs_without_common_files_are_resampled_independently():
    before = eval_sample(eval_files())
    after_files = eval_files(wrong={(s, i) for s in range(4) for i in range(3)})
    for f in after_files:
        f["sha256"] += "-new"
    comparison = compare(eval_sample(after_files), before, EVAL_FIGURES)
    assert not comparison.paired and comparison.n_only_current == 20
    assert comparison.changes[0].difference == pytest.approx(-0.6)
    assert "accuracy" in [c.figure for c in comparison.regressions]


def test_compare_runs_refuses_baselines_that_do_not_match():
    current = {"command": "eval", "threshold": 0.8, "files": eval_files()}
    with pytest.raises(ReportError, match="old.json: not a saved `streamz eval --json` run"):
        compare_runs(current, {"command": "score", "files": {}}, source="old.json")
    with pytest.raises(ReportError, match="other settings: threshold 0.5 .baseline. vs 0.8"):
        compare_runs(current, {**current, "threshold": 0.5})
    with pytest.raises(ReportError, match="malformed per-file results"):
        compare_runs(current, {**current, "files": [{"truth": "x"}]})
    assert not compare_runs(current, current).regressions
