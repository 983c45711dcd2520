"""Atomic writes: permissions as a plain open() gives them, nothing left behind."""

import os
import stat

import pytest

from streamz_speaker.core.fileio import atomic_path, atomic_write_text


@pytest.fixture
def umask():
    """Set the process umask for one test."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_file_gets_the_umask_mode(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_write_text(tmp_path / "list.txt", "a.wav,alice\n")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode(tmp_path / "list.txt") == mode(plain) == expected


def test_rewritten_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "list.txt"
    target.write_text("old\n")
    os.chmod(target, 0o664)
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n" and mode(target) == 0o664
    os.chmod(target, 0o600)
    atomic_write_text(target, "newer\n")
    assert mode(target) == 0o600


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    with pytest.raises(type(error)):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise error
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
