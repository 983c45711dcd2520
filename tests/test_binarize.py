import numpy as np
import pytest

from streamz_speaker.diarization.binarize import binarize
from streamz_speaker.diarization.config import BinarizeConfig


def _run(values, **kw):
    cfg = BinarizeConfig(**kw)
    return binarize(np.asarray(values, dtype=float)[:, None], cfg, frame_step=1.0)[:, 0]


def test_plain_threshold_is_strict():
    np.testing.assert_array_equal(_run([0.2, 0.5, 0.51, 0.7, 0.49]), [0, 0, 1, 1, 0])


def test_hysteresis_keeps_state_between_thresholds():
    v = [0.4, 0.8, 0.5, 0.35, 0.2, 0.5, 0.65]
    np.testing.assert_array_equal(_run(v, onset=0.6, offset=0.3), [0, 1, 1, 1, 0, 0, 1])


def test_initial_state_is_off():
    np.testing.assert_array_equal(_run([0.5, 0.5, 0.9], onset=0.6, offset=0.3), [0, 0, 1])


def test_min_duration_off_fills_interior_gaps_only():
    v = [0, 1, 1, 0, 1, 0, 0, 0, 1, 0]
    np.testing.assert_array_equal(_run(v, min_duration_off=2.0),
                                  [0, 1, 1, 1, 1, 0, 0, 0, 1, 0])


def test_min_duration_on_removes_short_turns_after_filling():
    v = [1, 0, 1, 0, 0, 0, 1, 1, 1, 0]
    # gap of 1 filled first (turn becomes 3 frames), then turns < 2 frames are removed
    np.testing.assert_array_equal(_run(v, min_duration_on=2.0, min_duration_off=2.0),
                                  [1, 1, 1, 0, 0, 0, 1, 1, 1, 0])
    np.testing.assert_array_equal(_run(v, min_duration_on=2.0), [0, 0, 0, 0, 0, 0, 1, 1, 1, 0])


def test_three_dimensional_input_binarizes_along_frames(rng):
    scores = rng.random((2, 50, 3))
    out = binarize(scores)
    assert out.shape == scores.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, (scores > 0.5).astype(np.float32))


def test_nan_is_inactive_and_input_untouched():
    v = np.array([[np.nan], [0.9]])
    out = binarize(v)
    np.testing.assert_array_equal(out[:, 0], [0, 1])
    assert np.isnan(v[0, 0])


def test_bad_config_and_shape():
    from streamz_speaker.core.errors import ConfigError
    with pytest.raises(ConfigError):
        BinarizeConfig(onset=0.3, offset=0.6)
    with pytest.raises(ValueError, match="num_frames"):
        binarize(np.zeros(5))


def test_short_pause_inside_a_turn_is_filled_a_long_one_is_not():
    """At the segmentation frame step: a 0.2 s pause is bridged by min_duration_off=0.5 s, a
    2 s pause is not."""
    from streamz_speaker.diarization.config import FRAME_STEP_SECONDS

    def frames(seconds):
        return int(round(seconds / FRAME_STEP_SECONDS))

    turn, short, long = frames(3), frames(0.2), frames(2)
    track = np.concatenate([np.ones(turn), np.zeros(short), np.ones(turn), np.zeros(long),
                            np.ones(turn)])
    out = binarize(track[:, None], BinarizeConfig(min_duration_off=0.5))[:, 0]
    pause1 = slice(turn, turn + short)
    pause2 = slice(2 * turn + short, 2 * turn + short + long)
    assert out[pause1].all() and not out[pause2].any()
    np.testing.assert_array_equal(binarize(track[:, None])[:, 0], track)


def test_pads_widen_every_turn_within_the_recording():
    v = [0, 0, 1, 1, 0, 0, 0, 1, 0, 0]
    np.testing.assert_array_equal(_run(v, pad_offset=1.0), [0, 0, 1, 1, 1, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(_run(v, pad_onset=2.0), [1, 1, 1, 1, 0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(_run([1, 0, 0, 1], pad_onset=3.0, pad_offset=3.0),
                                  [1, 1, 1, 1])
    with pytest.raises(Exception, match="pad"):
        BinarizeConfig(pad_offset=-0.1)
