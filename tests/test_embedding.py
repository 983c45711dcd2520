"""Embeddings: masked statistics pooling, overlap exclusion, backbone-once vs per-chunk."""

import numpy as np
import pytest

from streamz_speaker.diarization import embedding as E
from streamz_speaker.core.errors import ModelLoadError

SR = 16_000


def _reference_stats(x, w):
    """Plain NumPy: mean and unbiased std of the frames where w == 1."""
    sel = x[w > 0]
    return np.concatenate([sel.mean(axis=0), sel.std(axis=0, ddof=1)])


def test_pool_matches_reference(rng):
    x = rng.standard_normal((2, E.FRAMES_PER_CHUNK, 8))
    w = (rng.random((2, 3, E.FRAMES_PER_CHUNK)) > 0.5).astype(np.float32)
    w[1, 2] = 0
    w[1, 2, :3] = 1                         # 60 ms: too little speech -> NaN
    stats, n = E.pool(x, w)
    assert stats.shape == (2, 3, 16)
    for c in range(2):
        for k in range(3):
            if c == 1 and k == 2:
                assert np.isnan(stats[c, k]).all() and n[c, k] == 3
            else:
                np.testing.assert_allclose(stats[c, k], _reference_stats(x[c], w[c, k]),
                                           rtol=1e-9, atol=1e-9)


def test_pooling_masks_exclude_overlap_when_enough_remains():
    activity = np.zeros((1, 589, 3), np.float32)
    activity[0, :300, 0] = 1                 # speaker 0: 5 s, half of it overlapped by 1
    activity[0, 150:300, 1] = 1              # speaker 1: only overlapped speech
    masks = E.pooling_masks(activity)
    assert masks.shape == (1, 3, E.FRAMES_PER_CHUNK)
    s0, s1 = masks[0, 0], masks[0, 1]
    assert 0 < s0.sum() < 0.3 * E.FRAMES_PER_CHUNK     # overlap removed
    assert s1.sum() > 0.2 * E.FRAMES_PER_CHUNK          # nothing clean left: keeps overlap
    assert not masks[0, 2].any()
    kept = E.pooling_masks(activity, exclude_overlap=False)
    assert kept[0, 0].sum() > s0.sum()


class _FakeBackbone:
    """Frame features = the fbank frames' first 512 values tiled; deterministic and local."""

    def get_inputs(self):
        class _Input:
            name = "fbank"
        return [_Input()]

    def run(self, _outputs, feeds):
        f = feeds["fbank"][0]                                     # (T, 80)
        half = f[::2]                                             # stride 2
        feats = np.tile(half, (1, 7))[:, :512]
        return [feats.T[None].astype(np.float32)]


def _head(rng):
    return E.EmbeddingHead(rng.standard_normal((192, 1024)), np.zeros(192), np.ones(192), 1e-5)


def test_run_shapes_and_nan_for_silent_speakers(rng):
    y = (0.1 * rng.standard_normal(int(13.3 * SR))).astype(np.float32)
    activity = np.zeros((4, 589, 3), np.float32)
    activity[:, 100:400, 0] = 1
    activity[2, 50:80, 1] = 1                        # ~0.5 s
    emb, central = E.run(_FakeBackbone(), _head(rng), y, activity, step_seconds=1.0,
                         block_seconds=10)
    assert emb.shape == central.shape == (4, 3, 192) and emb.dtype == np.float32
    assert np.isfinite(emb[:, 0]).all()
    assert np.isfinite(emb[2, 1]).all() and np.isnan(emb[[0, 1, 3], 1]).all()
    assert np.isnan(emb[:, 2]).all()
    # central windows (4.25-5.75 s): speaker 0 (1.7-6.8 s) is there, speaker 1 (0.8-1.4 s) not
    assert np.isfinite(central[:, 0]).all() and np.isnan(central[:, 1:]).all()


