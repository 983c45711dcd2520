"""Who said what: reading transcripts, giving words speakers, splitting cues, writing them."""

import json

import numpy as np
import pytest

from streamz_speaker.core.errors import StreamzError, TranscriptError
from streamz_speaker.diarization.rttm import Segment
from streamz_speaker.transcript import (UNKNOWN, AssignConfig, assign_words, find_transcript,
                                        format_transcript, label_transcript, output_format,
                                        parse_transcript, read_transcript, wder, word_errors)

#: alice 0-4 s, bob 4.5-8 s, alice again 9-12 s.
TURNS = [Segment(0.0, 4.0, "alice"), Segment(4.5, 8.0, "bob"), Segment(9.0, 12.0, "alice")]


def whisper(words_per_segment):
    """A Whisper result: one segment per list of (word, start, end)."""
    segments = []
    for i, words in enumerate(words_per_segment):
        text = "".join(f" {w}" for w, _, _ in words)
        segments.append({"id": i, "seek": 0, "start": words[0][1], "end": words[-1][2],
                         "text": text, "tokens": [1, 2, 3], "avg_logprob": -0.2,
                         "words": [{"word": f" {w}", "start": s, "end": e, "probability": 0.9}
                                   for w, s, e in words]})
    return {"text": "".join(s["text"] for s in segments), "segments": segments,
            "language": "en"}


#: Two segments; the first runs across alice -> bob, the second is bob's then alice's.
SPANNING = whisper([
    [("Hello", 0.5, 0.9), ("there", 1.0, 1.4), ("friend.", 3.2, 3.8), ("Hi", 4.6, 4.9),
     ("Alice,", 5.0, 5.5)],
    [("how", 6.0, 6.3), ("are", 6.4, 6.6), ("you?", 6.7, 7.2), ("Fine", 9.2, 9.6),
     ("thanks.", 9.7, 10.2)],
])

SRT = """1
00:00:00,500 --> 00:00:03,800
Hello there
my friend.

2
00:00:04,600 --> 00:00:07,200
Hi Alice, how are you?

3
00:00:09,200 --> 00:00:10,200
Fine thanks.
"""


def words_of(labelled):
    return [w.text.strip() for w in labelled.words]


# -- reading ------------------------------------------------------------------------------

def test_whisper_json_is_read_with_word_times(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(SPANNING))
    t = read_transcript(path)
    assert t.kind == "whisper" and t.timing == "words" and len(t.cues) == 2
    assert [w.text for w in t.cues[0].words][:2] == [" Hello", " there"]
    assert (t.cues[0].words[3].start, t.cues[0].words[3].end) == (4.6, 4.9)


def test_segment_only_json_srt_and_vtt_have_cue_times_only(tmp_path):
    doc = {"segments": [{"start": 0.0, "end": 2.0, "text": " one two three"}]}
    assert parse_transcript(doc).timing == "cues"
    srt = parse_transcript(SRT)
    assert srt.kind == "srt" and srt.timing == "cues"
    assert [w.text for w in srt.cues[0].words] == ["Hello", "there", "my", "friend."]
    vtt = parse_transcript("WEBVTT\n\nNOTE made by hand\n\nc1\n00:01.000 --> 00:02.500 "
                           "align:start\none two\n")
    assert vtt.kind == "vtt" and vtt.cues[0].start == 1.0 and vtt.cues[0].end == 2.5


