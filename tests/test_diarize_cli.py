"""`streamz diarize` end to end on a small synthetic conversation with a known answer."""

import json
import re

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from streamz_speaker.cli import cli
from streamz_speaker.diarization import DiarizationConfig, diarize, load_models
from streamz_speaker.diarization.config import (FAST_SEGMENTATION_STEP_SECONDS, BinarizeConfig,
                                                ClusteringConfig, SegmentationConfig)
from streamz_speaker.diarization.rttm import Segment, read_rttm
from streamz_speaker.diarization.scoring import diarization_error

pytestmark = pytest.mark.models

RTTM_LINE = re.compile(r"^SPEAKER (\S+) 1 \d+\.\d{3} \d+\.\d{3} <NA> <NA> SPEAKER_\d\d <NA> <NA>$")
TURNS = ["alice", "bob"] * 3
#: Who speaks when in the ``conversation`` fixture.
REFERENCE = [Segment(3.0 * i, 3.0 * (i + 1), who) for i, who in enumerate(TURNS)]


@pytest.fixture(scope="module")
def conversation(tmp_path_factory):
    """18 s: alice and bob take turns, 3 s each (synthetic voices)."""
    from conftest import SPEAKERS, synth_voice

    parts = [synth_voice(*SPEAKERS[s], 3.0, seed=i) for i, s in enumerate(TURNS)]
    path = tmp_path_factory.mktemp("diarize") / "conversation.wav"
    sf.write(path, np.concatenate(parts), 16_000)
    return path


@pytest.fixture(scope="module")
def models():
    return load_models()


@pytest.fixture(scope="module")
def default_segments(conversation, models):
    return diarize(conversation, models=models).segments


def _run(*args):
    return CliRunner().invoke(cli, ["-q", "diarize", *map(str, args)])


def test_diarize_finds_the_turns(conversation, tmp_path):
    result = _run(conversation)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines and all(RTTM_LINE.match(line) for line in lines)
    (tmp_path / "out.rttm").write_text(result.output)
    [(uri, segments)] = read_rttm(tmp_path / "out.rttm").items()
    assert uri == "conversation" and len({s.label for s in segments}) == 2
    # scores 2.8 % (0.06 s missed, 0.27 s false alarm, 0.17 s confused at the turn changes)
    der = diarization_error(REFERENCE, segments)
    assert der.der < 0.04 and set(der.mapping.values()) == {"alice", "bob"}


@pytest.mark.parametrize("args,config", [
    (["--fast"], DiarizationConfig(segmentation=SegmentationConfig(FAST_SEGMENTATION_STEP_SECONDS))),
    (["--num-speakers", "1"], DiarizationConfig(clustering=ClusteringConfig(num_speakers=1))),
    (["--max-speakers", "1"], DiarizationConfig(clustering=ClusteringConfig(max_speakers=1))),
    (["--min-speakers", "3"], DiarizationConfig(clustering=ClusteringConfig(min_speakers=3))),
    (["--exclusive"], DiarizationConfig(exclusive=True)),
    (["--min-duration-on", "3.5"], DiarizationConfig(binarize=BinarizeConfig(min_duration_on=3.5))),
    (["--pad-offset", "0.5"], DiarizationConfig(binarize=BinarizeConfig(pad_offset=0.5))),
], ids=["fast", "num-speakers", "max-speakers", "min-speakers", "exclusive", "min-duration-on",
        "pad-offset"])
def test_options_reach_the_pipeline(conversation, models, default_segments, args, config):
    """Each option changes this recording's answer, and the CLI's is the library's."""
    expected = diarize(conversation, models=models, config=config)
    assert expected.segments != default_segments
    result = _run(conversation, *args, "--json")
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.output)
    assert doc["num_speakers"] == len({s["speaker"] for s in doc["segments"]})
    assert [(s["start"], s["end"], s["speaker"]) for s in doc["segments"]] == \
        [(round(s.start, 3), round(s.end, 3), s.label) for s in expected.segments]


def test_exclusive_turns_do_not_overlap(conversation):
    result = _run(conversation, "--exclusive", "--json")
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.output)
    segs = doc["segments"]
    assert doc["uri"] == "conversation" and len(segs) == len(TURNS)
    assert all(a["end"] <= b["start"] for a, b in zip(segs, segs[1:]))
    hyp = [Segment(s["start"], s["end"], s["speaker"]) for s in segs]
    assert diarization_error(REFERENCE, hyp).der < 0.03       # scores 2.2 %


