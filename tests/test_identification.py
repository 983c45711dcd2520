from pathlib import Path

import numpy as np
import pytest

from cli_support import write_clips
from streamz_speaker.speaker_id.extraction import CacheConfig
from streamz_speaker.speaker_id.identification import UNKNOWN, Identification, identify_file
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.speaker_id.training import TrainConfig, train


@pytest.fixture
def model_and_probe(make_wav, tmp_path):
    lst = tmp_path / "train.txt"
    lst.write_text("".join(f"{p.name},{p.stem[:-1]}\n" for p in write_clips(tmp_path)))
    train(lst, tmp_path / "m.npz", TrainConfig(epochs=10, burn_in_limit=0),
          cache=CacheConfig(feature_dir=None, wav_dir=None))
    return load_model(tmp_path / "m.npz"), make_wav("probe.wav", "alice", seed=7)


def test_identify_threshold_is_inclusive(model_and_probe):
    model, probe = model_and_probe
    c = identify_file(model, probe, threshold=0.0).confidence
    assert 0.0 < c < 1.0
    at = identify_file(model, probe, threshold=c)
    assert (at.speaker, at.best, at.confidence) == ("alice", "alice", c)
    above = identify_file(model, probe, threshold=float(np.nextafter(c, 1.0)))
    assert (above.speaker, above.best) == (UNKNOWN, "alice")


def test_speaker_shares_count_confident_windows():
    windows = np.array([[0.9, 0.1, 0.0],
                        [0.6, 0.4, 0.0],     # exactly at the threshold: counts
                        [0.2, 0.7, 0.1],
                        [0.5, 0.3, 0.2]])    # below: an unknown window
    ident = Identification(path=Path("x.wav"), speaker="a", best="a", confidence=0.55,
                           proba=windows.mean(axis=0), window_proba=windows)
    assert ident.speaker_shares(["a", "b", "c"], 0.6) == [("a", 2, 0.5), ("b", 1, 0.25),
                                                          (UNKNOWN, 1, 0.25)]
    assert ident.speaker_shares(["a", "b", "c"], 0.65) == [("a", 1, 0.25), ("b", 1, 0.25),
                                                           (UNKNOWN, 2, 0.5)]
    assert ident.speaker_shares(["a", "b", "c"], 0.95) == [(UNKNOWN, 4, 1.0)]


def _ident(windows, best="a", confidence=0.9):
    windows = np.asarray(windows, dtype=float)
    return Identification(path=Path("x.wav"), speaker=UNKNOWN, best=best, confidence=confidence,
                          proba=windows.mean(axis=0), window_proba=windows)


def test_a_second_voice_for_three_windows_withholds_the_name():
    # three windows in a row verify against b (3 s of CAM++ windows): two people, not a
    mixed = _ident([[0.9, 0.1], [0.95, 0.0], [0.1, 0.9], [0.0, 0.85], [0.1, 0.9], [0.9, 0.0]])
    assert mixed.several_speakers(["a", "b"], 0.8)
    assert mixed.decision(["a", "b"], 0.8) == UNKNOWN
    # windows that give a almost nothing contradict it too, whoever they verify against
    stranger = _ident([[0.9, 0.1], [0.01, 0.3], [0.02, 0.1], [0.0, 0.5], [0.9, 0.0]])
    assert stranger.decision(["a", "b"], 0.8) == UNKNOWN


def test_stray_windows_of_one_voice_keep_the_name():
    """An expressive line of one person: a window or two stray, none for 3 s."""
    stray = _ident([[0.9, 0.1], [0.1, 0.9], [0.0, 0.85], [0.9, 0.0], [0.1, 0.9], [0.9, 0.1]])
    assert stray.agreement(["a", "b"], 0.8) == pytest.approx(0.5)     # half agree, yet
    assert not stray.several_speakers(["a", "b"], 0.8)
    assert stray.decision(["a", "b"], 0.8) == "a"
    # no window verifies against anyone: nothing contradicts the whole file
    quiet = _ident([[0.5, 0.4], [0.6, 0.1]])
    assert quiet.decision(["a", "b"], 0.8) == "a"
    assert quiet.decision(["a", "b"], 0.95) == UNKNOWN       # below the threshold


def test_second_voice_run_spans_three_seconds():
    from streamz_speaker.core.config import FeatureConfig
    from streamz_speaker.speaker_id.identification import second_voice_run

    assert second_voice_run(FeatureConfig(kind="embedding")) == 3     # 1.5 s every 0.75 s
    assert second_voice_run(FeatureConfig(kind="mfcc")) == 2          # 1.5 s spans
    assert second_voice_run(FeatureConfig(kind="embedding", embedding_hop_seconds=1.5)) == 2


def test_mfcc_windows_are_scored_in_spans_of_about_one_and_a_half_seconds():
    from streamz_speaker.core.config import FeatureConfig
    from streamz_speaker.speaker_id.identification import _span_means, _windows_per_span

    assert _windows_per_span(FeatureConfig(kind="embedding")) == 1   # a CAM++ window is one
    assert _windows_per_span(FeatureConfig(kind="mfcc")) == 50       # 50 windows of 30 ms
    rows = np.arange(10.0)[:, None]
    np.testing.assert_array_equal(_span_means(rows, 3), [[1.5], [5.0], [8.0]])
    assert _span_means(rows, 10) is rows


def test_known_voice_needs_a_run_of_windows_of_one_speaker():
    from streamz_speaker.speaker_id.identification import known_voice

    windows = np.array([[0.9, 0.0], [0.85, 0.1], [0.1, 0.9], [0.2, 0.3], [0.0, 0.95]])
    assert known_voice(windows, 0.8, 2) == 0          # a heard twice in a row
    assert known_voice(windows, 0.8, 3) is None       # nobody for three windows
    assert known_voice(windows[2:], 0.8, 2) is None   # b twice, but not in a row
