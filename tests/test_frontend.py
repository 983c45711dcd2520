"""The concurrent, streamed front end gives exactly the stage-by-stage results."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from streamz_speaker.diarization import adaptive
from streamz_speaker.diarization import embedding
from streamz_speaker.diarization import frontend
from streamz_speaker.diarization import powerset
from streamz_speaker.diarization import segmentation
from streamz_speaker.diarization.config import SegmentationConfig


@pytest.mark.models
@pytest.mark.parametrize("step", [1.0, 2.0])
def test_segment_and_embed_matches_stages(make_wav, step):
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization import load_models

    models = load_models()
    y = np.concatenate([load_audio(make_wav(f"{s}.wav", s, seconds=9.0, seed=i))
                        for i, s in enumerate(["alice", "bob", "alice", "bob", "alice"])])
    cfg = SegmentationConfig(step, coarse_seconds=0)        # every window, whole model
    activity = powerset.to_multilabel(segmentation.run(models.segmentation, y, cfg))
    expected, expected_central = embedding.run(models.embedding, models.head, y, activity,
                                               step_seconds=step, block_seconds=20)
    with ThreadPoolExecutor(2) as pool:
        act, emb, central = frontend.segment_and_embed(
            models.segmentation, models.embedding, models.head, y, cfg, executor=pool,
            batch_size=3, block_seconds=20)
    np.testing.assert_array_equal(act, activity)
    np.testing.assert_array_equal(emb, expected)
    np.testing.assert_array_equal(central, expected_central)
    assert np.isfinite(central).all(axis=2).sum() > 0
    calls = []
    act2, *_ = frontend.segment_and_embed(models.segmentation, models.embedding, models.head,
                                         y, cfg, batch_size=3, block_seconds=20,
                                         hook=lambda step, **kw: calls.append(step))
    np.testing.assert_array_equal(act2, activity)
    assert calls[-1] == "embeddings" and set(calls[:-1]) == {"segmentation"}


@pytest.mark.models
@pytest.mark.parametrize("step", [1.0, 2.0])
def test_adaptive_windows_and_shared_convolution_keep_the_dense_result(make_wav, step):
    # the default front end (split model, coarse grid, filled windows) against every window
    # through the whole model: the same activity almost everywhere, fewer model windows
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization import load_models

    models = load_models()
    y = np.concatenate([load_audio(make_wav(f"{s}.wav", s, seconds=9.0, seed=i))
                        for i, s in enumerate(["alice", "bob", "alice", "bob", "alice"])])
    dense_cfg = SegmentationConfig(step, coarse_seconds=0)
    dense = powerset.to_multilabel(segmentation.run(models.segmentation, y, dense_cfg))
    ran = []
    span_call = segmentation.Span.__call__

    def counting(self, indices):
        ran.extend(indices)
        return span_call(self, indices)

    segmentation.Span.__call__ = counting
    try:
        act, emb, central = frontend.segment_and_embed(
            models.segmentation_split, models.embedding, models.head, y,
            SegmentationConfig(step), batch_size=4, block_seconds=20)
    finally:
        segmentation.Span.__call__ = span_call
    assert act.shape == dense.shape
    assert len(ran) < len(dense)
    agree = [1 - adaptive.align(a, b, 0, step_seconds=step)[1] for a, b in zip(act, dense)]
    assert np.mean(agree) >= 0.98 and min(agree) >= 0.9
