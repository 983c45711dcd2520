"""Incremental clustering and the live timeline on small, hand-made inputs."""

import numpy as np
import pytest

from streamz_speaker.diarization.config import FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS
from streamz_speaker.live.clustering import UNMAPPED, IncrementalClustering
from streamz_speaker.live.timeline import Timeline


def voices(rng, n=3, dim=16):
    return np.linalg.qr(rng.standard_normal((dim, n)))[0].T        # orthonormal rows


def noisy(v, rng, scale=0.05):
    return v + scale * rng.standard_normal(v.shape)


def test_ids_are_stable_whatever_the_local_order(rng):
    V = voices(rng)
    clustering = IncrementalClustering(max_speakers=5, delta_new=0.5, delta_same=0.3)
    yes = np.ones(3, bool)
    first = clustering(np.stack([noisy(v, rng) for v in V]), yes, yes)
    assert first.tolist() == [0, 1, 2]
    for _ in range(20):
        order = rng.permutation(3)
        mapping = clustering(np.stack([noisy(V[i], rng) for i in order]), yes, yes)
        assert mapping.tolist() == order.tolist()     # local slot k -> its voice's id
    assert clustering.num_speakers == 3
    assert clustering.support.tolist() == [21, 21, 21]


def test_new_speakers_need_clean_speech_and_room(rng):
    V = voices(rng, n=4)
    clustering = IncrementalClustering(max_speakers=2, delta_new=0.5, delta_same=0.3)
    nan = np.full(V.shape[1], np.nan)
    # short (not long) unknown voice: mapped to nothing, no speaker created
    mapping = clustering(np.stack([V[0], V[1], nan]), np.array([1, 1, 0], bool),
                         np.array([0, 0, 0], bool))
    assert mapping.tolist() == [UNMAPPED, UNMAPPED, UNMAPPED]
    assert clustering.num_speakers == 0
    mapping = clustering(np.stack([V[0], V[1], nan]), np.array([1, 1, 0], bool),
                         np.array([1, 1, 0], bool))
    assert mapping.tolist() == [0, 1, UNMAPPED]
    # a third voice with no room left takes the closest free id, here none is free
    mapping = clustering(np.stack([V[0], V[2], V[3]]), np.ones(3, bool), np.ones(3, bool))
    assert mapping[0] == 0 and mapping[1] == 1 and mapping[2] == UNMAPPED
    assert clustering.num_speakers == 2


def test_a_voice_split_into_two_local_speakers_keeps_one_id(rng):
    V = voices(rng, n=2)
    clustering = IncrementalClustering(max_speakers=5, delta_new=0.5, delta_same=0.3)
    yes = np.ones(2, bool)
    clustering(np.stack([V[0], V[1]]), yes, yes)
    mapping = clustering(np.stack([noisy(V[0], rng), noisy(V[0], rng)]), yes, yes)
    assert mapping.tolist() == [0, 0]
    assert clustering.num_speakers == 2


def test_centroids_learn_only_from_confident_long_matches(rng):
    V = voices(rng, n=2)
    clustering = IncrementalClustering(max_speakers=5, delta_new=0.5, delta_same=0.3)
    yes = np.ones(1, bool)
    clustering(V[:1], yes, yes)
    clustering(noisy(V[:1], rng), yes, np.zeros(1, bool))       # not long: no update
    assert clustering.support.tolist() == [1]
    np.testing.assert_allclose(clustering.centroid(0), V[0] / np.linalg.norm(V[0]))


def stream(clustering, rng, voices_per_step, *, scale=0.05):
    """Feed one window per entry: local speaker k speaks voice ``voices_per_step[t][k]``,
    with a central embedding of the same voice. Returns the mappings."""
    out = []
    for voices_now in voices_per_step:
        x = np.stack([noisy(v, rng, scale) for v in voices_now])
        c = np.stack([noisy(v, rng, scale) for v in voices_now])
        yes = np.ones(len(x), bool)
        out.append(clustering(x, yes, yes, c))
    return np.array(out)


def test_reclustering_splits_two_voices_the_window_matching_merged(rng):
    A, B = voices(rng, n=2)
    # delta_new 1.5: every voice is taken for the first one, until the session is re-clustered
    clustering = IncrementalClustering(max_speakers=5, delta_new=1.5, delta_same=0.01,
                                       recluster_every=10, min_points=20, keep_every=1)
    before = stream(clustering, rng, [[A] if t % 2 else [B] for t in range(10)])
    assert set(before.ravel()) == {0} and clustering.num_speakers == 1
    after = stream(clustering, rng, [[A] if t % 2 else [B] for t in range(20)])[10:]
    #   the first re-clustering is at step 20, with 20 central embeddings kept
    assert clustering.num_speakers == 2 and not clustering.merged
    a, b = after[1::2, 0], after[0::2, 0]
    assert len(set(a)) == len(set(b)) == 1 and a[0] != b[0]       # one id each, for good
    # the id the voices shared stays with the one that was heard first (B)
    assert b[0] == 0 and a[0] == 1


