"""File lists as README describes them: comments, malformed lines, empty lists."""

import re

import pytest

from cli_support import cache_args, invoke, train_small_model, write_clips


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return train_small_model(tmp_path_factory.mktemp("lists"))


def test_comments_after_a_line_and_label_written_before_them(tmp_path):
    write_clips(tmp_path)
    (tmp_path / "take#2.wav").write_bytes((tmp_path / "alice1.wav").read_bytes())
    lst = tmp_path / "train.txt"
    lst.write_text("# our speakers\n"
                   "alice0.wav,alice   # first take\n"
                   "take#2.wav,alice\t# a '#' inside a file name is part of it\n"
                   "bob0.wav,bob # a note\n"
                   "bob1.wav      # who is this?\n")
    result = invoke("-q", "train", lst, "--model", tmp_path / "m.npz", "--epochs", "5",
                    *cache_args(tmp_path))
    assert result.exit_code == 0, result.output
    lines = lst.read_text().splitlines()
    assert lines[:4] == ["# our speakers", "alice0.wav,alice   # first take",
                         "take#2.wav,alice\t# a '#' inside a file name is part of it",
                         "bob0.wav,bob # a note"]
    assert re.fullmatch(r"bob1\.wav,\w+      # who is this\?", lines[4]), lines[4]


def test_extra_field_names_file_and_line(tmp_path):
    write_clips(tmp_path)
    lst = tmp_path / "train.txt"
    lst.write_text("alice0.wav,alice\nbob0.wav,bob,extra\n")
    result = invoke("-q", "train", lst, "--model", tmp_path / "m.npz", *cache_args(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {lst}:2: too many fields in 'bob0.wav,bob,extra': "
                             "expected path[,label] ('#' starts a comment)\n")


@pytest.mark.parametrize("command", ["train", "eval", "check-embeddings"])
def test_empty_list_says_so(tmp_path, small_model, command):
    lst = tmp_path / "list.txt"
    lst.write_text("# nothing yet\n\n")
    model = tmp_path / "new.npz" if command == "train" else small_model
    result = invoke("-q", command, lst, "--model", model, *cache_args(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {lst}: the list names no audio files (one per line: "
                             "path[,label])\n")