def test_whisper_cpp_tokens_become_words():
    doc = {"transcription": [{
        "timestamps": {"from": "00:00:00,000", "to": "00:00:02,000"},
        "offsets": {"from": 0, "to": 2000}, "text": " Hello world, again",
        "tokens": [{"text": "[_BEG_]", "offsets": {"from": 0, "to": 0}},
                   {"text": " Hel", "offsets": {"from": 0, "to": 300}},
                   {"text": "lo", "offsets": {"from": 300, "to": 500}},
                   {"text": " world", "offsets": {"from": 600, "to": 1000}},
                   {"text": ",", "offsets": {"from": 1000, "to": 1100}},
                   {"text": " again", "offsets": {"from": 1200, "to": 2000}},
                   {"text": "[_TT_100]", "offsets": {"from": 2000, "to": 2000}}]}]}
    t = parse_transcript(doc)
    assert t.kind == "whisper.cpp"
    assert [(w.text, w.start, w.end) for w in t.cues[0].words] == [
        (" Hello", 0.0, 0.5), (" world,", 0.6, 1.1), (" again", 1.2, 2.0)]


@pytest.mark.parametrize("content, message", [
    ("{not json", r"a\.json: line 1: not valid JSON"),
    ('{"results": []}', r"a\.json: expected a Whisper result with a 'segments' list"),
    ('{"segments": [{"start": 0, "text": "x"}]}', r"a\.json: segment 0: no 'end'"),
    ('{"segments": [{"start": 0, "end": "soon", "text": "x"}]}',
     r"a\.json: segment 0: end must be a number of seconds, got 'soon'"),
    ('{"segments": [{"start": 0, "end": 1, "text": "a"}, {"start": 3, "end": 2, "text": "b"}]}',
     r"a\.json: segment 1: reversed: ends at 2\.000 s before it starts at 3\.000 s"),
    ('{"segments": [{"start": 0, "end": 5, "text": "a"}, {"start": 2, "end": 6, "text": "b"}]}',
     r"a\.json: segment 1: starts at 2\.000 s, overlapping segment 0"),
    ('{"segments": [{"start": 0, "end": 2, "text": " a b", "words": '
     '[{"word": " a", "start": 1.0, "end": 0.5}, {"word": " b", "start": 1, "end": 2}]}]}',
     r"a\.json: segment 0: word 0 \(' a'\) reversed"),
    ('[1, 2]', r"a\.json: expected a JSON object"),
])
def test_bad_json_names_the_file_and_segment(tmp_path, content, message):
    path = tmp_path / "a.json"
    path.write_text(content)
    with pytest.raises(TranscriptError, match=message):
        read_transcript(path)


def test_bad_whisper_cpp_json_names_the_segment():
    item = {"offsets": {"from": 0, "to": 1000}, "text": " a"}
    with pytest.raises(TranscriptError, match=r"x: segment 1: no 'offsets'"):
        parse_transcript({"transcription": [item, {"text": " b"}]}, source="x")
    with pytest.raises(TranscriptError, match=r"x: segment 0: token 1: expected an object"):
        parse_transcript({"transcription": [dict(item, tokens=[{"text": " a", "offsets": {
            "from": 0, "to": 10}}, 7])]}, source="x")


def test_bad_subtitles_name_the_file_and_line(tmp_path):
    path = tmp_path / "a.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:05,000 --> "
                    "00:00:04,000\nreversed\n")
    with pytest.raises(TranscriptError, match=r"a\.srt: cue 2 \(line 6\): reversed"):
        read_transcript(path)
    path.write_text("1\n00:00:01,000 -> 00:00:02,000\nno arrow\n")
    with pytest.raises(TranscriptError, match=r"a\.srt: line 1: expected a cue"):
        read_transcript(path)
    path.write_text("1\n00:00:01,000 --> 00:0x:02,000\nbad time\n")
    with pytest.raises(TranscriptError, match=r"a\.srt: cue 1 \(line 2\): bad time"):
        read_transcript(path)
    vtt = tmp_path / "b.vtt"
    vtt.write_text("00:01.000 --> 00:02.000\nno header\n")
    with pytest.raises(TranscriptError, match=r"b\.vtt: line 1: a WebVTT file starts with"):
        read_transcript(vtt)


