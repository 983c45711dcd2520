import pytest

from streamz_speaker.core.errors import LedgerError
from streamz_speaker.speaker_id.ledger import read_ledger, remove_lines, write_labels


def test_read_ledger_formats(tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text("# comment\n\na.wav,3\nsub/b.mp3,alice\n/abs/c.wav\nodd,name.wav\n")
    entries = read_ledger(lst)
    assert [(e.line, e.raw_path, e.label) for e in entries] == [
        (3, "a.wav", "3"), (4, "sub/b.mp3", "alice"), (5, "/abs/c.wav", None),
        (6, "odd,name.wav", None)]
    assert entries[0].path == tmp_path / "a.wav"


@pytest.mark.parametrize("line,problem", [
    ("a.wav,", "empty label"),
    ("a.wav,bad label!", "malformed label"),
    (",alice", "missing file path"),
])
def test_malformed_lines_name_file_and_line(tmp_path, line, problem):
    lst = tmp_path / "list.txt"
    lst.write_text(f"ok.wav,1\n{line}\n")
    with pytest.raises(LedgerError, match=problem) as info:
        read_ledger(lst)
    assert str(info.value).startswith(f"{lst}:2:")


def test_missing_list(tmp_path):
    with pytest.raises(LedgerError, match="file list not found"):
        read_ledger(tmp_path / "nope.txt")


def test_write_labels_keeps_other_lines(tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text("# keep me\na.wav\n\nb.wav,bob\nc.wav\n")
    write_labels(lst, {2: "alice", 5: "7"})
    assert lst.read_text() == "# keep me\na.wav,alice\n\nb.wav,bob\nc.wav,7\n"
    remove_lines(lst, {4})
    assert lst.read_text() == "# keep me\na.wav,alice\n\nc.wav,7\n"
