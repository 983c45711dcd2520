import numpy as np
import pytest

from streamz_speaker.diarization.clustering import cluster, spectral, train_mask
from streamz_speaker.diarization.config import ClusteringConfig
from streamz_speaker.diarization.vbx import l2_normalize

NUM_FRAMES = 100


def _scene(rng, num_speakers=3, num_chunks=60, dimension=32, noise=0.25):
    """Chunks with two active local speakers each (first and second half of the chunk)."""
    voices = l2_normalize(rng.standard_normal((num_speakers, dimension))) * 5
    emb = np.full((num_chunks, 3, dimension), np.nan, dtype=np.float32)
    act = np.zeros((num_chunks, NUM_FRAMES, 3), dtype=np.float32)
    truth = np.full((num_chunks, 3), -1)
    for c in range(num_chunks):
        a, b = rng.choice(num_speakers, size=2, replace=False)
        slots = rng.permutation(3)[:2]
        for slot, spk, span in zip(slots, (a, b), (slice(0, 50), slice(50, 100))):
            act[c, span, slot] = 1
            emb[c, slot] = voices[spk] + noise * 5 * rng.standard_normal(dimension) / np.sqrt(
                dimension)
            truth[c, slot] = spk
    return emb, act, truth


def _same_partition(a, b):
    return len(set(zip(a.tolist(), b.tolist()))) == len(set(a.tolist())) == len(set(b.tolist()))


def _consistent(hard, truth):
    """Clusters and true speakers correspond one to one (no speaker split, none merged)."""
    active = truth >= 0
    pairs = set(zip(hard[active].tolist(), truth[active].tolist()))
    return len(pairs) == len(set(truth[active].tolist())) == len(set(hard[active].tolist()))


@pytest.mark.parametrize("num_speakers", [2, 3, 5])
def test_recovers_speakers(rng, num_speakers):
    emb, act, truth = _scene(rng, num_speakers=num_speakers)
    res = cluster(emb, act)
    assert res.hard_clusters.shape == (60, 3) and res.hard_clusters.dtype == np.int64
    assert res.centroids.shape == (num_speakers, 32)
    assert np.all(res.hard_clusters[truth < 0] == -2)
    assert _consistent(res.hard_clusters, truth)
    assert res.num_train == 120


@pytest.mark.parametrize("method", ["lda", "isotropic"])
def test_plda_methods(rng, method):
    emb, act, truth = _scene(rng)
    res = cluster(emb, act, ClusteringConfig(method="vbx", plda_method=method))
    assert _consistent(res.hard_clusters, truth) and len(res.centroids) == 3


@pytest.mark.parametrize("kwargs,expected", [({"num_speakers": 2}, 2), ({"max_speakers": 2}, 2),
                                             ({"min_speakers": 4}, 4), ({"num_speakers": 3}, 3)])
def test_speaker_count_constraints(rng, kwargs, expected):
    emb, act, _ = _scene(rng)
    res = cluster(emb, act, ClusteringConfig(**kwargs))
    assert len(res.centroids) == expected
    assert res.hard_clusters.max() < expected


def test_one_to_one_inside_chunks(rng):
    emb, act, truth = _scene(rng)
    res = cluster(emb, act)
    for row, t in zip(res.hard_clusters, truth):
        assigned = row[t >= 0]
        assert len(set(assigned.tolist())) == len(assigned)


def test_too_few_embeddings_is_one_speaker(rng):
    emb, act, _ = _scene(rng, num_chunks=1)
    act[0, 50:, :] = 0                       # only the first speaker keeps its frames
    act[0, :10, :] = 1                       # ... and it is never alone long enough
    res = cluster(emb, act)
    assert res.num_train < 2 and res.centroids.shape == (1, 32)
    assert set(res.hard_clusters.ravel().tolist()) <= {0, -2}


def test_train_mask_needs_single_speaker_frames_and_finite(rng):
    emb, act, _ = _scene(rng, num_chunks=2)
    mask = train_mask(emb, act)
    assert mask.sum() == 4
    emb[0, np.flatnonzero(act[0].sum(0))[0]] = np.nan
    assert train_mask(emb, act).sum() == 3
    assert train_mask(emb, act, min_active_ratio=0.6).sum() == 0


def test_nan_embedding_of_active_speaker_still_assigned(rng):
    """Without an embedding, a local speaker takes a cluster its chunk's other speaker does
    not have; everyone else keeps their own speaker's cluster."""
    emb, act, truth = _scene(rng)
    c, (s, other) = 5, np.flatnonzero(truth[5] >= 0)
    emb[c, s] = np.nan
    res = cluster(emb, act)
    assert res.hard_clusters[c, s] in set(range(3)) - {res.hard_clusters[c, other]}
    keep = np.ones_like(truth, dtype=bool)
    keep[c, s] = False
    assert _consistent(np.where(keep, res.hard_clusters, -2), np.where(keep, truth, -1))


