"""What the CLI leaves on disk: permissions, interrupted runs, model paths."""

import os
import stat

import pytest

from cli_support import cache_args, invoke, write_clips


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    saved = os.umask(0o022)
    yield
    os.umask(saved)


def test_train_outputs_readable_by_others_and_list_keeps_its_mode(tmp_path, umask_022):
    clips = write_clips(tmp_path)
    lst = tmp_path / "train.txt"
    lst.write_text("".join(f"{p.name},{p.stem[:-1]}\n" for p in clips[:-1]) + "bob1.wav\n")
    os.chmod(lst, 0o664)
    model = tmp_path / "models" / "model.npz"
    result = invoke("-q", "train", lst, "--model", model, "--epochs", "5", *cache_args(tmp_path))
    assert result.exit_code == 0, result.output
    assert lst.read_text().splitlines()[-1].startswith("bob1.wav,")  # the list was rewritten
    assert mode(lst) == 0o664
    assert mode(model) == 0o644
    assert all(mode(p) == 0o644 for p in (tmp_path / "features").iterdir())
