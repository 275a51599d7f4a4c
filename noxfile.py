"""Test, lint and type-check sessions. `nox` runs the default ones (what CI runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests", "tests_py39", "chaos", "notebook"]

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


def _link_gfal2(session: nox.Session) -> None:
    """Make Debian's gfal2 bindings (python3-gfal2, built for 3.11) importable in the venv.

    PyPI's gfal2-python does not build against Debian bookworm's gfal2, so the Debian module
    is symlinked in (not all of dist-packages, which would drag in Debian's old libraries).
    """
    listing = session.run(
        "dpkg", "-L", "python3-gfal2", external=True, silent=True, success_codes=[0, 1]
    )
    modules = [line for line in str(listing or "").splitlines() if line.endswith(".so")]
    if not modules:
        session.warn("python3-gfal2 is not installed: the gfal2 tests will skip (fail under CI)")
        return
    site = Path(str(session.virtualenv.location)) / "lib" / "python3.11" / "site-packages"
    session.run("ln", "-sf", modules[0], str(site), external=True)
    session.run("python", "-c", "import gfal2; print('gfal2', gfal2.get_version())")


def _launcher_wheels(session: nox.Session) -> str:
    """Wheels of what the zipapp bundles (requests & co., PyYAML) for the worker floor (3.9).

    The test venv's own requests may need a newer Python; `lrt launcher build --wheels` packs
    these instead. Fetched once from the package index, like every other test dependency, by
    the project's own downloader (the one `lrt launcher build --download` uses); it does
    nothing when the folder already holds one wheel of each bundled distribution.
    """
    folder = ROOT / ".nox" / "launcher-wheels-py39"
    session.run("python", "-m", "grid_lrt.client.zipapp.wheels", str(folder), "--if-incomplete")
    return str(folder)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Everything but the chaos harness, against a real CouchDB-compatible server
    (pouchdb-server unless COUCHDB_URL)."""
    _install_pouchdb(session)
    session.install("-e", ".", *TEST_DEPS)
    _link_gfal2(session)
    wheels = _launcher_wheels(session)
    session.run("pytest", "-m", "not chaos", *session.posargs, env={"LRT_LAUNCHER_WHEELS": wheels})


@nox.session(python=_python39())
def tests_py39(session: nox.Session) -> None:
    """The worker-side tests (shared + launcher) on Python 3.9, the oldest worker Python."""
    _install_pouchdb(session)
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", "-m", "worker and not gfal2", *session.posargs)


@nox.session(python="3.11")
def chaos(session: nox.Session) -> None:
    """The chaos harness (tests/chaos): launchers drain a pool through kill -9s, a frozen
    launcher, a server restart and a lossy network. The reduced size by default (CI);
    `nox -s chaos -- --full --runs 10` for the full size, `-- --seed S` to replay a run."""
    _install_pouchdb(session)
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", "tests/chaos", "-m", "chaos", *session.posargs)


@nox.session(python="3.11")
def notebook(session: nox.Session) -> None:
    """docs/tutorial.ipynb executed end to end by nbclient in a kernel of this venv, against the
    local on-disk server it starts and stops; fails on any cell error (tools/run_notebook.py,
    which also stops a server a failed notebook left running). `-- --timeout S` per cell,
    `-- --output out.ipynb` keeps the executed notebook."""
    _install_pouchdb(session)
    session.install("-e", ".", *PYPROJECT["dependency-groups"]["notebook"])
    session.run(
        "python",
        str(ROOT / "tools" / "run_notebook.py"),
        str(ROOT / "docs" / "tutorial.ipynb"),
        *session.posargs,
    )


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """The benchmark table (not run by CI): every benchmark in one run, each against its own
    loopback pouchdb-server, written to bench/RESULTS.md (bench/results.py; the figures in
    bench/RESULTS.json). `nox -s bench -- --quick` for quick sizes (about 10 minutes); the
    issue's sizes take many hours (a pool of 10^6 tokens). picas 1.1.2 goes into its own venv,
    bench/.venv-picas, on first use."""
    _install_pouchdb(session)
    session.install("-e", ".", *TEST_DEPS)
    _link_gfal2(session)
    session.run("python", str(ROOT / "bench" / "results.py"), *session.posargs)


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
