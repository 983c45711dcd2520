"""The package's layout: capabilities over a shared core, imports only ever going down a floor.

Floors, bottom up: ``core`` (audio, settings, errors, file I/O, model assets, worker pool,
bootstrap intervals); ``diarization``; ``speaker_id`` (which runs the CAM++ model through
diarization's embedding code and names diarized speakers); ``live``, ``batch``, ``report``
and ``transcript``, side by side; ``cli``; and the package's top level (the public API). A
module may import from its own subpackage or from a lower floor, never from a higher one or
from a neighbour on its own floor.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "streamz_speaker"
FLOORS = {"core": 0, "diarization": 1, "speaker_id": 2, "live": 3, "batch": 3, "report": 3,
          "transcript": 3, "cli": 4, "": 5}


def _subpackage(module: str) -> str:
    """``streamz_speaker.core.audio`` -> ``core``; the top-level modules -> ``""``."""
    parts = module.split(".")[1:]
    return parts[0] if len(parts) > 1 or (parts and (PACKAGE / parts[0]).is_dir()) else ""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """Absolute names of the package's modules that ``path`` imports, anywhere in it."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("streamz_speaker"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                yield ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("streamz_speaker"):
                yield node.module


def test_every_subpackage_has_a_floor():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(FLOORS) - {""}


def test_imports_only_go_down():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        own = _subpackage(_module_name(path))
        for imported in _imports(path):
            other = _subpackage(imported)
            if other != own and FLOORS[other] >= FLOORS[own]:
                wrong.append(f"{path.relative_to(REPO)} imports {imported}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("folder", ["src", "tests", "benchmarks", "scripts"])
def test_nothing_imports_the_old_top_level_name(folder):
    """``streamz`` on the package index is python-streamz; our code never imports it."""
    found = []
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            found += [f"{path.relative_to(REPO)}: {n}" for n in names
                      if n == "streamz" or n.startswith("streamz.")]
    assert not found, "\n".join(found)
