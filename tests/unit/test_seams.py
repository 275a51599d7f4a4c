"""The token-pool seam holds: no module outside the pool implementation handles a conflict.

Revisions (``_rev``), HTTP 409 and conflict rounds are the business of ``shared/pool/`` (on
top of the HTTP client ``shared/couch.py``, which turns a 409 into ``ConflictError``). Every
other module says what a write must achieve and lets the pool decide how. WebDAV's 409 (a
missing parent folder) is another protocol's word: the storage adapters may use it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]

POOL_IMPLEMENTATION = ("shared/pool/", "shared/couch.py", "shared/couch_errors.py")
WEBDAV = ("launcher/storage/",)


def _modules() -> Iterator[Tuple[str, ast.AST]]:
    for folder in ("client", "launcher", "shared"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(POOL_IMPLEMENTATION):
                yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def conflict_handling(rel: str, tree: ast.AST) -> List[str]:
    """What in ``tree`` handles a CouchDB conflict or revision (with its line)."""
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if name == "ConflictError":
            found.append(f"{rel}:{line}: ConflictError")
        elif isinstance(node, ast.alias) and node.name.endswith("ConflictError"):
            found.append(f"{rel}:{line}: imports ConflictError")
        elif isinstance(node, ast.Constant) and node.value == "conflict":
            found.append(f"{rel}:{line}: the 'conflict' error of a bulk answer")
        elif (
            isinstance(node, ast.Constant)
            and node.value == 409
            and type(node.value) is int
            and not rel.startswith(WEBDAV)
        ):
            found.append(f"{rel}:{line}: HTTP 409")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == "_rev"
        ):
            found.append(f"{rel}:{line}: reads or sets a document's _rev")
    return found


def test_no_module_outside_the_pool_handles_a_conflict() -> None:
    offenders = [hit for rel, tree in _modules() for hit in conflict_handling(rel, tree)]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "from grid_lrt.shared.couch import ConflictError\n",
        "try:\n    db.save(doc)\nexcept couch.ConflictError:\n    pass\n",
        "if answer.get('error') == 'conflict':\n    retry()\n",
        "if exc.status == 409:\n    retry()\n",
        "doc['_rev'] = result['rev']\n",
    ],
)
def test_the_check_sees_each_way_of_handling_a_conflict(source: str) -> None:
    assert conflict_handling("client/example.py", ast.parse(source))
