"""What the CLI leaves on disk: permissions, interrupted runs, model paths."""

import os
import stat

import numpy as np
import pytest

from cli_support import cache_args, copy_model, invoke, train_small_model, write_clips


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


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    return folder, train_small_model(folder)


def test_model_path_used_as_given(small_model, tmp_path):
    folder, model = small_model
    text_named = tmp_path / "model.txt"
    text_named.write_bytes(model.read_bytes())
    result = invoke("-q", "identify", folder / "alice0.wav", "--model", text_named,
                    *cache_args(folder))
    assert result.exit_code == 0, result.output
    assert "\talice\t" in result.stdout
    result = invoke("-q", "train", folder / "train.txt", "--model", tmp_path / "model2.txt",
                    "--epochs", "3", *cache_args(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.txt", "model2.txt",
                                                         "model2.txt.lock"]


def test_name_without_npz_beside_an_npz_is_refused(small_model, tmp_path):
    folder, model = small_model
    copy_model(model, tmp_path)
    bare = tmp_path / "models" / "model"
    for args in (["identify", folder / "alice0.wav"], ["train", folder / "train.txt"]):
        result = invoke("-q", *args, "--model", bare, *cache_args(folder))
        assert result.exit_code == 1
        assert result.stderr == (f"Error: {bare}: model not found, but {bare}.npz exists: pass "
                                 f"--model {bare}.npz (model paths are used as given, without "
                                 "adding .npz)\n")
    assert not bare.exists()


def _object_npz(path):
    np.savez(path, x=np.array([{"not": "a model"}], dtype=object))


def _text(path):
    path.write_text("hello\n")


def _npy(path):
    with open(path, "wb") as fh:
        np.save(fh, np.zeros(3))


@pytest.mark.parametrize("make", [_object_npz, _text, _npy])
def test_non_model_file_gives_a_safe_clear_error(small_model, tmp_path, make):
    folder, _ = small_model
    fake = tmp_path / "fake.npz"
    make(fake)
    result = invoke("-q", "identify", folder / "alice0.wav", "--model", fake,
                    *cache_args(folder))
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {fake}: not a readable streamz model (expected the .npz "
                             "file that `streamz train` writes)\n")
