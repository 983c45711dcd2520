"""Learning voices from live sessions (``serve --learn``) and naming live speakers."""

import fcntl

import numpy as np
import pytest

from cli_support import EXAMPLES, cache_args, invoke, train_small_model
from live_support import live_models  # noqa: F401  fixture
from streamz_speaker.core.errors import ConfigError, LockError
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.speaker_id.training import TrainConfig, learn_voices

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return train_small_model(tmp_path_factory.mktemp("learn"))


def copy(model, tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(model.read_bytes())
    return target


def test_unknown_voice_becomes_a_new_speaker_and_a_known_one_is_refreshed(small_model,
                                                                           tmp_path, rng):
    path = copy(small_model, tmp_path)
    before = load_model(path)
    alice = before.profile_X[before.profile_y == "alice"]
    stranger = rng.standard_normal((6, alice.shape[1])).astype(np.float32)
    model, results = learn_voices(path, [stranger, np.repeat(alice, 3, axis=0) * 5.0],
                                  TrainConfig(threshold=0.8), source="live session 1")
    (new_label, _, is_new), (known, confidence, known_new) = results
    assert (new_label, is_new) == ("speaker_001", True)
    assert (known, known_new) == ("alice", False) and confidence >= 0.8
    saved = load_model(path)
    assert saved.speakers == ["alice", "bob", "speaker_001"]
    assert (saved.profile_y == "alice").sum() == (before.profile_y == "alice").sum() + 1
    assert saved.history[-1]["list"] == "live session 1"
    assert saved.history[-1]["new_speakers"] == ["speaker_001"]
    assert sorted(tmp_path.iterdir()) == [path, tmp_path / "model.npz.lock"]   # no temp file


def test_learning_waits_for_the_model_lock_and_refuses_mfcc_models(small_model, tmp_path,
                                                                   rng):
    path = copy(small_model, tmp_path)
    with open(tmp_path / "model.npz.lock", "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(LockError, match="locked by another streamz process"):
            learn_voices(path, [rng.standard_normal((3, 192))], source="s")
    mfcc = tmp_path / "mfcc"
    mfcc.mkdir()
    clips = sorted(small_model.parent.parent.glob("*.wav"))
    (mfcc / "train.txt").write_text("".join(f"{p},{p.stem[:-1]}\n" for p in clips))
    result = invoke("-q", "train", mfcc / "train.txt", "--model", mfcc / "m.npz", "--features",
                    "mfcc", "--epochs", "2", *cache_args(mfcc))
    assert result.exit_code == 0, result.output
    with pytest.raises(ConfigError, match="needs a model with embedding features"):
        learn_voices(mfcc / "m.npz", [rng.standard_normal((3, 192))], source="s")


@pytest.mark.slow
def test_serve_learn_adds_a_voice_and_names_it_in_the_next_session(live_models, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from live_support import pcm
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.live.learning import VoiceLearner
    from streamz_speaker.live.server import ServerConfig, create_app

    lst = tmp_path / "train.txt"
    lst.write_text("".join(f"{EXAMPLES}/train/{n}_{i}.flac,{n}\n"
                           for n in ("alice", "bob") for i in range(3)))
    model = tmp_path / "model.npz"
    assert invoke("-q", "train", lst, "--model", model, *cache_args(tmp_path)).exit_code == 0
    learner = VoiceLearner(model, threshold=0.8)
    gap = np.zeros(4000, np.float32)

    def session(client, names):
        y = np.concatenate([np.concatenate([load_audio(EXAMPLES / f"{n}.flac"), gap])
                            for n in names])
        with client.websocket_connect("/ws/session") as ws:
            ws.send_text('{"action": "start", "num_speakers": 1}')
            ws.receive_json()
            for i in range(0, y.size, 8000):
                ws.send_bytes(pcm(y[i:i + 8000]))
            ws.send_text('{"action": "stop"}')
            messages = []
            while not messages or messages[-1]["event"] != "report":
                messages.append(ws.receive_json())
        return messages[:-1], messages[-1]

    carol = ["train/carol_0", "train/carol_1", "train/carol_2", "test/carol"]
    with TestClient(create_app(live_models, ServerConfig(), learner=learner)) as client:
        events, report = session(client, carol)
        assert {e["currentSpeakerName"] for e in events} == {None}
        assert [(x["id"], x["name"], x["new"]) for x in report["learned"]] == \
            [(0, "speaker_001", True)]
        assert load_model(model).speakers == ["alice", "bob", "speaker_001"]
        events, report = session(client, ["test/carol", "train/carol_1", "train/carol_0"])
    assert "speaker_001" in {e["currentSpeakerName"] for e in events}
    assert report["speakers"][0]["name"] == "speaker_001"
    assert report["learned"] == [] or report["learned"][0]["name"] == "speaker_001"


def test_naming_needs_an_embedding_model(small_model, tmp_path):
    from streamz_speaker.live.learning import SpeakerNamer

    model = load_model(small_model)
    namer = SpeakerNamer(model, threshold=0.8)
    alice = model.profile_X[model.profile_y == "alice"].mean(axis=0)
    assert namer(alice / np.linalg.norm(alice)) == "alice"
    assert namer(-alice) is None
    model.feature_config = type(model.feature_config)(kind="mfcc")
    with pytest.raises(ConfigError, match="needs a speaker model with embedding features"):
        SpeakerNamer(model, threshold=0.8)