def test_min_duration_off_fills_a_pause(tmp_path):
    """alice, 1.5 s of near silence, alice: two turns, one when shorter pauses are filled."""
    from conftest import SPEAKERS, synth_voice

    quiet = 0.001 * np.random.default_rng(0).standard_normal(24_000)
    path = tmp_path / "pause.wav"
    sf.write(path, np.concatenate([synth_voice(*SPEAKERS["alice"], 3.0), quiet,
                                   synth_voice(*SPEAKERS["alice"], 3.0, seed=1)]), 16_000)

    def turns(*args):
        result = _run(path, "--json", *args)
        assert result.exit_code == 0, result.output
        return [(s["start"], s["end"]) for s in json.loads(result.output)[0]["segments"]]

    two = turns()
    assert len(two) == 2 and 1.0 < two[1][0] - two[0][1] < 2.0      # the pause is heard
    assert turns("--min-duration-off", "2") == [(two[0][0], two[1][1])]


def test_silence_and_very_short_inputs_give_empty_rttm(tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(16_000 * 3, np.float32), 16_000)
    sf.write(tmp_path / "short.wav", np.zeros(200, np.float32), 16_000)
    result = _run(tmp_path / "silence.wav", tmp_path / "short.wav")
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_corrupt_input_named_batch_continues(tmp_path, conversation):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    out = tmp_path / "rttm"
    result = _run(bad, conversation, "--fast", "-o", out)
    assert result.exit_code == 1
    assert f"Error: {bad}:" in result.output
    assert (out / "conversation.rttm").read_text().startswith("SPEAKER conversation 1 ")
    assert not (out / "broken.rttm").exists()


def test_num_speakers_conflicts_with_bounds(conversation):
    result = _run(conversation, "--num-speakers", "2", "--max-speakers", "3")
    assert result.exit_code == 2
    assert "--num-speakers cannot be combined" in result.output


def test_library_never_prints(conversation, models, capsys):
    calls = []
    result = diarize(conversation, models=models, hook=lambda step, **kw: calls.append(step))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "segmentation" in calls and "embeddings" in calls
    assert result.duration == pytest.approx(18.0)


@pytest.mark.parametrize("second", ["b/conversation.wav", "a/conversation.wav",
                                    "b/conversation.flac"])
def test_inputs_sharing_a_uri_are_refused(tmp_path, conversation, second):
    first = tmp_path / "a" / "conversation.wav"
    first.parent.mkdir()
    first.write_bytes(conversation.read_bytes())
    other = tmp_path / second
    other.parent.mkdir(exist_ok=True)
    other.write_bytes(conversation.read_bytes())
    out = tmp_path / "rttm"
    result = _run(first, other, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        f"Error: {first} and {other} would both be uri 'conversation' (and conversation.rttm "
        "with -o): diarize them in separate runs, or rename one")
    assert not out.exists()


@pytest.mark.parametrize("options,message", [
    (["--threshold", "0.5"], "--threshold only applies"),
    (["--model", "m.npz", "--threshold", "0.5"], "--model and --threshold only apply")])
def test_identify_options_need_identify(conversation, options, message):
    result = _run(conversation, *options)
    assert result.exit_code == 2
    assert f"Error: {message} with --identify" in result.stderr


def test_score_json_is_rounded(tmp_path):
    ref, hyp = tmp_path / "ref.rttm", tmp_path / "hyp.rttm"
    ref.write_text("SPEAKER f1 1 0.1 3.3 <NA> <NA> a <NA> <NA>\n"
                   "SPEAKER f1 1 3.7 1.1 <NA> <NA> b <NA> <NA>\n")
    hyp.write_text("SPEAKER f1 1 0.2 3.1 <NA> <NA> x <NA> <NA>\n"
                   "SPEAKER f1 1 3.3 1.7 <NA> <NA> x <NA> <NA>\n")
    result = CliRunner().invoke(cli, ["score", str(ref), str(hyp), "--json"])
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["total"]
    assert total == {"der": 0.3864, "total": 4.4, "missed": 0.1, "false_alarm": 0.5,
                     "confusion": 1.1}
