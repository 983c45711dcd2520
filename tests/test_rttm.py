import numpy as np
import pytest

from streamz_speaker.diarization.config import FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS
from streamz_speaker.diarization.rttm import Segment, format_rttm, read_rttm, to_segments, write_rttm
from streamz_speaker.core.errors import RttmError, StreamzError


def test_to_segments_frame_middles():
    d = np.zeros((10, 3))
    d[2:5, 1] = 1
    d[7:, 2] = 1                                   # runs to the last frame
    segs = to_segments(d, frame_step=1.0, frame_duration=0.5)
    # column 0 never speaks: SPEAKER_00 is column 1
    assert segs == [Segment(2.25, 5.25, "SPEAKER_00"), Segment(7.25, 9.25, "SPEAKER_01")]


def test_to_segments_default_geometry_and_clip():
    d = np.ones((100, 1))
    (seg,) = to_segments(d, duration=1.0)
    assert seg.start == pytest.approx(FRAME_DURATION_SECONDS / 2)
    assert seg.end == 1.0
    (seg,) = to_segments(d)
    assert seg.end == pytest.approx(99 * FRAME_STEP_SECONDS + FRAME_DURATION_SECONDS / 2)


def test_to_segments_labels_and_order():
    d = np.zeros((6, 2))
    d[3:5, 0] = 1
    d[1:2, 1] = 1
    segs = to_segments(d, frame_step=1.0, frame_duration=0.0, labels=["a", "b"])
    assert [s.label for s in segs] == ["b", "a"]


def test_format_exact_line():
    text = format_rttm([Segment(1.23456, 3.5, "SPEAKER_00")], "conv01")
    assert text == "SPEAKER conv01 1 1.235 2.265 <NA> <NA> SPEAKER_00 <NA> <NA>\n"
    with pytest.raises(ValueError, match="uri"):
        format_rttm([], "two words")


def test_write_read_round_trip(tmp_path):
    segs = [Segment(0.5, 1.25, "SPEAKER_00"), Segment(1.0, 2.0, "SPEAKER_01")]
    path = tmp_path / "x.rttm"
    write_rttm(path, segs, "f1")
    back = read_rttm(path)
    assert list(back) == ["f1"]
    assert [(s.start, round(s.end, 3), s.label) for s in back["f1"]] == \
        [(0.5, 1.25, "SPEAKER_00"), (1.0, 2.0, "SPEAKER_01")]


def test_read_skips_comments_and_other_records(tmp_path):
    path = tmp_path / "a.rttm"
    path.write_text(";; comment\n\nSPKR-INFO f 1 <NA> <NA> <NA> unknown s1 <NA>\n"
                    "SPEAKER f 1 0.000 1.000 <NA> <NA> s1 <NA> <NA>\n"
                    "SPEAKER g 1 2.0 0.5 <NA> <NA> s2\n")
    out = read_rttm(path)
    assert list(out) == ["f", "g"] and out["g"][0].end == 2.5


@pytest.mark.parametrize("line,match", [
    ("SPEAKER f 1 0.0 1.0", "at least 8 fields"),
    ("SPEAKER f 1 abc 1.0 <NA> <NA> s1 <NA> <NA>", "must be numbers"),
    ("SPEAKER f 1 0.0 -1 <NA> <NA> s1 <NA> <NA>", ">= 0"),
    ("SPEAKER f 1 nan 1 <NA> <NA> s1 <NA> <NA>", "finite"),
])
def test_read_errors_name_file_and_line(tmp_path, line, match):
    path = tmp_path / "bad.rttm"
    path.write_text("SPEAKER f 1 0.0 1.0 <NA> <NA> s1 <NA> <NA>\n" + line + "\n")
    with pytest.raises(RttmError, match=match) as info:
        read_rttm(path)
    assert str(info.value).startswith(f"{path}:2: ")
    assert isinstance(info.value, StreamzError) and isinstance(info.value, ValueError)


def test_read_missing_file(tmp_path):
    with pytest.raises(RttmError, match="cannot read"):
        read_rttm(tmp_path / "nope.rttm")
