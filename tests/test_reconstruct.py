import numpy as np

from streamz_speaker.diarization.aggregation import num_global_frames, speaker_count
from streamz_speaker.diarization.config import FRAMES_PER_WINDOW
from streamz_speaker.diarization.reconstruct import clustered_activity, reconstruct


def test_clustered_activity_takes_max_and_nan_for_absent():
    act = np.zeros((2, 4, 3), dtype=np.float32)
    act[0, :2, 0] = 1
    act[0, 2:, 1] = 1
    act[1, :, 2] = 1
    hard = np.array([[0, 0, -2], [-2, -2, 1]])
    out = clustered_activity(act, hard)
    assert out.shape == (2, 4, 2)
    np.testing.assert_array_equal(out[0, :, 0], [1, 1, 1, 1])
    assert np.all(np.isnan(out[0, :, 1])) and np.all(np.isnan(out[1, :, 0]))
    np.testing.assert_array_equal(out[1, :, 1], 1)


def _two_speaker_case():
    # chunk 0: local 0 = spk A, chunk 1: local 1 = spk A, local 0 = spk B (second half).
    act = np.zeros((2, FRAMES_PER_WINDOW, 3), dtype=np.float32)
    act[0, :300, 0] = 1
    act[1, :241, 1] = 1            # same absolute span as chunk 0 frames 59..300
    act[1, 400:, 0] = 1
    hard = np.array([[0, -2, -2], [1, 0, -2]])
    return act, hard


def test_reconstruct_top_count():
    act, hard = _two_speaker_case()
    count = speaker_count(act)
    out = reconstruct(act, hard, count)
    assert out.shape == (num_global_frames(2), 2)
    np.testing.assert_array_equal(out.sum(1), np.minimum(count, 2))
    assert np.all(out[:300, 0] == 1) and np.all(out[:300, 1] == 0)
    # 459..588: chunk 0 silent, chunk 1 has B -> count rint(0.5) = 0; then only chunk 1
    assert np.all(out[459:FRAMES_PER_WINDOW] == 0)
    assert np.all(out[FRAMES_PER_WINDOW:59 + FRAMES_PER_WINDOW, 1] == 1)


def test_exclusive_at_most_one_speaker(rng):
    act = (rng.random((6, FRAMES_PER_WINDOW, 3)) > 0.6).astype(np.float32)
    hard = rng.integers(0, 4, size=(6, 3))
    count = speaker_count(act)
    full = reconstruct(act, hard, count)
    excl = reconstruct(act, hard, count, exclusive=True)
    assert excl.max(initial=0) <= 1 and np.all(excl.sum(1) == np.minimum(full.sum(1), 1))
    assert np.all(excl <= full)                    # the exclusive speaker is the top one
    assert np.all(full.sum(1) <= count) and excl.sum() > 0


def test_never_invents_a_speaker_when_count_exceeds_clusters():
    # all three local speakers belong to one cluster: a count of 2 cannot make a second one
    act = np.ones((1, FRAMES_PER_WINDOW, 3), dtype=np.float32)
    hard = np.array([[0, 0, 0]])
    out = reconstruct(act, hard, np.full(num_global_frames(1), 2))
    assert out.shape == (num_global_frames(1), 1)
    np.testing.assert_array_equal(out[:FRAMES_PER_WINDOW, 0], 1)


def test_count_beyond_active_clusters_marks_only_active_ones():
    # two clusters, but in the second half only cluster 1 is active while the count says 2
    act = np.zeros((1, FRAMES_PER_WINDOW, 3), dtype=np.float32)
    act[0, :300, 0] = 1
    act[0, :, 1] = 1
    hard = np.array([[0, 1, -2]])
    out = reconstruct(act, hard, np.full(num_global_frames(1), 2))
    np.testing.assert_array_equal(out[:300].sum(1), 2)
    np.testing.assert_array_equal(out[300:FRAMES_PER_WINDOW, 0], 0)
    np.testing.assert_array_equal(out[300:FRAMES_PER_WINDOW, 1], 1)
