"""pouchdb-server for the tests and the benchmarks, on top of the package's one spawner.

:func:`grid_lrt.client.localserver.local_server` starts and stops the server; this layer adds
what a test session needs: an install with ``tools/install-pouchdb.sh`` when none is found
(serialised between pytest-xdist workers), admin/admin, three attempts (a port taken between
picking and binding), the kernel's stop-with-pytest (PR_SET_PDEATHSIG) and an atexit safety net.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from grid_lrt.client.localserver import find_pouchdb_server, local_server, welcome_document
from grid_lrt.shared.errors import LrtError
from tests.support.couchdb import ADMIN_PASSWORD, ADMIN_USER, CouchServer, kind_of, unavailable

ROOT = Path(__file__).resolve().parents[2]
COUCH_TOOLS_DIR = ROOT / "tools" / "couch"
POUCHDB_BIN = COUCH_TOOLS_DIR / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
INSTALL_SCRIPT = ROOT / "tools" / "install-pouchdb.sh"
INSTALL_TIMEOUT = 600.0

NODE_HINT = "install Node.js 18+ and npm: apt-get install nodejs npm; then tools/install-pouchdb.sh"


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise installs (pytest-xdist workers) without writing into the repo."""
    digest = hashlib.sha256(str(COUCH_TOOLS_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"grid-lrt-install-pouchdb-{digest}.lock"
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_pouchdb_installed(why_no_other: str = "") -> Path:
    """The pouchdb-server entry point (as ``lrt`` finds it), installed into tools/couch if none.

    ``why_no_other`` (e.g. "COUCHDB_URL unset, no docker CLI") prefixes the skip/fail reason.
    """
    prefix = f"no CouchDB server: {why_no_other}, " if why_no_other else "no CouchDB server: "
    with contextlib.suppress(LrtError):
        return find_pouchdb_server()
    if shutil.which("npm") is None:
        unavailable(f"{prefix}pouchdb-server not installed and npm missing ({NODE_HINT})")
    with _install_lock():
        if POUCHDB_BIN.is_file():
            return POUCHDB_BIN
        try:
            proc = subprocess.run(
                ["bash", str(INSTALL_SCRIPT)],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            unavailable(f"{prefix}{INSTALL_SCRIPT} timed out after {INSTALL_TIMEOUT:.0f} s")
        if proc.returncode != 0 or not POUCHDB_BIN.is_file():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            unavailable(f"{prefix}{INSTALL_SCRIPT} failed (exit {proc.returncode}):\n{tail}")
        sys.stderr.write(proc.stdout)
    return POUCHDB_BIN


@contextlib.contextmanager
def pouchdb_server(
    workdir: Path, node: str | None = None, bin_path: Path | None = None
) -> Iterator[CouchServer]:
    """Run pouchdb-server in memory on a free loopback port with admin/admin, in ``workdir``.

    ``workdir`` must be new or empty: pouchdb-server writes config.json and log.txt (its request
    log) into it and would reuse admins from an old config.json. ``node`` and ``bin_path``
    default to what ``lrt`` finds. Raises ``LocalServerError`` when the server does not start.
    """
    with local_server(
        workdir,
        user=ADMIN_USER,
        password=ADMIN_PASSWORD,
        node=node,
        entry=bin_path,
        attempts=3,
        die_with_parent=True,  # pytest starts this from its main thread
        stop_at_exit=True,
    ) as local:
        welcome = welcome_document(local.url, 5.0) or {}
        yield CouchServer(
            url=local.url,
            user=local.user,
            password=local.password,
            kind=kind_of(welcome, local.url),
        )
