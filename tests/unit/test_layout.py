"""Repository layout rules: import boundaries, the worker's Python floor, packaging."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: str) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue  # virtualenvs (bench/.venv-picas) and caches are not our code
        names: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.ImportFrom) and node.level > 1:
                names.add("<relative import leaving the package>")
        found[path] = names
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        # launcher/ may import yaml (the zipapp bundles PyYAML); shared/ stays without it.
        # packaging is the client's (lrt launcher build); the zipapp does not bundle it.
        (
            "shared",
            ("grid_lrt.client", "grid_lrt.launcher", "client", "launcher", "yaml", "packaging"),
        ),
        ("launcher", ("grid_lrt.client", "client", "packaging")),
    ],
)
def test_import_boundaries(folder: str, forbidden: tuple[str, ...]) -> None:
    for path, names in _imports(folder).items():
        for name in names:
            assert not any(name == f or name.startswith(f + ".") for f in forbidden), (
                f"{path.relative_to(ROOT)} imports {name}"
            )
            assert name != "<relative import leaving the package>", path


def test_no_bare_top_level_import_names() -> None:
    for folder in ("client", "launcher", "shared", "tests", "bench"):
        for path, names in _imports(folder).items():
            bad = {n for n in names if n.split(".")[0] in ("client", "launcher", "shared")}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}; use grid_lrt.*"


@pytest.mark.parametrize("folder", ["shared", "launcher"])
def test_worker_code_parses_as_python_39(folder: str) -> None:
    for path in (ROOT / folder).rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        ast.parse(source, filename=str(path), feature_version=(3, 9))
        assert "from __future__ import annotations" in source or len(source) < 200, path
