"""`streamz diarize` end to end on small synthetic recordings."""

import json
import re

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from streamz.cli import cli

pytestmark = pytest.mark.models

RTTM_LINE = re.compile(r"^SPEAKER (\S+) 1 \d+\.\d{3} \d+\.\d{3} <NA> <NA> SPEAKER_\d\d <NA> <NA>$")


@pytest.fixture
def conversation(tmp_path):
    """12 s: alice, bob, alice (synthetic voices)."""
    from conftest import SPEAKERS, synth_voice

    parts = [synth_voice(*SPEAKERS[s], 4.0, seed=i) for i, s in enumerate(["alice", "bob", "alice"])]
    path = tmp_path / "conversation.wav"
    sf.write(path, np.concatenate(parts), 16_000)
    return path


def _run(*args):
    return CliRunner().invoke(cli, ["-q", "diarize", *map(str, args)])


def test_diarize_prints_rttm(conversation):
    result = _run(conversation, "--fast")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines and all(RTTM_LINE.match(line) for line in lines)
    assert all(line.split()[1] == "conversation" for line in lines)


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


def test_json_and_speaker_count(conversation):
    result = _run(conversation, "--fast", "--num-speakers", "2", "--json", "--exclusive")
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.output)
    assert doc["uri"] == "conversation" and doc["num_speakers"] <= 2
    segs = doc["segments"]
    assert segs and all(a["end"] <= b["start"] + 1e-3 for a, b in zip(segs, segs[1:]))


def test_num_speakers_conflicts_with_bounds(conversation):
    result = _run(conversation, "--num-speakers", "2", "--max-speakers", "3")
    assert result.exit_code == 2
    assert "--num-speakers cannot be combined" in result.output


def test_library_never_prints(conversation, capsys):
    from streamz.diarization import diarize

    calls = []
    result = diarize(conversation, config=__import__("streamz.diarization.config", fromlist=["x"])
                     .DiarizationConfig(), hook=lambda step, **kw: calls.append(step))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "segmentation" in calls and "embeddings" in calls
    assert result.duration == pytest.approx(12.0)


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
