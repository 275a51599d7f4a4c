"""Test, lint and type-check sessions. `nox` runs the default ones (what CI runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests", "tests_py39"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
TEST_DEPS = PYPROJECT["dependency-groups"]["test"]


def _python39() -> str:
    """The Python 3.9 interpreter (the worker-node floor): PATH, then pyenv's folder."""
    found = shutil.which("python3.9")
    pyenv = sorted((Path.home() / ".pyenv" / "versions").glob("3.9*/bin/python3.9"))
    return str(pyenv[-1]) if pyenv else (found or "python3.9")


def _install_pouchdb(session: nox.Session) -> None:
    session.run("bash", str(ROOT / "tools" / "install-pouchdb.sh"), external=True)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Everything, against a real CouchDB-compatible server (pouchdb-server unless COUCHDB_URL)."""
    _install_pouchdb(session)
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", *session.posargs)


@nox.session(python=_python39())
def tests_py39(session: nox.Session) -> None:
    """The worker-side tests (shared + launcher) on Python 3.9, the oldest worker Python."""
    _install_pouchdb(session)
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", "-m", "worker", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install(*PYPROJECT["dependency-groups"]["lint"])
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict over grid_lrt.* (a symlink tree maps the folders onto the namespace)."""
    session.install("-e", ".", *PYPROJECT["dependency-groups"]["typecheck"])
    tree = ROOT / "typecheck-tree" / "grid_lrt"
    shutil.rmtree(tree.parent, ignore_errors=True)
    tree.mkdir(parents=True)
    for name in ("client", "launcher", "shared"):
        (tree / name).symlink_to(ROOT / name, target_is_directory=True)
    session.run("mypy", *session.posargs)
