"""`streamz diarize --transcript`: labelled transcripts beside the RTTM, or on stdout."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from cli_support import EXAMPLES, invoke
from conftest import SPEAKERS, synth_voice

SRT = ("1\n00:00:00,500 --> 00:00:02,500\nhello there\n\n"
       "2\n00:00:03,500 --> 00:00:05,500\nhow are you\n")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """6 s: alice, then bob (synthetic voices)."""
    parts = [synth_voice(*SPEAKERS[s], 3.0, seed=i) for i, s in enumerate(["alice", "bob"])]
    path = tmp_path_factory.mktemp("clips") / "talk.wav"
    sf.write(path, np.concatenate(parts), 16_000)
    return path


def test_usage_errors(tmp_path, clip):
    (tmp_path / "t.srt").write_text(SRT)
    result = invoke("diarize", clip, "--transcript-format", "srt")
    assert result.exit_code == 2 and "--transcript-format only applies with --transcript" \
        in result.stderr
    result = invoke("diarize", clip, clip.with_name("other.wav"), "--transcript",
                    tmp_path / "t.srt")
    assert result.exit_code == 2 and "is one file, for one AUDIO file" in result.stderr
    result = invoke("diarize", clip, "--transcript", tmp_path / "t.srt", "--json")
    assert result.exit_code == 2 and "give one AUDIO file without --json, or -o DIR" \
        in result.stderr


@pytest.mark.models
def test_bad_transcripts_fail_their_file_only(tmp_path, clip):
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("good", "broken", "long", "none"):
        shutil.copy(clip, audio / f"{name}.wav")
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "good.srt").write_text(SRT)
    (texts / "broken.srt").write_text(SRT.replace("00:00:05,500", "00:00:03,000"))
    (texts / "long.srt").write_text(SRT.replace("00:00:05,500", "00:00:09,500"))
    out = tmp_path / "out"
    result = invoke("-q", "diarize", audio, "-o", out, "--transcript", texts)
    assert result.exit_code == 1
    err = result.stderr
    assert "broken.wav: " in err and "broken.srt: cue 2 (line 6): reversed" in err
    assert "long.wav: " in err and "long.srt: cue 2 (line 6): ends at 9.500 s, past the end " \
                                   "of the audio (6.000 s)" in err
    assert "none.wav: " in err and "no transcript for none.wav" in err
    assert "3 files failed." in err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("manifest")) == [
        "good.rttm", "good.srt"]
    srt = (out / "good.srt").read_text()
    assert "]: hello there\n" in srt and "]: how are you\n" in srt
    records = {json.loads(line)["uri"]: json.loads(line)
               for line in (out / "manifest.jsonl").read_text().splitlines()}
    assert records["good"]["status"] == "done" and records["good"]["word_timing"] == "cues"
    assert records["good"]["transcript_output"] == "good.srt"
    assert records["broken"]["status"] == "failed" and "reversed" in records["broken"]["error"]
    # again: the good file is done, the others are tried again
    (texts / "broken.srt").write_text(SRT)
    result = invoke("-q", "diarize", audio, "-o", out, "--transcript", texts,
                    "--transcript-format", "txt")
    assert result.exit_code == 1 and "2 files failed." in result.stderr   # long, none
    assert (out / "broken.txt").exists() and (out / "good.txt").exists()


@pytest.mark.slow
@pytest.mark.models
def test_the_shipped_example_end_to_end(tmp_path, monkeypatch):
    """README's "Who said what": the Whisper-shaped transcript of meeting.flac, to SRT on
    stdout and to JSON in a folder with --jobs 2; every word in order, one speaker a segment."""
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("models"))
    monkeypatch.chdir(tmp_path / "examples")
    source = json.loads(open("meeting.whisper.json").read())
    result = invoke("-q", "diarize", "meeting.flac", "--transcript", "meeting.whisper.json",
                    "--transcript-format", "srt")
    assert result.exit_code == 0, result.output
    cues = [block.split("\n")[2] for block in result.stdout.strip().split("\n\n")]
    words = [w for cue in cues for w in cue.split("]: ", 1)[1].split()]
    assert words == [w["word"].strip() for s in source["segments"] for w in s["words"]]
    assert len(cues) > len(source["segments"])          # segments split at speaker changes
    # a folder of transcripts, two recordings, two workers
    shutil.copy("meeting.flac", "again.flac")
    texts = tmp_path / "texts"
    texts.mkdir()
    shutil.copy("meeting.whisper.json", texts / "meeting.json")
    shutil.copy("meeting.whisper.json", texts / "again.json")
    result = invoke("-q", "diarize", "meeting.flac", "again.flac", "-o", "out", "--jobs", "2",
                    "--transcript", texts)
    assert result.exit_code == 0, result.output
    for uri in ("meeting", "again"):
        doc = json.loads(open(f"out/{uri}.json").read())
        assert [w["word"] for s in doc["segments"] for w in s["words"]] == [
            w["word"] for s in source["segments"] for w in s["words"]]
        assert all({w["speaker"] for w in s["words"]} == {s["speaker"]} for s in doc["segments"])
        assert doc["streamz"]["word_timing"] == "words"
        assert open(f"out/{uri}.rttm").read()


@pytest.mark.slow
@pytest.mark.models
def test_identify_puts_enrolled_names_on_the_words(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("models"))
    monkeypatch.chdir(tmp_path / "examples")
    assert invoke("-q", "train").exit_code == 0
    result = invoke("-q", "diarize", "meeting.flac", "--transcript", "meeting.whisper.json",
                    "--identify", "--transcript-format", "txt")
    assert result.exit_code == 0, result.output
    heads = [line.split(" (")[0] for line in result.stdout.split("\n\n")]
    assert set(heads) == {"alice", "bob", "carol"}
