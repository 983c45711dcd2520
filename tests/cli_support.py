"""Helpers of the CLI tests: run ``streamz`` in-process, make a small trained model."""

from __future__ import annotations

import shutil
from pathlib import Path

import soundfile as sf
from click.testing import CliRunner

from conftest import SPEAKERS, synth_voice
from streamz_speaker.cli import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def invoke(*args, **kwargs):
    """``streamz ARGS`` in-process; stdout and stderr apart (``result.stdout/.stderr``)."""
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def cache_args(folder: Path) -> list:
    """Cache options that keep a test's caches inside its own folder."""
    return ["--cache-dir", folder / "cache", "--feature-cache", folder / "features"]


def write_clips(folder: Path, speakers=("alice", "bob"), n: int = 2, seconds: float = 1.5):
    """Synthetic clips ``{speaker}{i}.wav`` in ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for speaker in speakers:
        for i in range(n):
            path = folder / f"{speaker}{i}.wav"
            sf.write(path, synth_voice(*SPEAKERS[speaker], seconds, seed=i), 16_000)
            paths.append(path)
    return paths


def train_small_model(folder: Path) -> Path:
    """Train ``folder/models/model.npz`` on two clips each of alice and bob."""
    clips = write_clips(folder)
    lst = folder / "train.txt"
    lst.write_text("".join(f"{p.name},{p.stem[:-1]}\n" for p in clips))
    model = folder / "models" / "model.npz"
    result = invoke("-q", "train", lst, "--model", model, "--epochs", "10", *cache_args(folder))
    assert result.exit_code == 0, result.output
    return model


def copy_model(model: Path, folder: Path) -> Path:
    """A private copy of a shared model (for tests that change it)."""
    target = folder / "models" / "model.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, target)
    return target
