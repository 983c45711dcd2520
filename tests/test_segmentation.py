"""Sliding-window segmentation: window geometry and the ONNX model's output."""

import numpy as np
import pytest

from streamz_speaker.diarization import segmentation
from streamz_speaker.diarization.config import SegmentationConfig
from streamz_speaker.core.errors import ModelLoadError

SR = 16_000


@pytest.mark.parametrize("seconds, step, expected", [
    (0.5, 1.0, 1), (10.0, 1.0, 1), (10.5, 1.0, 2), (12.0, 1.0, 3), (12.0, 2.0, 2),
    (13.0, 2.0, 3), (0.0, 1.0, 0)])
def test_num_chunks(seconds, step, expected):
    assert segmentation.num_chunks(int(seconds * SR), SegmentationConfig(step)) == expected


def test_last_chunk_is_zero_padded():
    y = np.ones(int(10.5 * SR), np.float32)
    last = segmentation.chunk(y, 1, SegmentationConfig(1.0))
    assert last.shape == (10 * SR,)
    assert last[: int(9.5 * SR)].all() and not last[int(9.5 * SR):].any()


class _FakeSession:
    """Returns the window's mean in every output cell, so chunk order can be checked."""

    def __init__(self, shape=(589, 7)):
        self.shape = shape
        self.batches = []

    def get_inputs(self):
        class _Input:
            name = "waveform"
        return [_Input()]

    def run(self, _outputs, feeds):
        x = feeds["waveform"]
        self.batches.append(x.shape[0])
        return [np.broadcast_to(x.mean(axis=(1, 2))[:, None, None],
                                (x.shape[0], *self.shape)).astype(np.float32)]


def test_run_batches_and_orders_chunks():
    y = np.repeat(np.arange(14, dtype=np.float32), SR)      # value = second index
    session = _FakeSession()
    calls = []
    logits = segmentation.run(session, y, SegmentationConfig(1.0), batch_size=2,
                              hook=lambda step, **kw: calls.append(kw["completed"]))
    assert logits.shape == (5, 589, 7) and logits.dtype == np.float32
    np.testing.assert_allclose(logits[:, 0, 0], np.arange(5) + 4.5)
    assert session.batches == [2, 2, 1] and calls == [2, 4, 5]


def test_run_rejects_wrong_model_output():
    with pytest.raises(ModelLoadError, match="shape"):
        segmentation.run(_FakeSession((100, 7)), np.zeros(SR, np.float32))


@pytest.mark.models
def test_model_outputs_log_probabilities(rng):
    from streamz_speaker.diarization.onnx import EXPECTED_INPUTS, create_session
    from streamz_speaker.core.model_assets import find_models

    session = create_session(find_models().segmentation,
                             expected_inputs=EXPECTED_INPUTS["segmentation"])
    y = (0.05 * rng.standard_normal(12 * SR)).astype(np.float32)
    logits = segmentation.run(session, y, SegmentationConfig(2.0))
    assert logits.shape == (2, 589, 7)
    np.testing.assert_allclose(np.exp(logits).sum(axis=2), 1.0, atol=1e-4)


@pytest.fixture(scope="module")
def seg_models():
    from streamz_speaker.diarization.pipeline import load_models

    return load_models()


@pytest.mark.models
@pytest.mark.parametrize("step", [1.0, 2.0])
def test_shared_first_convolution_matches_the_whole_model(seg_models, rng, step):
    # windows of different loudness (the per-window normalisation differs), one of them
    # zero-padded at the end, some windows skipped: the split model with the convolution
    # computed once over the span gives the whole model's log-probabilities
    cfg = SegmentationConfig(step)
    y = (rng.standard_normal(int(17.5 * SR)) * np.repeat([0.02, 0.3, 0.005, 1.0, 0.1],
                                                         int(3.5 * SR))).astype(np.float32)
    y[int(6 * SR):int(7 * SR)] = 0.0
    total = segmentation.num_chunks(y.size, cfg)
    indices = [0, 1, 3, total - 1] if step == 1.0 else list(range(total))
    expected = segmentation.run(seg_models.segmentation, y, cfg)[indices]
    assert seg_models.segmentation_split is not None
    got = segmentation.run_windows(seg_models.segmentation_split, y, cfg, indices)
    # float32 rounding: the probabilities agree within 1e-5 (measured 2-3e-6; log-probabilities
    # within 1e-4 where p > 0.01; 2e-4 relative below, e.g. -14.343 vs -14.346) and decode the same
    np.testing.assert_allclose(np.exp(got), np.exp(expected), atol=1e-5)
    np.testing.assert_array_equal(got.argmax(axis=2), expected.argmax(axis=2))
    likely = np.exp(expected) > 1e-2
    np.testing.assert_allclose(got[likely], expected[likely], atol=1e-4)
    one = segmentation.Span(seg_models.segmentation_split, y, cfg, 0, total - 1)([2])
    np.testing.assert_allclose(np.exp(one[0]),
                               np.exp(segmentation.run(seg_models.segmentation, y, cfg)[2]),
                               atol=1e-5)


def test_span_without_a_split_model_runs_whole_windows():
    fake = _FakeSession()
    y = np.arange(12 * SR, dtype=np.float32)
    out = segmentation.run_windows(fake, y, SegmentationConfig(1.0), [0, 2])
    np.testing.assert_allclose(out[:, 0, 0], [segmentation.chunk(y, c, SegmentationConfig(1.0))
                                              .mean() for c in (0, 2)], rtol=1e-6)