def test_input_not_modified(rng):
    emb, act, _ = _scene(rng)
    before = emb.copy()
    cluster(emb, act, ClusteringConfig(num_speakers=2))
    np.testing.assert_array_equal(emb, before)


def test_central_embeddings_are_what_is_clustered(rng):
    """With central embeddings, the count and partition come from them: whole-chunk
    embeddings that all look alike do not merge speakers the central ones tell apart."""
    emb, act, truth = _scene(rng)
    central = emb.copy()
    blurred = np.where(np.isfinite(emb), np.nanmean(emb, axis=(0, 1)), np.nan)
    blurred += 0.01 * rng.standard_normal(emb.shape)
    res = cluster(blurred.astype(np.float32), act, central=central)
    assert res.count.speakers == 3 and res.count.method == "eigengap"
    with pytest.raises(ValueError, match="central"):
        cluster(emb, act, central=central[:, :2])


def test_count_confidence(rng):
    emb, act, _ = _scene(rng, noise=0.1)
    clear = cluster(emb, act).count
    assert clear.speakers == 3 and clear.runner_up != 3 and clear.gap_ratio > 2
    given = cluster(emb, act, ClusteringConfig(num_speakers=3)).count
    assert given.method == "given" and given.gap_ratio is None


@pytest.mark.parametrize("blocks", [[30, 30], [20, 25, 30], [10, 15, 20, 25, 30]])
def test_spectral_finds_the_block_count_of_an_affinity(rng, blocks):
    """Unit vectors in well separated groups: the eigengap gives the number of groups and
    the partition is the groups."""
    centers = np.eye(16)[: len(blocks)]
    truth = np.repeat(np.arange(len(blocks)), blocks)
    x = l2_normalize(centers[truth] + 0.15 * rng.standard_normal((len(truth), 16)))
    labels, count = spectral(x, neighbours=8)
    assert count.speakers == len(blocks) and count.method == "eigengap"
    assert _same_partition(labels, truth)


def test_spectral_one_group_is_one_speaker(rng):
    x = l2_normalize(np.eye(16)[0] + 0.15 * rng.standard_normal((60, 16)))
    labels, count = spectral(x, neighbours=8)
    assert count.speakers == 1 and np.all(labels == 0)


def test_far_neighbours_keep_a_long_turn_with_its_speaker(rng):
    """Two voices in short turns, and one 10 s turn of the first voice whose points (as
    consecutive chunks' are) are much closer to each other than to that voice's others:
    with near neighbours only it is a group of its own; its far neighbours (10 s or more
    away, so outside the turn) join it to its voice."""
    a, drift = np.eye(16)[[0, 2]]
    short = np.repeat([0, 1], 40)
    rng.shuffle(short)
    turn = l2_normalize(np.repeat((a + 0.9 * drift)[None], 10, axis=0)
                        + 0.03 * rng.standard_normal((10, 16)))
    x = np.vstack([l2_normalize(np.eye(16)[short] + 0.25 * rng.standard_normal((80, 16))),
                   turn])
    times = np.arange(len(x), dtype=float)            # one point per 1 s chunk
    truth = np.concatenate([short, np.zeros(10, int)])
    assert spectral(x, neighbours=8)[1].speakers == 3
    labels, count = spectral(x, neighbours=8, times=times, far_neighbours=4)
    assert count.speakers == 2 and _same_partition(labels, truth)
    assert spectral(x, neighbours=8, far_neighbours=4)[1].speakers == 3   # no times: off


def test_spectral_count_within_bounds(rng):
    truth = np.repeat(np.arange(4), 20)
    x = l2_normalize(np.eye(16)[truth] + 0.15 * rng.standard_normal((80, 16)))
    lowered = spectral(x, neighbours=8, max_k=3)[1]
    assert lowered.speakers == 3 and lowered.method == "bounded"
    raised = spectral(x, neighbours=8, min_k=5)[1]
    assert raised.speakers == 5 and raised.method == "bounded"
    labels, count = spectral(x, neighbours=8, num=2)
    assert count.speakers == 2 and set(labels.tolist()) == {0, 1}


def test_bad_method_rejected():
    from streamz_speaker.core.errors import ConfigError
    with pytest.raises(ConfigError, match="spectral, vbx"):
        ClusteringConfig(method="cannot_link")
    with pytest.raises(ConfigError, match="far_neighbour_share"):
        ClusteringConfig(far_neighbour_share=1.5)


def test_long_recordings_cluster_a_bounded_subsample(rng, monkeypatch):
    """Above MAX_CLUSTERED embeddings, clustering sees a subsample; all are still assigned."""
    import streamz_speaker.diarization.clustering as C

    emb, act, truth = _scene(rng, num_chunks=200)
    monkeypatch.setattr(C, "MAX_CLUSTERED", 100)
    res = cluster(emb, act)
    assert res.num_train == 100
    assert len(res.centroids) == 3 and _consistent(res.hard_clusters, truth)
    assert np.all(res.hard_clusters[truth >= 0] >= 0)
