"""Our own pouchdb-server, in memory on a free loopback port, and the pid of a running one."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional, Tuple

from benchlib import repo_on_path


@contextlib.contextmanager
def own_pouchdb_server() -> Iterator[Tuple[Any, Path]]:
    """pouchdb-server (``tests/support/pouchdb.py``) in memory on a free loopback port.

    Yields ``(server, folder)``: a ``tests.support.couchdb.CouchServer`` (``url``, ``user``,
    ``password``, ``kind``) and the server's working folder, whose ``log.txt`` is its request
    log (``[info] ... 127.0.0.1 - - PUT /db/doc 409``). The server is stopped and the folder
    removed afterwards. Exits if node is not installed.
    """
    repo_on_path()
    from tests.support.pouchdb import ensure_pouchdb_installed, pouchdb_server

    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed: cannot start pouchdb-server (or give --url)")
    with tempfile.TemporaryDirectory(prefix="bench-pouchdb-") as tmp:
        folder = Path(tmp) / "couch"
        with pouchdb_server(folder, node, ensure_pouchdb_installed()) as srv:
            yield srv, folder


def server_pid(url: str) -> Optional[int]:
    """The pid of the pouchdb-server listening on ``url``'s port (from /proc; None if unknown)."""
    port = url.rsplit(":", 1)[-1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"pouchdb-server" in a for a in argv) and port.encode() in argv:
            return int(entry.name)
    return None