def test_reclustering_merges_ids_of_one_voice(rng):
    A, B = voices(rng, n=2)
    # delta_new 0.001: windows of one voice found a new id each, up to the limit
    clustering = IncrementalClustering(max_speakers=3, delta_new=1e-3, delta_same=1e-4,
                                       recluster_every=30, min_points=20, keep_every=1)
    stream(clustering, rng, [[A] if t < 15 else [B] for t in range(29)], scale=0.1)
    assert clustering.num_speakers == 3 and not clustering.merged
    stream(clustering, rng, [[B]], scale=0.1)                      # step 30: re-clustered
    assert clustering.merged and clustering.live.sum() == 2
    assert {clustering.resolve(s) for s in range(3)} == set(np.flatnonzero(clustering.live))
    # merged ids are matched no more: with a window matching that works, each voice keeps
    # one of the ids left
    clustering.delta_new = 0.5
    later = stream(clustering, rng, [[A, B]] * 5, scale=0.1)
    assert len({*later[:, 0]}) == 1 and len({*later[:, 1]}) == 1
    assert {later[0, 0], later[0, 1]} == set(np.flatnonzero(clustering.live))
    assert clustering.resolve(0) == later[0, 0]                  # A's first id: A


def test_reclustering_with_a_fixed_count_keeps_ids_below_it(rng):
    V = voices(rng, n=3)
    clustering = IncrementalClustering(max_speakers=2, delta_new=1e-3, delta_same=1e-4,
                                       fixed_count=True, recluster_every=5, min_points=10,
                                       keep_every=1)
    mappings = stream(clustering, rng, [[V[t % 3]] for t in range(60)], scale=0.1)
    assert clustering.max_ids == 2 and clustering.num_speakers <= 2
    assert mappings.max() <= 1


def test_reclustering_memory_is_bounded(rng):
    V = voices(rng, n=2)
    clustering = IncrementalClustering(max_speakers=5, delta_new=0.5, delta_same=0.3,
                                       recluster_every=50, min_points=20, keep_every=1,
                                       history=40)
    for _ in range(10):
        stream(clustering, rng, [[V[0], V[1]]] * 20)
        assert len(clustering.ids) <= 40 and len(clustering.points) == len(clustering.ids)
    assert clustering.keep_every > 1                   # thinned: kept less often
    assert clustering.num_speakers == 2 and not clustering.merged


def test_rematch_maps_an_earlier_window_with_what_is_known_now(rng):
    A, B, C = voices(rng, n=3)
    clustering = IncrementalClustering(max_speakers=5, delta_new=0.5, delta_same=0.3)
    yes = np.ones(2, bool)
    first = clustering(np.stack([A, B]), yes, yes)
    assert first.tolist() == [0, 1]
    # the centroids learn: a window given [1, 0] then (wrongly) is matched again right;
    # a local speaker far from every centroid keeps its id; nothing is learned
    support = clustering.support.copy()
    assert clustering.rematch(np.stack([A, B]), yes, np.array([1, 0])).tolist() == [0, 1]
    assert clustering.rematch(np.stack([C, B]), yes, np.array([1, 0])).tolist() == [1, 1]
    assert clustering.rematch(np.stack([C, B]), np.array([False, True]),
                              np.array([UNMAPPED, 1])).tolist() == [UNMAPPED, 1]
    assert clustering.support.tolist() == support.tolist() and clustering.num_speakers == 2
    # a merged id is read as the id it went to, and is not matched any more
    clustering.merged = {1: 0}
    assert clustering.rematch(np.stack([C, B]), yes, np.array([1, 1])).tolist() == [0, 0]


def turns(timeline):
    return [(t.start, t.end, t.speaker) for t in timeline.turns]


def test_timeline_averages_windows_and_closes_turns():
    timeline = Timeline(2, count_threshold=0.5, max_turns=100)
    window = np.zeros((10, 2), np.float32)
    window[2:6, 0] = 1
    timeline.add(0, window, window.sum(axis=1))
    timeline.add(0, window, window.sum(axis=1))
    timeline.finalize(5)
    assert not timeline.turns and timeline.first == 5      # speaker 0 still speaking
    timeline.close(duration=100.0)
    mid = FRAME_DURATION_SECONDS / 2
    assert turns(timeline) == [(round(2 * FRAME_STEP_SECONDS + mid, 3),
                                round(6 * FRAME_STEP_SECONDS + mid, 3), 0)]
    assert timeline.totals[0] == pytest.approx(4 * FRAME_STEP_SECONDS)


def test_timeline_keeps_the_count_of_speakers_per_frame():
    # three windows over the same frames: speaker 1 active in one of them only
    timeline = Timeline(2, count_threshold=0.5, max_turns=100)
    for k in range(3):
        window = np.zeros((4, 2), np.float32)
        window[:, 0] = 1
        window[:, 1] = k == 0
        timeline.add(-2, window, window.sum(axis=1))   # frames before 0 are ignored
    timeline.close(duration=1.0)
    assert [t.speaker for t in timeline.turns] == [0]


def test_timeline_memory_is_bounded():
    timeline = Timeline(2, count_threshold=0.5, max_turns=3)
    for k in range(50):
        window = np.zeros((20, 2), np.float32)
        window[::2, k % 2] = 1                      # a new turn every other frame
        timeline.add(20 * k, window, window.sum(axis=1))
        timeline.finalize(20 * (k + 1))
        assert len(timeline.windows) <= 20
    timeline.close(duration=1e9)
    assert len(timeline.turns) == 3 and timeline.dropped == 500 - 3


def test_masked_moments_kernel_matches_numpy(rng):
    from streamz_speaker.live._kernels import masked_moments

    features = rng.standard_normal((50, 7)).astype(np.float32)
    masks = (rng.random((3, 50)) < 0.4).astype(np.float32)
    masks[2] = 0
    s1, s2, n = masked_moments(features, masks)
    x, w = features.astype(np.float64), masks.astype(np.float64)
    np.testing.assert_allclose(s1, w @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s2, w @ (x * x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(n, w.sum(axis=1))