def test_unreadable_transcripts(tmp_path):
    with pytest.raises(TranscriptError, match=r"missing\.json: cannot read transcript"):
        read_transcript(tmp_path / "missing.json")
    binary = tmp_path / "b.srt"
    binary.write_bytes(b"\xff\xfe\x00\x81\x00")
    with pytest.raises(TranscriptError, match=r"b\.srt: cannot read transcript"):
        read_transcript(binary)
    assert issubclass(TranscriptError, StreamzError) and issubclass(TranscriptError, ValueError)


def test_times_past_the_end_of_the_audio():
    t = parse_transcript(SPANNING)
    label_transcript(t, TURNS, duration=10.5)        # within the tolerance
    with pytest.raises(TranscriptError, match=r"segment 1: ends at 10\.200 s, past the end "
                                              r"of the audio \(8\.000 s\)"):
        label_transcript(t, TURNS, duration=8.0)


def test_finding_the_transcript_of_a_file(tmp_path):
    (tmp_path / "a.srt").write_text(SRT)
    (tmp_path / "a.json").write_text(json.dumps(SPANNING))
    (tmp_path / "b.wav.json").write_text(json.dumps(SPANNING))
    assert find_transcript("calls/a.wav", tmp_path).name == "a.json"   # JSON first
    assert find_transcript("calls/b.wav", tmp_path).name == "b.wav.json"   # whisper.cpp
    with pytest.raises(TranscriptError, match=r"no transcript for c\.wav"):
        find_transcript("c.wav", tmp_path)
    assert output_format(tmp_path / "a.srt") == "srt"
    assert output_format(tmp_path / "a.srt", "txt") == "txt"
    odd = tmp_path / "a.subtitles"
    odd.write_text(SRT)
    assert output_format(odd) == "srt"


# -- assigning and splitting ----------------------------------------------------------------

def test_each_word_gets_who_talks_most_during_it():
    labels = assign_words([0.5, 3.8, 4.6, 7.8, 7.9], [0.9, 4.6, 4.9, 9.1, 9.1], TURNS)
    # 3.8-4.6: alice 0.2 s, bob 0.1 s; 7.8-9.1: bob 0.2 s, alice 0.1 s; 7.9-9.1: a tie, to
    # the speaker who spoke first in the recording
    assert labels == ["alice", "alice", "bob", "bob", "alice"]


def test_a_word_in_a_gap_takes_the_nearest_speaker_within_the_bound():
    config = AssignConfig(gap_seconds=1.0)
    # 8.1-8.3 is 0.1 s after bob, 0.7 s before alice; 20-21 s is 8 s after anyone
    assert assign_words([8.1, 8.75, 20.0], [8.3, 8.85, 21.0], TURNS, config=config) == [
        "bob", "alice", UNKNOWN]
    assert assign_words([8.1], [8.3], TURNS, config=AssignConfig(gap_seconds=0.05)) == [UNKNOWN]
    assert assign_words([1.0], [2.0], []) == [UNKNOWN]


def test_segments_are_split_where_the_speaker_changes():
    labelled = label_transcript(parse_transcript(SPANNING), TURNS)
    assert [(c.speaker, c.text) for c in labelled.cues] == [
        ("alice", " Hello there friend."), ("bob", "Hi Alice,"), ("bob", " how are you?"),
        ("alice", "Fine thanks.")]
    assert labelled.splits == 2 and labelled.timing == "words"
    assert all(len({w.speaker for w in c.words}) == 1 and c.words[0].speaker == c.speaker
               for c in labelled.cues)


def test_every_word_is_kept_once_in_order():
    t = parse_transcript(SPANNING)
    labelled = label_transcript(t, TURNS)
    assert words_of(labelled) == [w.text.strip() for w in t.words]
    doc = json.loads(format_transcript(labelled))
    assert [w["word"] for s in doc["segments"] for w in s["words"]] == [
        w["word"] for s in SPANNING["segments"] for w in s["words"]]