def test_central_embedding_pools_the_middle_of_the_chunk_only(rng):
    """A central embedding is the head of the statistics of the clean frames within the
    central window; one with under MIN_CENTRAL_SPEECH_SECONDS of speech there is NaN."""
    y = (0.1 * rng.standard_normal(12 * SR)).astype(np.float32)
    activity = np.zeros((3, 589, 3), np.float32)       # chunks at 0, 1 and 2 s
    activity[:, :, 0] = 1                              # the whole chunk
    activity[1, 250:275, 1] = 1                        # ~0.4 s in the middle: too little
    head = _head(rng)
    emb, central = E.run(_FakeBackbone(), head, y, activity, step_seconds=1.0)
    window = E.central_window(E.central_seconds(1.0))
    assert window.sum() == 75                          # 1.5 s of 20 ms frames
    assert E.central_window(E.central_seconds(2.0)).sum() == 100   # --fast: the 2 s step
    # the first and last chunks reach out to the edges of the recording
    assert E.central_window(1.5, first=True)[:250].all()
    assert E.central_window(1.5, last=True)[-250:].all()
    step = E.step_frames(1.0)
    feats = E.backbone_features(_FakeBackbone(), y, step, step + E.FRAMES_PER_CHUNK)
    masks = E.pooling_masks(activity)[1, 0] * window   # speaker 0 minus the overlap, central
    expected = head(_reference_stats(feats.astype(np.float64), masks)[None])[0]
    np.testing.assert_allclose(central[1, 0], expected, rtol=1e-4, atol=1e-4)
    assert not np.allclose(central[1, 0], emb[1, 0], atol=1e-3)
    assert np.isnan(central[1, 1]).all() and np.isfinite(emb[1, 1]).all()


def test_run_block_size_only_changes_context(rng):
    """Blocks tile the recording: with a context-free backbone the block size is irrelevant."""
    y = (0.1 * rng.standard_normal(40 * SR)).astype(np.float32)
    activity = (rng.random((16, 589, 3)) > 0.6).astype(np.float32)

    class _Local(_FakeBackbone):
        """Frame-to-frame fbank differences: independent of the per-block mean."""

        def run(self, _outputs, feeds):
            f = feeds["fbank"][0]
            d = np.diff(f, axis=0, prepend=f[:1])[::2]
            return [np.tile(d, (1, 7))[:, :512].T[None].astype(np.float32)]

    head = _head(rng)
    a, ca = E.run(_Local(), head, y, activity, step_seconds=2.0, block_seconds=10)
    b, cb = E.run(_Local(), head, y, activity, step_seconds=2.0, block_seconds=60)
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(ca, cb, rtol=1e-3, atol=1e-3)


def test_run_rejects_unaligned_step(rng):
    with pytest.raises(ValueError, match="multiple"):
        E.run(_FakeBackbone(), _head(rng), np.zeros(SR, np.float32),
              np.zeros((1, 589, 3), np.float32), step_seconds=1.01)


def test_load_head_rejects_wrong_shapes(tmp_path):
    path = tmp_path / "head.npz"
    np.savez(path, weight=np.zeros((3, 3)), running_mean=np.zeros(3), running_var=np.ones(3),
             eps=1e-5)
    with pytest.raises(ModelLoadError, match="head.npz"):
        E.load_head(path)


@pytest.mark.models
@pytest.mark.slow
def test_backbone_once_close_to_per_chunk(make_wav):
    """Backbone-once + masked pooling vs the backbone run on each 10 s chunk alone."""
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization.fbank import fbank
    from streamz_speaker.diarization.pipeline import load_models

    models = load_models()
    y = np.concatenate([load_audio(make_wav(f"{s}.wav", s, seconds=6.0, seed=i))
                        for i, s in enumerate(["alice", "bob", "alice", "bob"])])
    num_chunks = 6
    activity = np.zeros((num_chunks, 589, 3), np.float32)
    t = np.arange(589) * 0.016875
    for c in range(num_chunks):
        turn = ((c * 2 + t) // 6).astype(int)           # which 6 s turn each frame is in
        activity[c, :, 0] = turn % 2 == 0
        activity[c, :, 1] = turn % 2 == 1
    once, _ = E.run(models.embedding, models.head, y, activity, step_seconds=2.0, block_seconds=20)
    masks = E.pooling_masks(activity)
    cos = []
    for c in range(num_chunks):
        piece = np.zeros(160_000 + 240, np.float32)
        seg = y[c * 32_000: c * 32_000 + piece.size]
        piece[:seg.size] = seg
        f = fbank(piece)
        f -= f.mean(axis=0)
        frames = models.embedding.run(None, {"fbank": f[None]})[0][0].T[:E.FRAMES_PER_CHUNK]
        stats, _ = E.pool(frames[None], masks[c:c + 1])
        for k in range(2):
            if np.isfinite(stats[0, k]).all():
                ref = models.head(stats[0, k][None])[0]
                cos.append(ref @ once[c, k] / np.linalg.norm(ref) / np.linalg.norm(once[c, k]))
    assert len(cos) >= 8
    assert np.median(cos) > 0.9, cos
