"""The built distribution: a wheel that installs and runs on its own, and an sdist with the tests.

The wheel is built from a copy of the source tree (as ``python -m build`` does from a fresh
clone) and installed, not editable, into a temporary virtual environment. That environment
sees this one's third-party packages (``--system-site-packages``: nothing is downloaded for
them), and its own site-packages comes first on ``sys.path``, so the checks below run the
installed copy of StreamZ, never the checkout's ``src/``.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(*command, cwd, env=None, timeout=600):
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """``python -m build`` on a copy of what a clone holds: the wheel and the sdist."""
    pytest.importorskip("build")
    root = tmp_path_factory.mktemp("clone")
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(REPO / name, root / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", "models", "cache",
                                    "feature_cache")
    shutil.copytree(REPO / "src", root / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    for folder in ("tests", "examples"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    _run(sys.executable, "-m", "build", "--outdir", root / "dist", root, cwd=root)
    (wheel,) = (root / "dist").glob("streamz_speaker-*.whl")
    (sdist,) = (root / "dist").glob("streamz_speaker-*.tar.gz")
    return wheel, sdist


def test_sdist_holds_the_sources_tests_and_docs(dist):
    _, sdist = dist
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {"pyproject.toml", "LICENSE", "README.md", "src/streamz_speaker/__init__.py",
            "src/streamz_speaker/core/models/manifest.json", "tests/test_wheel.py",
            "tests/conftest.py", "examples/train_files.txt"} <= names
    assert not any("__pycache__" in n for n in names)


def test_installed_wheel_runs_the_example(dist, tmp_path):
    wheel, _ = dist
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    bin_dir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    _run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--force-reinstall", wheel, cwd=tmp_path, env=env)
    where = _run(bin_dir / "python", "-c", "import streamz_speaker; print(streamz_speaker.__file__)",
                 cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(env_dir), where
    assert "version 0.1.0" in _run(bin_dir / "streamz", "--version", cwd=tmp_path, env=env)

    example = tmp_path / "example"
    shutil.copytree(REPO / "examples", example,
                    ignore=shutil.ignore_patterns("models", "cache", "feature_cache"))
    _run(bin_dir / "streamz", "-q", "train", cwd=example, env=env)   # models sha256-checked
    out = _run(bin_dir / "streamz", "identify", "test/alice.flac", cwd=example, env=env)
    assert out.split("\t")[:2] == ["test/alice.flac", "alice"], out
