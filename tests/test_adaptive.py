"""Adaptive windows: filled windows equal the dense step's where windows agree, else computed."""

import numpy as np
import pytest

from streamz_speaker.diarization import adaptive
from streamz_speaker.diarization.config import (FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS,
                                                FRAMES_PER_WINDOW, SegmentationConfig)
from streamz_speaker.core.errors import ConfigError


def conversation(seconds: float, turns, *, overlap=()):
    """Global activity at 1 ms of three speakers: ``turns`` = [(start, end, speaker)]."""
    t = np.zeros((int(seconds * 1000), 3), bool)
    for start, end, who in list(turns) + list(overlap):
        t[int(start * 1000):int(end * 1000), who] = True
    return t


def window(timeline, index, step, rng=None):
    """What a perfect segmentation says in window ``index``, local speakers shuffled."""
    centres = index * step + np.arange(FRAMES_PER_WINDOW) * FRAME_STEP_SECONDS \
        + FRAME_DURATION_SECONDS / 2
    ms = np.clip((centres * 1000).astype(int), 0, timeline.shape[0] - 1)
    act = timeline[ms].astype(np.float32)
    act[centres * 1000 >= timeline.shape[0]] = 0
    order = rng.permutation(3) if rng is not None else np.arange(3)
    return act[:, order]


def same_up_to_permutation(a, b):
    """Share of frames where ``a`` and ``b`` differ under their best speaker renaming."""
    return adaptive.align(a, b, 0, step_seconds=1.0)[1]


@pytest.mark.parametrize("step, coarse", [(1.0, 4), (2.0, 2), (1.0, 2)])
def test_fill_gives_the_dense_windows_on_fixed_turns(step, coarse, rng):
    # three speakers, changes every 7-12 s, one overlap: the dense windows are known exactly
    turns = [(0.5, 9.0, 0), (9.3, 21.0, 1), (21.5, 30.0, 2), (30.2, 42.0, 0), (42.0, 55.0, 1),
             (55.5, 63.0, 2)]
    timeline = conversation(70.0, turns, overlap=[(40.0, 42.0, 1)])
    total = int((70 - 10) / step) + 1
    dense = np.stack([window(timeline, c, step, rng) for c in range(total)])
    calls = []

    def compute(indices):
        calls.extend(indices)
        return dense[indices]

    coarse_idx = adaptive.coarse_indices(0, total - 1, coarse, total)
    filled = adaptive.fill({i: dense[i] for i in coarse_idx}, compute, step_seconds=step,
                           max_mismatch=0.02)
    assert sorted(filled) == list(range(total))
    for c in range(total):
        # nearest-frame resampling may move a turn edge by one frame, nothing more
        assert same_up_to_permutation(dense[c], filled[c]) <= 2 / FRAMES_PER_WINDOW, c
    assert len(coarse_idx) + len(calls) < total           # fewer windows than the dense step


def test_disagreeing_windows_are_computed_not_filled(rng):
    step = 1.0
    total = 9
    noise = [rng.integers(0, 2, (FRAMES_PER_WINDOW, 3)).astype(np.float32) for _ in range(total)]
    calls = []

    def compute(indices):
        calls.extend(indices)
        return np.stack([noise[i] for i in indices])

    filled = adaptive.fill({0: noise[0], 8: noise[8]}, compute, step_seconds=step,
                           max_mismatch=0.02)
    assert sorted(calls) == list(range(1, 8))              # bisected down to the dense step
    for c in range(total):
        np.testing.assert_array_equal(filled[c], noise[c])


def test_silence_is_filled_without_the_model():
    silent = np.zeros((FRAMES_PER_WINDOW, 3), np.float32)

    def compute(indices):
        raise AssertionError("no window should be computed in silence")

    filled = adaptive.fill({0: silent, 4: silent}, compute, step_seconds=1.0, max_mismatch=0.0)
    assert all(not filled[c].any() for c in range(5))


def test_windows_sharing_too_little_audio_are_never_filled():
    silent = np.zeros((FRAMES_PER_WINDOW, 3), np.float32)
    calls = []

    def compute(indices):
        calls.extend(indices)
        return np.zeros((len(indices), FRAMES_PER_WINDOW, 3), np.float32)

    adaptive.fill({0: silent, 8: silent}, compute, step_seconds=1.0, max_mismatch=0.0)
    assert calls == [4]                                     # 8 s apart share 2 s < 4 s


def test_a_slot_is_not_given_to_two_unmatched_speakers():
    # left (0-10 s) hears A at 1-3.9 s only, before the audio it shares with right (4-14 s),
    # right hears B at 10-11 s only, after it: the window at 1-11 s hears both, and filling it
    # would put them in one slot, merging two voices into one local speaker
    left = np.zeros((FRAMES_PER_WINDOW, 3), np.float32)
    right = np.zeros((FRAMES_PER_WINDOW, 3), np.float32)
    left[59:231, 0] = 1
    right[355:415, 0] = 1
    assert adaptive.interpolate(left, right, 4, step_seconds=1.0, max_mismatch=0.02) is None


def test_align_finds_the_renaming(rng):
    a = rng.integers(0, 2, (FRAMES_PER_WINDOW, 3)).astype(np.float32)
    permutation, mismatch = adaptive.align(a, a[:, [2, 0, 1]], 0, step_seconds=1.0)
    assert mismatch == 0 and list(permutation) == [1, 2, 0]


def test_coarse_indices_keep_the_ends_and_the_padded_last_chunk():
    assert adaptive.coarse_indices(0, 16, 4, 100) == [0, 4, 8, 12, 16]
    assert adaptive.coarse_indices(16, 27, 4, 28) == [16, 20, 24, 27]
    assert adaptive.coarse_indices(0, 5, 1, 6) == [0, 1, 2, 3, 4, 5]


def test_config():
    assert SegmentationConfig().coarse_factor == 4
    assert SegmentationConfig(2.0).coarse_factor == 2
    assert SegmentationConfig(coarse_seconds=0).coarse_factor == 1
    with pytest.raises(ConfigError, match="max_mismatch"):
        SegmentationConfig(max_mismatch=2)
    with pytest.raises(ConfigError, match="coarse_seconds"):
        SegmentationConfig(coarse_seconds=-1)


def test_tolerance_ignores_edges_that_move_by_a_few_frames():
    # the same turn, its end one window 3 frames later than the other's: with a tolerance
    # of 3 frames the windows agree exactly; without it, those frames count
    a = np.zeros((FRAMES_PER_WINDOW, 3), np.float32)
    a[100:300, 0] = 1
    b = a.copy()
    b[300:303, 0] = 1
    assert adaptive.align(a, b, 0, step_seconds=1.0)[1] == pytest.approx(3 / FRAMES_PER_WINDOW)
    assert adaptive.align(a, b, 0, step_seconds=1.0, tolerance_frames=3)[1] == 0.0
    with pytest.raises(ConfigError, match="tolerance_frames"):
        SegmentationConfig(tolerance_frames=-1)
