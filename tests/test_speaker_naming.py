"""Naming diarized speakers, enrolment, and diarize --identify on the bundled example."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streamz_speaker.core.audio import load_audio
from streamz_speaker.cli import cli
from streamz_speaker.diarization.rttm import Segment, read_rttm
from streamz_speaker.speaker_id.enrollment import parse_range, speaker_turns
from streamz_speaker.core.errors import ConfigError, StreamzError
from streamz_speaker.speaker_id.extraction import CacheConfig
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.speaker_id.naming import exclusive_pieces, name_speakers
from streamz_speaker.speaker_id.training import TrainConfig, train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_exclusive_pieces_known_answer():
    segs = [Segment(0.0, 5.0, "A"), Segment(4.0, 6.0, "B"), Segment(5.5, 9.0, "A"),
            Segment(7.0, 7.2, "B")]
    assert exclusive_pieces(segs, "A") == [(0.0, 4.0), (6.0, 7.0), (7.2, 9.0)]
    assert exclusive_pieces(segs, "B") == [(5.0, 5.5)]


def test_parse_range_and_turns(tmp_path):
    assert parse_range("12.5-20") == (12.5, 20.0)
    for bad in ("20-12", "abc", "5"):
        with pytest.raises(ConfigError, match="segment"):
            parse_range(bad)
    rttm = tmp_path / "m.rttm"
    rttm.write_text("SPEAKER m 1 1.0 2.0 <NA> <NA> A <NA> <NA>\n"
                    "SPEAKER m 1 0.0 1.0 <NA> <NA> B <NA> <NA>\n")
    assert speaker_turns(rttm, "A") == [(1.0, 3.0)]
    with pytest.raises(StreamzError, match=r"no turn of speaker 'C'; speakers there: \[A, B\]"):
        speaker_turns(rttm, "C")


@pytest.fixture(scope="module")
def alice_bob_model(tmp_path_factory):
    """A model enrolled with alice and bob only (carol stays unknown)."""
    tmp = tmp_path_factory.mktemp("naming")
    lst = tmp / "train.txt"
    lst.write_text("".join(f"{EXAMPLES}/train/{s}_{i}.flac,{s}\n"
                           for s in ("alice", "bob") for i in range(3)))
    train(lst, tmp / "model.npz", TrainConfig(epochs=10),
          cache=CacheConfig(feature_dir=tmp / "f", wav_dir=tmp / "c"))
    return tmp / "model.npz"


def name_reference_turns(clusters, model_path):
    """Name the bundled meeting's reference turns, relabelled as the ``clusters`` mapping says.

    Returns the reference turns, the named turns and the cluster matches.
    """
    reference = read_rttm(EXAMPLES / "meeting.rttm")["meeting"]
    segments = [Segment(s.start, s.end, clusters[s.label]) for s in reference]
    named, matches = name_speakers(segments, load_audio(EXAMPLES / "meeting.flac"),
                                   load_model(model_path), threshold=0.8)
    return reference, named, matches


@pytest.mark.models
def test_meeting_with_an_unknown_participant(alice_bob_model):
    anonymous = {"alice": "SPEAKER_00", "bob": "SPEAKER_01", "carol": "SPEAKER_02"}
    reference, named, matches = name_reference_turns(anonymous, alice_bob_model)
    assert [s.label for s in named] == [s.label if s.label != "carol" else "SPEAKER_02"
                                        for s in reference]
    by_label = {m.label: m for m in matches}
    assert by_label["SPEAKER_00"].name == "alice" and by_label["SPEAKER_00"].confidence >= 0.8
    assert by_label["SPEAKER_01"].name == "bob"
    assert by_label["SPEAKER_02"].name is None
    assert max(by_label["SPEAKER_02"].scores.values()) < 0.8


@pytest.mark.models
def test_enroll_from_rttm_turns_then_identify(tmp_path, alice_bob_model):
    model = tmp_path / "model.npz"
    model.write_bytes(alice_bob_model.read_bytes())
    lst = tmp_path / "train.txt"
    lst.write_text("# enrolled speakers\n")
    cache = ["--cache-dir", str(tmp_path / "c"), "--feature-cache", str(tmp_path / "f")]
    result = CliRunner().invoke(cli, [
        "-q", "enroll", "carol", str(EXAMPLES / "meeting.flac"), "--rttm",
        str(EXAMPLES / "meeting.rttm"), "--speaker", "carol", "--train-list", str(lst),
        "--model", str(model), *cache])
    assert result.exit_code == 0, result.output
    lines = lst.read_text().splitlines()
    assert lines[0] == "# enrolled speakers" and lines[1].startswith("enrolled/carol-meeting-")
    assert lines[1].endswith(".wav,carol")
    # the excerpt holds exactly carol's turns
    turns = [s for s in read_rttm(EXAMPLES / "meeting.rttm")["meeting"] if s.label == "carol"]
    excerpt = load_audio(tmp_path / lines[1].split(",")[0])
    assert abs(excerpt.size / 16000 - sum(s.duration for s in turns)) < 0.01
    assert load_model(model).speakers == ["alice", "bob", "carol"]
    result = CliRunner().invoke(cli, ["-q", "identify", str(EXAMPLES / "test/carol.flac"),
                                      "--model", str(model), "--json", *cache])
    assert json.loads(result.stdout)[0]["speaker"] == "carol"


def test_enroll_errors(tmp_path, make_wav):
    clip = make_wav("short.wav", seconds=1.5)
    run = CliRunner().invoke
    args = ["enroll", "x", str(clip), "--train-list", str(tmp_path / "l.txt"), "--model",
            str(tmp_path / "m.npz"), "--no-train"]
    result = run(cli, [*args, "--segment", "0.2-0.5"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: {clip}: the selected audio lasts 0.30 s; at least "
                                     "1.0 s is needed to enrol a speaker")
    assert not (tmp_path / "l.txt").exists()
    assert run(cli, [*args, "--rttm", str(clip)]).exit_code == 2       # --speaker missing
    assert run(cli, [*args, "--segment", "1-2", "--rttm", str(clip),
                     "--speaker", "A"]).exit_code == 2
    result = run(cli, [*args])
    assert result.exit_code == 0 and (tmp_path / "l.txt").read_text() == "short.wav,x\n"


@pytest.mark.models
@pytest.mark.slow
def test_diarize_identify_names_known_speakers(alice_bob_model):
    result = CliRunner().invoke(cli, ["-q", "diarize", str(EXAMPLES / "meeting.flac"),
                                      "--identify", "--model", str(alice_bob_model), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)[0]
    names = {m["name"] for m in out["speakers"]}
    assert {"alice", "bob"} <= names and "carol" not in names
    assert all(m["name"] is None or m["confidence"] >= 0.8 for m in out["speakers"])
    assert {s["speaker"] for s in out["segments"]} >= {"alice", "bob"}


@pytest.mark.models
def test_turns_of_a_merged_cluster_are_named_on_their_own(alice_bob_model):
    """README: the turns of one cluster can carry different names (or the anonymous label)."""
    merged = {"alice": "SPEAKER_00", "carol": "SPEAKER_00", "bob": "SPEAKER_01"}
    reference, named, _ = name_reference_turns(merged, alice_bob_model)
    by_truth = {}
    for truth, segment in zip(reference, named):
        by_truth.setdefault(truth.label, set()).add(segment.label)
    # the merged cluster does not verify as a whole: only a turn with SPLIT_MIN_SECONDS of
    # its own speech that verifies takes a name; carol's turns never do
    assert "alice" in by_truth["alice"] and by_truth["alice"] <= {"alice", "SPEAKER_00"}
    assert by_truth["bob"] == {"bob"} and by_truth["carol"] == {"SPEAKER_00"}


class _ToneExtractor:
    """Fake front end: a piece of audio whose samples all equal ``k / 10`` is voice ``k``;
    its windows are that voice's direction plus a little noise (one window per second)."""

    def __init__(self, seed=0):
        self.rng = __import__("numpy").random.default_rng(seed)

    def extract(self, y):
        import numpy as np

        voice = int(round(float(np.median(y)) * 10))
        n = max(1, int(len(y) // 16000))
        return _voice(voice) + 0.05 * self.rng.standard_normal((n, 16))


def _voice(k):
    import numpy as np

    return np.eye(16)[k]


@pytest.fixture
def toy_model():
    """alice (voice 1) and bob (voice 2) enrolled with four noisy files each."""
    import numpy as np

    from streamz_speaker.speaker_id.classifier import SpeakerClassifier
    from streamz_speaker.speaker_id.persistence import SpeakerModel

    rng = np.random.default_rng(1)
    clf = SpeakerClassifier()
    clf.classes_ = np.array(["alice", "bob"])
    X = np.concatenate([_voice(k) + 0.1 * rng.standard_normal((4, 16)) for k in (1, 2)])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return SpeakerModel(classifier=clf, profile_X=X.astype(np.float32),
                        profile_tel_X=X.astype(np.float32),
                        profile_y=np.repeat(["alice", "bob"], 4))


def _meeting(turns):
    """Audio and segments from (start, end, voice, cluster label) turns."""
    import numpy as np

    y = np.zeros(int(max(t[1] for t in turns) * 16000), np.float32)
    for start, end, voice, _ in turns:
        y[int(start * 16000):int(end * 16000)] = voice / 10
    return y, [Segment(start, end, label) for start, end, _, label in turns]


def test_unknown_voice_keeps_its_anonymous_label(toy_model):
    # carol (voice 3) was never enrolled
    y, segments = _meeting([(0, 4, 1, "SPEAKER_00"), (4, 8, 2, "SPEAKER_01"),
                            (8, 12, 3, "SPEAKER_02"), (12, 16, 1, "SPEAKER_00"),
                            (16, 20, 3, "SPEAKER_02")])
    named, matches = name_speakers(segments, y, toy_model, threshold=0.8,
                                   extractor=_ToneExtractor())
    assert [s.label for s in named] == ["alice", "bob", "SPEAKER_02", "alice", "SPEAKER_02"]
    by_label = {m.label: m for m in matches}
    assert by_label["SPEAKER_00"].reason == "verified" and by_label["SPEAKER_00"].agreement == 1
    carol = by_label["SPEAKER_02"].to_dict()
    assert carol["name"] is None and carol["reason"] == "below_threshold"
    assert carol["confidence"] < carol["threshold"] == 0.8 and carol["why"]


def test_impure_cluster_is_split_by_name_or_left_anonymous(toy_model):
    # one cluster holds alice, bob and carol: its mean leans to one of them, but two thirds
    # of its speech contradicts that; the turns that verify on their own (4 s each) take
    # their names, carol's stays anonymous
    y, segments = _meeting([(0, 4, 1, "SPEAKER_00"), (4, 8, 2, "SPEAKER_00"),
                            (8, 12, 3, "SPEAKER_00")])
    named, [match] = name_speakers(segments, y, toy_model, threshold=0.8,
                                   extractor=_ToneExtractor())
    assert match.name is None and match.reason == "turns_disagree"
    assert match.agreement == pytest.approx(1 / 3)
    assert [s.label for s in named] == ["alice", "bob", "SPEAKER_00"]
    # mostly alice with one long bob turn: the cluster's speech reaches the threshold for
    # alice, but its turns disagree (bob's turn, 40% of its speech, verifies against bob):
    # no cluster name, each verified turn takes its own
    y, segments = _meeting([(0, 6, 1, "SPEAKER_00"), (6, 10, 2, "SPEAKER_00")])
    named, [match] = name_speakers(segments, y, toy_model, threshold=0.8,
                                   extractor=_ToneExtractor())
    assert match.reason == "turns_disagree" and match.name is None
    assert match.agreement == pytest.approx(0.6)
    assert [s.label for s in named] == ["alice", "bob"]
    # a short bob turn (20% of the speech) does not stop the cluster verifying as alice
    y, segments = _meeting([(0, 8, 1, "SPEAKER_00"), (8, 10, 2, "SPEAKER_00")])
    named, [match] = name_speakers(segments, y, toy_model, threshold=0.8,
                                   extractor=_ToneExtractor())
    assert match.reason == "verified" and match.name == "alice"
    assert [s.label for s in named] == ["alice", "bob"]
