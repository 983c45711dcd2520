"""pyproject.toml declares exactly the third-party packages that src/ imports."""

import ast
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")        # Python 3.11+

REPO = Path(__file__).resolve().parents[1]
#: Import name -> distribution name, where they differ.
DISTRIBUTION = {"sklearn": "scikit-learn"}


def _imported() -> dict[str, set[str]]:
    """Top-level third-party modules imported under src/streamz_speaker, with the files importing them."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "src" / "streamz_speaker").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "streamz_speaker":
                    found.setdefault(DISTRIBUTION.get(top, top), set()).add(path.name)
    return found


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(requirements) -> set[str]:
    return {r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0]
            .strip().lower() for r in requirements}


def test_every_import_is_declared_and_every_dependency_imported():
    project = _project()
    imported = _imported()
    extras = {"report": {"matplotlib"}, "serve": {"fastapi", "uvicorn", "websockets"},
              "dask": {"distributed"}}
    optional = set().union(*extras.values())
    assert set(imported) - optional == _names(project["dependencies"]), imported
    for extra, packages in extras.items():
        assert packages <= set(imported)
        assert _names(project["optional-dependencies"][extra]) == packages


def test_the_test_extra_pulls_every_other_extra():
    extras = _project()["optional-dependencies"]
    project_name = _project()["name"]
    pulled = set()
    for requirement in extras["test"]:
        if requirement.startswith(f"{project_name}["):
            pulled |= set(requirement[len(project_name) + 1:-1].split(","))
    assert set(extras) - {"test"} <= pulled
