"""A local CouchDB-compatible server (pouchdb-server, in memory) for the demo and development.

Never for production: pouchdb-server runs without CouchDB 3's ``_security`` defaults. It is
found at ``$LRT_POUCHDB_SERVER``, in the source tree's ``tools/couch`` (installed by
``tools/install-pouchdb.sh``), or as ``pouchdb-server`` on ``PATH``; Node.js runs it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import requests

from grid_lrt.shared.errors import LrtError

__all__ = ["LocalServer", "find_pouchdb_server", "local_server"]

log = logging.getLogger(__name__)

_TREE_BIN = (
    Path(__file__).resolve().parents[1]
    / "tools/couch/node_modules/pouchdb-server/bin/pouchdb-server"
)


@dataclass(frozen=True)
class LocalServer:
    """A running local server: its URL (no credentials) and admin login."""

    url: str
    user: str
    password: str = field(repr=False)


def find_pouchdb_server() -> Path:
    """The pouchdb-server entry point, or a clear error saying how to install it."""
    candidates = [
        os.environ.get("LRT_POUCHDB_SERVER", ""),
        str(_TREE_BIN),
        shutil.which("pouchdb-server") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise LrtError(
        "no local CouchDB-compatible server found (pouchdb-server)",
        hint="run tools/install-pouchdb.sh in the grid-lrt source tree (needs Node.js and npm), "
        "or set LRT_POUCHDB_SERVER to a pouchdb-server executable",
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_server(workdir: Optional[Path] = None, *, timeout: float = 30.0) -> Iterator[LocalServer]:
    """Start pouchdb-server in memory on a free loopback port; stop it on exit.

    The admin password is random and lives only in this process and the server's
    ``config.json`` inside ``workdir`` (a fresh temporary folder by default).
    """
    node = shutil.which("node")
    if node is None:
        raise LrtError("Node.js is not installed", hint="apt-get install nodejs npm")
    entry = find_pouchdb_server()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lrt-couch-")))
        workdir.mkdir(parents=True, exist_ok=True)
        user, password = "admin", secrets.token_urlsafe(16)
        (workdir / "config.json").write_text(json.dumps({"admins": {user: password}}), "utf-8")
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with (workdir / "server.log").open("ab") as out:
            proc = subprocess.Popen(
                [node, "--unhandled-rejections=warn", str(entry), "--in-memory",
                 "-p", str(port), "-o", "127.0.0.1", "-n"],
                cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise LrtError(
                        f"pouchdb-server exited with status {proc.returncode}; "
                        f"see {workdir / 'server.log'}"
                    )
                try:
                    requests.get(url, timeout=1).raise_for_status()
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise LrtError(
                            f"pouchdb-server did not answer on {url} within {timeout:.0f} s"
                        ) from None
                    time.sleep(0.1)
            log.info("local pouchdb-server on %s (workdir %s)", url, workdir)
            yield LocalServer(url, user, password)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
