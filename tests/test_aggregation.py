import numpy as np
import pytest

from streamz_speaker.diarization.aggregation import (aggregate, chunk_start_frames, num_global_frames,
                                                     speaker_count)
from streamz_speaker.diarization.config import FRAME_STEP_SECONDS, FRAMES_PER_WINDOW


def _reference_aggregate(scores, step, skip_average=False):
    # Direct transcription of the overlap-add definition with pyannote's frame arithmetic.
    n, f, k = scores.shape
    d, s = 0.0619375, FRAME_STEP_SECONDS
    total_frames = int(np.rint((10.0 + (n - 1) * step + 0.5 * d - 0.5 * d) / s)) + 1
    acc = np.zeros((total_frames, k))
    cnt = np.zeros((total_frames, k))
    for c in range(n):
        start = int(np.rint((c * step + 0.5 * d - 0.5 * d) / s))
        for i in range(f):
            for j in range(k):
                if not np.isnan(scores[c, i, j]):
                    acc[start + i, j] += scores[c, i, j]
                    cnt[start + i, j] += 1
    out = acc if skip_average else acc / np.maximum(cnt, 1e-12)
    out[cnt == 0] = 0.0
    return out


def test_geometry():
    assert num_global_frames(1) == 594                # 10 s / 16.875 ms -> 593 (+1)
    np.testing.assert_array_equal(chunk_start_frames(4), [0, 59, 119, 178])
    np.testing.assert_array_equal(chunk_start_frames(3, step_seconds=2.0), [0, 119, 237])
    assert num_global_frames(0) == 0


@pytest.mark.parametrize("step", [1.0, 2.0])
def test_matches_reference_with_nans(rng, step):
    scores = rng.random((5, FRAMES_PER_WINDOW, 2)).astype(np.float32)
    scores[1, :, 0] = np.nan                             # cluster absent from chunk 1
    for skip in (False, True):
        got = aggregate(scores, step_seconds=step, skip_average=skip)
        np.testing.assert_allclose(got, _reference_aggregate(scores, step, skip), rtol=1e-5,
                                   atol=1e-5)


def test_constant_scores_average_to_themselves():
    scores = np.full((7, FRAMES_PER_WINDOW, 3), 0.25, dtype=np.float32)
    out = aggregate(scores)
    covered = out[: chunk_start_frames(7)[-1] + FRAMES_PER_WINDOW]
    np.testing.assert_allclose(covered, 0.25)
    assert np.all(out[chunk_start_frames(7)[-1] + FRAMES_PER_WINDOW:] == 0.0)  # missing


def test_speaker_count_average_and_round():
    # two chunks, step 1 s: chunk 0 has 2 speakers everywhere, chunk 1 has 1 speaker.
    act = np.zeros((2, FRAMES_PER_WINDOW, 3), dtype=np.float32)
    act[0, :, :2] = 1
    act[1, :, 0] = 1
    count = speaker_count(act)
    assert count.dtype == np.int32 and count.shape == (num_global_frames(2),)
    assert np.all(count[:59] == 2)                       # only chunk 0
    assert np.all(count[59:FRAMES_PER_WINDOW] == 2)      # (2 + 1) / 2 = 1.5 -> rint -> 2
    assert np.all(count[FRAMES_PER_WINDOW:59 + FRAMES_PER_WINDOW] == 1)
    np.testing.assert_array_equal(speaker_count(act, max_speakers=1), np.minimum(count, 1))


def test_speaker_count_three_chunks_rounding():
    act = np.zeros((3, FRAMES_PER_WINDOW, 3), dtype=np.float32)
    act[0, :, 0] = 1                                     # 1 + 0 + 0 over the common part -> 0
    count = speaker_count(act)
    assert count[200] == 0 and count[10] == 1


def test_rejects_bad_shape():
    with pytest.raises(ValueError, match="num_chunks"):
        aggregate(np.zeros((3, 4)))


def test_speaker_count_threshold():
    # four chunks, step 1 s: 3 of 4 chunks (0.75) see a speaker over their common frames
    act = np.zeros((4, FRAMES_PER_WINDOW, 3), dtype=np.float32)
    act[:3, :, 0] = 1
    common = slice(chunk_start_frames(4)[-1] + 5, FRAMES_PER_WINDOW - 5)
    assert np.all(speaker_count(act)[common] == 1)
    assert np.all(speaker_count(act, threshold=0.75)[common] == 1)     # 0.75 >= 0.75
    assert np.all(speaker_count(act, threshold=0.8)[common] == 0)
    two = np.zeros_like(act)
    two[:, :, :2] = 1
    two[0, :, 1] = 0                                                    # average 1.75
    assert np.all(speaker_count(two, threshold=0.75)[common] == 2)
    assert np.all(speaker_count(two, threshold=0.9)[common] == 1)
    with pytest.raises(ValueError, match="threshold"):
        speaker_count(act, threshold=1.0)
