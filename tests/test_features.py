import numpy as np
import pytest

from streamz_speaker.core.config import FeatureConfig
from streamz_speaker.core.errors import FeatureError
from streamz_speaker.speaker_id.features import delta, extract, feature_windows, frame_features, mfcc, normalize


def test_delta_of_ramp_is_its_slope():
    ramp = np.outer(np.arange(40, dtype=np.float32), [1.0, -2.0, 0.5])
    d = delta(ramp, width=9)
    assert np.allclose(d[4:-4], [1.0, -2.0, 0.5], atol=1e-5)
    assert np.allclose(delta(ramp, width=9, order=2)[8:-8], 0.0, atol=1e-5)


def test_delta_short_input_and_bad_width():
    assert delta(np.ones((2, 3)), width=9).shape == (2, 3)
    with pytest.raises(FeatureError, match="odd"):
        delta(np.ones((5, 3)), width=4)


def test_normalize_removes_channel_offset_without_mutating(rng):
    F = rng.standard_normal((100, 4)).astype(np.float32)
    shifted = F + np.array([5, -3, 2, 0], np.float32)
    before = shifted.copy()
    assert np.allclose(normalize(shifted), normalize(F), atol=1e-5)
    assert np.array_equal(shifted, before)


def test_feature_windows_match_direct_pooling(rng):
    F = rng.standard_normal((37, 3)).astype(np.float32)
    X = feature_windows(F, window_frames=10, hop_frames=4)
    starts = range(0, 28, 4)
    expected = np.array([np.concatenate([F[s:s + 10].mean(0), F[s:s + 10].std(0)]) for s in starts])
    assert X.shape == (len(expected), 6)
    assert np.allclose(X, expected, atol=1e-4)
    assert feature_windows(F[:5], window_frames=10, hop_frames=4).shape == (1, 6)


def test_mfcc_shape_and_dtype():
    y = np.sin(np.arange(16000) * 0.05).astype(np.float32)
    M = mfcc(y, sr=16000, n_fft=400, hop_length=160, n_mfcc=20, n_mels=26, fmax=3800)
    assert M.shape == (1 + (16000 - 400) // 160, 20) and M.dtype == np.float32


def test_extract_shapes_and_speaker_difference():
    from conftest import SPEAKERS, synth_voice

    cfg = FeatureConfig()
    a = extract(synth_voice(*SPEAKERS["alice"], 2.0), cfg)
    b = extract(synth_voice(*SPEAKERS["bob"], 2.0), cfg)
    assert a.shape[1] == 6 * cfg.n_mfcc and a.dtype == np.float32
    a2 = extract(synth_voice(*SPEAKERS["alice"], 2.0, seed=3), cfg)
    assert np.linalg.norm(a.mean(0) - a2.mean(0)) < np.linalg.norm(a.mean(0) - b.mean(0))


@pytest.mark.parametrize("y,problem", [
    (np.zeros(16000, np.float32), "silent"),
    (np.ones(1, np.float32), "too short"),
    (np.full(16000, np.nan, np.float32), "NaN"),
    (np.zeros((2, 8000), np.float32), "mono"),
    (np.zeros(16000, np.int16), "floating point"),
])
def test_unusable_audio_raises(y, problem):
    with pytest.raises(FeatureError, match=problem):
        frame_features(y, FeatureConfig())