def test_json_keeps_the_input_shape_with_speakers():
    doc = json.loads(format_transcript(label_transcript(parse_transcript(SPANNING), TURNS)))
    assert doc["language"] == "en" and doc["text"] == SPANNING["text"]
    first, second = doc["segments"][:2]
    assert first["speaker"] == "alice" and second["speaker"] == "bob"
    assert [s["id"] for s in doc["segments"]] == [0, 1, 2, 3]
    assert second["text"] == " Hi Alice," and (second["start"], second["end"]) == (4.6, 5.5)
    assert "tokens" not in second and second["avg_logprob"] == -0.2    # split: tokens dropped
    assert all(w["speaker"] == s["speaker"] for s in doc["segments"] for w in s["words"])
    assert doc["streamz"]["word_timing"] == "words" and doc["streamz"]["segments_split"] == 2
    # the caller's dict is untouched
    assert "speaker" not in SPANNING["segments"][0]


def test_srt_in_gives_labelled_srt_out_with_the_text_kept():
    labelled = label_transcript(parse_transcript(SRT), TURNS)
    out = format_transcript(labelled)
    assert out == ("1\n00:00:00,500 --> 00:00:03,800\n[alice]: Hello there\nmy friend.\n\n"
                   "2\n00:00:04,600 --> 00:00:07,200\n[bob]: Hi Alice, how are you?\n\n"
                   "3\n00:00:09,200 --> 00:00:10,200\n[alice]: Fine thanks.\n")
    doc = json.loads(format_transcript(labelled, "json"))      # SRT in, JSON out
    assert [(s["speaker"], s["text"]) for s in doc["segments"]][1] == (
        "bob", "Hi Alice, how are you?")
    assert doc["streamz"]["word_timing"] == "cues"
    assert [w["word"] for s in doc["segments"] for w in s["words"]][:2] == ["Hello", "there"]
    again = parse_transcript(out)
    assert [w.text for w in again.words if not w.text.startswith("[")] == [
        w.text for w in parse_transcript(SRT).words]
    assert labelled.timing == "cues"


def test_cues_without_word_times_stay_whole_unless_the_change_is_clear():
    # a short sliver of bob at the end of alice's cue: kept whole, alice
    turns = [Segment(0.0, 3.6, "alice"), Segment(3.6, 8.0, "bob")]
    cue = "1\n00:00:00,000 --> 00:00:04,000\none two three four five six seven eight\n"
    labelled = label_transcript(parse_transcript(cue), turns)
    assert [(c.speaker, len(c.words)) for c in labelled.cues] == [("alice", 8)]
    # half and half: a clear change, split at a word boundary
    long_cue = ("1\n00:00:00,000 --> 00:00:08,000\n"
                "one two three four five six seven eight nine ten eleven twelve\n")
    # by characters, "six" ends at 3.56 s and "seven" starts there
    labelled = label_transcript(parse_transcript(long_cue), [Segment(0, 3.5, "alice"),
                                                            Segment(3.5, 8, "bob")])
    assert [(c.speaker, c.text) for c in labelled.cues] == [
        ("alice", "one two three four five six"), ("bob", "seven eight nine ten eleven twelve")]
    assert labelled.words[0].estimated


def test_vtt_whisper_cpp_and_txt_outputs():
    vtt = ("WEBVTT\n\nc1\n00:00.500 --> 00:07.200 line:90%\n"
           "Hello there my friend. Hi Alice, how are you?\n")
    # by characters, "friend." ends and "Hi" starts at 3.85 s
    turns = [Segment(0.0, 3.85, "alice"), Segment(3.85, 8.0, "bob")]
    out = format_transcript(label_transcript(parse_transcript(vtt), turns))
    assert out.startswith("WEBVTT\n\nNOTE speakers by streamz: alice, bob;")
    assert "c1\n00:00:00.500 --> 00:00:03.850 line:90%\n[alice]: Hello there my friend.\n" in out
    assert "c1-2\n" in out and "[bob]: Hi Alice, how are you?" in out
    txt = format_transcript(label_transcript(parse_transcript(SPANNING), TURNS), "txt")
    assert txt == ("alice (00:00): Hello there friend.\n\n"
                   "bob (00:04): Hi Alice, how are you?\n\nalice (00:09): Fine thanks.\n")


