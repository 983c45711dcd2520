"""Kaldi fbank: geometry, validation, and agreement with kaldi-native-fbank."""

import kaldi_native_fbank as knf
import numpy as np
import pytest

from streamz_speaker.diarization.fbank import fbank, num_frames
from streamz_speaker.core.errors import FeatureError


def test_num_frames_matches_snip_edges():
    assert num_frames(399) == 0
    assert num_frames(400) == 1
    assert num_frames(560) == 2
    assert fbank(np.zeros(16_000, np.float32)).shape == (98, 80)


def test_short_input_gives_no_frames():
    assert fbank(np.zeros(100, np.float32)).shape == (0, 80)


@pytest.mark.parametrize("bad", [np.zeros((2, 400), np.float32), np.zeros(800, np.int16),
                                 np.array([np.nan] * 800, np.float32)])
def test_rejects_bad_input(bad):
    with pytest.raises(FeatureError):
        fbank(bad)


def test_rejects_other_sample_rate():
    with pytest.raises(FeatureError, match="16000"):
        fbank(np.zeros(800, np.float32), sr=8000)


def test_matches_kaldi_native_fbank(rng):
    y = (0.1 * rng.standard_normal(16_000 * 3)).astype(np.float32)
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.mel_opts.num_bins = 80
    online = knf.OnlineFbank(opts)
    online.accept_waveform(16_000, y)
    online.input_finished()
    expected = np.stack([online.get_frame(i) for i in range(online.num_frames_ready)])
    got = fbank(y)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-3)


def test_does_not_modify_input(rng):
    y = rng.standard_normal(4000).astype(np.float32)
    before = y.copy()
    fbank(y, window="hamming", scale=32768.0)
    np.testing.assert_array_equal(y, before)
