"""WeSpeaker (community-1) embeddings with a tiny fake ResNet34 ONNX built here."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from streamz_speaker.diarization import wespeaker as W
from streamz_speaker.diarization.config import SegmentationConfig
from streamz_speaker.diarization.onnx import EXPECTED_INPUTS, create_session
from streamz_speaker.diarization.segmentation import chunk

SR = 16_000
DIM = 256


def _fake_wespeaker(path, weight):
    """``feats`` (batch, frames, 80) -> mean over frames @ weight -> ``embs`` (batch, 256)."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["feats"], ["pooled"], axes=[1], keepdims=0),
         helper.make_node("MatMul", ["pooled", "weight"], ["embs"])],
        "fake_wespeaker",
        [helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["batch", "frames", 80])],
        [helper.make_tensor_value_info("embs", TensorProto.FLOAT, ["batch", DIM])],
        [numpy_helper.from_array(weight.astype(np.float32), "weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


class _Recording:
    """Wraps a session and records the number of frames of every call."""

    def __init__(self, session):
        self.session, self.frames = session, []

    def get_inputs(self):
        return self.session.get_inputs()

    def run(self, outputs, feeds):
        self.frames.append(next(iter(feeds.values())).shape[1])
        return self.session.run(outputs, feeds)


@pytest.fixture
def fake(tmp_path, rng):
    weight = rng.standard_normal((80, DIM))
    session = create_session(_fake_wespeaker(tmp_path / "wespeaker.onnx", weight),
                             expected_inputs=EXPECTED_INPUTS["wespeaker"], intra_op_threads=1)
    return session, weight


def test_frame_masks_map_segmentation_frames_to_fbank_frames():
    activity = np.zeros((1, 589, 3), np.float32)
    activity[0, :295, 0] = 1                 # first half of the chunk
    activity[0, 295:, 1] = 1                 # second half
    masks = W.frame_masks(activity)
    assert masks.shape == (1, 3, W.FBANK_FRAMES) and masks.dtype == bool
    assert masks[0, 0, :499].all() and not masks[0, 0, 501:].any()
    assert masks[0, 1, 501:].all() and not masks[0, 1, :499].any()
    assert not masks[0, 2].any()


def test_run_gathers_each_speakers_frames(fake, rng):
    session, weight = fake
    y = np.concatenate([0.3 * np.sin(2 * np.pi * 300 * np.arange(6 * SR) / SR),
                        0.05 * rng.standard_normal(6 * SR)]).astype(np.float32)
    step = 2.0
    activity = np.zeros((2, 589, 3), np.float32)
    activity[0, :295, 0] = 1                 # chunk 0: tone, then noise
    activity[0, 295:, 1] = 1
    activity[1, :100, 2] = 1
    activity[1, 100:103, 0] = 1              # 3 frames ~ 50 ms: too little speech
    recorder = _Recording(session)
    emb = W.run(recorder, y, activity, step_seconds=step)
    assert emb.shape == (2, 3, DIM) and emb.dtype == np.float32
    assert np.isnan(emb[0, 2]).all() and np.isnan(emb[1, 0]).all() and np.isnan(emb[1, 1]).all()
    # one call per speaker with enough speech, fed only that speaker's frames
    masks = W.frame_masks(activity)
    assert sorted(recorder.frames) == sorted([int(masks[0, 0].sum()), int(masks[0, 1].sum()),
                                              int(masks[1, 2].sum())])
    cfg = SegmentationConfig(step)
    for c, k in ((0, 0), (0, 1), (1, 2)):
        feats = W.chunk_features(chunk(y, c, cfg))
        expected = feats[masks[c, k]].mean(axis=0) @ weight
        np.testing.assert_allclose(emb[c, k], expected, rtol=1e-4, atol=1e-3)
    # the tone and the noise halves give different embeddings
    assert not np.allclose(emb[0, 0], emb[0, 1], atol=1e-2)


def test_chunk_features_are_wespeaker_fbank(rng):
    from streamz_speaker.diarization.fbank import fbank

    piece = (0.1 * rng.standard_normal(10 * SR)).astype(np.float32)
    feats = W.chunk_features(piece)
    assert feats.shape == (998, 80)
    np.testing.assert_allclose(feats.mean(axis=0), 0, atol=1e-4)
    raw = fbank(piece, window="hamming", scale=32768.0)
    np.testing.assert_allclose(feats, raw - raw.mean(axis=0), atol=1e-5)


def test_run_with_executor_matches_serial(fake, rng):
    from concurrent.futures import ThreadPoolExecutor

    session, _ = fake
    y = (0.1 * rng.standard_normal(30 * SR)).astype(np.float32)
    activity = (rng.random((21, 589, 3)) > 0.5).astype(np.float32)
    serial = W.run(session, y, activity, step_seconds=1.0)
    with ThreadPoolExecutor(2) as pool:
        parallel = W.run(session, y, activity, step_seconds=1.0, executor=pool)
    np.testing.assert_array_equal(serial, parallel)


@pytest.mark.models
@pytest.mark.parametrize("step", [1.0, 2.0])
def test_community1_folder_diarizes(tmp_path, rng, step):
    """--models-dir with a community-1 layout: WeSpeaker ONNX + PLDA, bundled segmentation."""
    from conftest import SPEAKERS, synth_voice
    from streamz_speaker.diarization import DiarizationConfig, diarize, load_models
    from streamz_speaker.diarization.config import SegmentationConfig
    from streamz_speaker.diarization.rttm import Segment
    from streamz_speaker.diarization.scoring import diarization_error

    folder = tmp_path / "community-1"
    (folder / "plda").mkdir(parents=True)
    (folder / "embedding").mkdir()
    _fake_wespeaker(folder / "embedding" / "wespeaker-resnet34.onnx",
                    rng.standard_normal((80, DIM)))
    lda = np.linalg.qr(rng.standard_normal((DIM, 128)))[0]
    np.savez(folder / "plda" / "xvec_transform.npz", mean1=np.zeros(DIM), mean2=np.zeros(128),
             lda=lda)
    np.savez(folder / "plda" / "plda.npz", mu=np.zeros(128), tr=np.eye(128),
             psi=np.linspace(2.0, 0.1, 128))
    models = load_models(folder)
    assert models.kind == "wespeaker"
    # even this fake embedding (mean fbank, projected) tells the two synthetic voices apart
    turns = ["alice", "bob", "alice", "bob"]
    y = np.concatenate([synth_voice(*SPEAKERS[s], 6.0, seed=i) for i, s in enumerate(turns)])
    result = diarize(y, models=models,
                     config=DiarizationConfig(segmentation=SegmentationConfig(step)))
    assert result.duration == pytest.approx(24.0) and result.num_speakers == 2
    reference = [Segment(6.0 * i, 6.0 * (i + 1), s) for i, s in enumerate(turns)]
    assert diarization_error(reference, list(result.segments)).der < 0.03   # scores about 1 %
