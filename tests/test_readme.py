"""README's examples print what README shows."""

import re
import shutil
from pathlib import Path

import pytest

from cli_support import EXAMPLES, invoke

README = Path(__file__).resolve().parents[1] / "README.md"


def shown_output(command: str) -> str:
    """The ```text block that README gives as the output of ``command``."""
    text = README.read_text(encoding="utf-8")
    at = text.index(f"`{command}` prints")
    return re.search(r"```text\n(.*?)```", text[at:], re.S).group(1)


@pytest.mark.slow
@pytest.mark.models
def test_identify_list_example(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path / "examples")
    assert invoke("-q", "train").exit_code == 0
    result = invoke("identify", "meeting.flac", "--list", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == shown_output("streamz identify meeting.flac --list")


@pytest.mark.slow
@pytest.mark.models
def test_an_unlabelled_recording_of_several_speakers_is_not_learned(tmp_path, monkeypatch):
    """The bundled meeting (alice, bob and carol) sounds like none of them as a whole; train
    must not learn it as a new speaker (nor as one of them), nor write a label for it, and
    must say why."""
    from streamz_speaker.speaker_id.persistence import load_model

    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path / "examples")
    assert invoke("-q", "train").exit_code == 0
    before = load_model(Path("models/model.npz"))
    lst = Path("train_files.txt")
    lst.write_text(lst.read_text() + "meeting.flac\n")
    result = invoke("-q", "train")
    assert result.exit_code == 1
    assert "meeting.flac" in result.stderr and "holds several speakers" in result.stderr
    assert lst.read_text().splitlines()[-1] == "meeting.flac"           # no label written
    after = load_model(Path("models/model.npz"))
    assert after.learned == before.learned and after.speakers == before.speakers


@pytest.mark.slow
def test_mfcc_model_names_the_examples_and_not_the_meeting(tmp_path, monkeypatch):
    """30 ms MFCC windows alone never verify against anyone; scored in 1.5 s spans they
    still show that the bundled meeting holds several people."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path / "examples")
    assert invoke("-q", "train", "--features", "mfcc", "--model", "mfcc.npz").exit_code == 0
    result = invoke("-q", "identify", "test/alice.flac", "test/bob.flac", "test/carol.flac",
                    "meeting.flac", "--model", "mfcc.npz")
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[:2] for line in result.stdout.splitlines()]
    assert names == [["test/alice.flac", "alice"], ["test/bob.flac", "bob"],
                     ["test/carol.flac", "carol"], ["meeting.flac", "unknown"]]
    listed = invoke("-q", "identify", "meeting.flac", "--list", "--model", "mfcc.npz").stdout
    assert "more than one speaker?" in listed
    assert sum(name in listed for name in ("alice", "bob", "carol")) >= 2


@pytest.mark.slow
@pytest.mark.models
def test_who_said_what_example(tmp_path, monkeypatch):
    """README's "Who said what": the shipped transcript of the meeting, labelled."""
    command = ("streamz diarize meeting.flac --transcript meeting.whisper.json "
               "--transcript-format srt")
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("models"))
    monkeypatch.chdir(tmp_path / "examples")
    result = invoke("-q", *command.split()[1:])
    assert result.exit_code == 0, result.output
    assert result.stdout == shown_output(command)