def test_whisper_cpp_json_keeps_its_shape():
    doc = {"systeminfo": "x", "transcription": [{
        "timestamps": {"from": "00:00:03,000", "to": "00:00:06,000"},
        "offsets": {"from": 3000, "to": 6000}, "text": " end of it. Hi there",
        "tokens": [{"text": "[_BEG_]", "offsets": {"from": 3000, "to": 3000}},
                   {"text": " end", "offsets": {"from": 3000, "to": 3300}},
                   {"text": " of", "offsets": {"from": 3300, "to": 3500}},
                   {"text": " it.", "offsets": {"from": 3500, "to": 3900}},
                   {"text": " Hi", "offsets": {"from": 4600, "to": 4900}},
                   {"text": " there", "offsets": {"from": 5000, "to": 5600}}]}]}
    out = json.loads(format_transcript(label_transcript(parse_transcript(doc), TURNS)))
    first, second = out["transcription"]
    assert out["systeminfo"] == "x"
    assert (first["speaker"], first["text"], first["offsets"]) == (
        "alice", " end of it.", {"from": 3000, "to": 3900})
    assert [t["text"] for t in first["tokens"]] == ["[_BEG_]", " end", " of", " it."]
    assert (second["speaker"], second["text"], second["timestamps"]["from"]) == (
        "bob", " Hi there", "00:00:04,600")
    assert {t["speaker"] for t in second["tokens"]} == {"bob"}


def test_speaker_names_replace_labels():
    named = [Segment(s.start, s.end, {"alice": "Alice Smith"}.get(s.label, "SPEAKER_01"))
             for s in TURNS]
    out = format_transcript(label_transcript(parse_transcript(SRT), named))
    assert "[Alice Smith]: Hello there" in out and "[SPEAKER_01]: Hi Alice" in out


def test_no_speech_leaves_every_word_unknown():
    labelled = label_transcript(parse_transcript(SPANNING), [])
    assert {w.speaker for w in labelled.words} == {UNKNOWN} and len(labelled.cues) == 2


def test_wder_maps_labels_one_to_one():
    ref = ["a", "a", "b", "b", "c"]
    assert wder(ref, ["x", "x", "y", "y", "y"]) == pytest.approx(0.2)
    assert wder(ref, ["x", "x", "x", "x", "x"]) == pytest.approx(0.6)   # one label, one speaker
    assert list(word_errors(ref, ["x", UNKNOWN, "y", "y", "z"])) == [False, True, False, False,
                                                                    False]
    assert wder(ref, ["x", "x", "y", "y", "y"], mask=np.array([1, 1, 1, 1, 0], bool)) == 0.0


def test_labelling_is_fast():
    """10,000 one-word segments against 2,000 turns: about a second here (an hour of audio
    has a few thousand; its diarization takes minutes)."""
    import time

    rng = np.random.default_rng(0)
    edges = np.sort(rng.uniform(0, 3600, 4000))
    turns = [Segment(a, b, f"S{i % 5}") for i, (a, b) in enumerate(zip(edges[::2], edges[1::2]))]
    starts = np.sort(rng.uniform(0, 3590, 10_000))
    doc = {"segments": [{"start": float(s), "end": float(s) + 0.3, "text": " w",
                         "words": [{"word": " w", "start": float(s), "end": float(s) + 0.3}]}
                        for s in starts]}
    t0 = time.perf_counter()
    labelled = label_transcript(parse_transcript(doc), turns)
    format_transcript(labelled)
    assert time.perf_counter() - t0 < 5.0 and len(labelled.words) == 10_000
