"""``lrt server``: a local CouchDB-compatible server kept on disk, between commands.

pouchdb-server (see :mod:`grid_lrt.client.localserver`) runs detached, in a session of its own,
so that it outlives ``lrt server start``; a second start resumes the same databases. One
folder (default :func:`default_folder`) holds everything::

    <folder>/data/        the databases, kept when the server stops
    <folder>/run/         pouchdb-server's working folder (config.json, log.txt, server.out),
                          emptied at each start: an old config.json would bring back old admins
    <folder>/server.json  the running server: url, port, pid, database, started
    <folder>/picasrc      url=, user=, password=, database= (mode 0600), for PICASRC=
    <folder>/lock         serialises starts and stops (flock): one server per folder

The admin password is random at the first start and lives in picasrc only (never on a
command line, in server.json or in a message); later starts reuse it, and the port of
picasrc's ``url=``, so what was handed to users and pilots stays valid. When another program
holds that port, :func:`start_server` refuses with a hint; ``port=`` moves the server and
rewrites picasrc. Never for production: pouchdb-server has no CouchDB 3 ``_security``
defaults.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator, Optional
from urllib.parse import urlsplit

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import UsageError

from .localserver import (
    LOOPBACK,
    LocalServerError,
    _command,
    _require_free,
    _spawn,
    _start_failure,
    _stop,
    _write_config,
    _write_new_private,
    find_node,
    find_pouchdb_server,
    free_loopback_port,
    welcome_document,
)

__all__ = [
    "DEFAULT_DATABASE",
    "ServerState",
    "default_folder",
    "server_status",
    "start_server",
    "stop_server",
]

DEFAULT_DATABASE = "lrt"
ADMIN = "admin"
STATE = "server.json"
PICASRC = "picasrc"
#: CouchDB's rule for database names.
_DB_NAME = re.compile(r"[a-z][a-z0-9_$()+/-]*\Z")

#: The servers this process started, by pid: stop_server reaps them (no zombie, no warning).
_spawned: Dict[int, subprocess.Popen[bytes]] = {}


def default_folder() -> Path:
    """``$LRT_SERVER_DIR``, else ``~/.local/share/grid-lrt/server``."""
    folder = os.environ.get("LRT_SERVER_DIR")
    return Path(folder).expanduser() if folder else Path.home() / ".local/share/grid-lrt/server"


@dataclass(frozen=True)
class ServerState:
    """A running server of a folder: its URL (no credentials), process id, the folder, the
    picasrc with its login (``PICASRC=`` it) and the database named there."""

    url: str
    pid: int
    folder: Path
    picasrc: Path
    database: str


def start_server(
    folder: Path,
    *,
    port: Optional[int] = None,
    database: str = DEFAULT_DATABASE,
    timeout: float = 30.0,
) -> ServerState:
    """Start the server of ``folder`` (created 0700) and create ``database`` on it; when it
    runs already, return its state (``database`` is then not looked at).

    ``port``: listen there (picasrc is rewritten with the new URL); default the port of
    picasrc's ``url=``, a free one at the first start.

    Raises:
        UsageError: a bad database name, port or folder, or ``port`` differs from the
            running server's.
        LocalServerError: the port is taken, the server does not start, or a server of the
            folder runs but does not answer.
        LrtError: no Node.js or pouchdb-server.
    """
    if not _DB_NAME.match(database):
        raise UsageError(
            f"{database!r} is no CouchDB database name",
            hint="start with a lowercase letter; then lowercase letters, digits and _$()+-/",
        )
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"port {port} is no TCP port", hint="give a port from 1024 to 65535")
    node, entry = find_node(), find_pouchdb_server()
    folder = _home(folder)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot keep the server in {folder}: {exc.strerror}", hint="give another --dir"
        ) from exc
    with _locked(folder):
        running = _recorded(folder)
        if running is not None:
            if welcome_document(running.url) is None:
                raise LocalServerError(
                    f"the server of {folder} (pid {running.pid}) does not answer on {running.url}",
                    hint=f"stop it and start again: lrt server stop --dir {folder}",
                )
            if port is not None and _port_of(running.url) != port:
                raise UsageError(
                    f"the server of {folder} runs already, on {running.url}",
                    hint=f"stop it first to move it: lrt server stop --dir {folder}",
                )
            return running
        (folder / STATE).unlink(missing_ok=True)  # stale: its process is gone
        return _launch(
            folder, node=node, entry=entry, port=port, database=database, timeout=timeout
        )


def server_status(folder: Path) -> Optional[ServerState]:
    """The running server of ``folder``, or None when none runs (or it does not answer)."""
    state = _recorded(_home(folder))
    return state if state is not None and welcome_document(state.url) is not None else None


def stop_server(folder: Path, *, grace: float = 5.0) -> bool:
    """Stop the server of ``folder`` (SIGTERM, SIGKILL after ``grace`` seconds); the data
    stays. True when it was running and is now stopped, False when none ran.

    Raises:
        LocalServerError: the process did not go away even after SIGKILL.
    """
    folder = _home(folder)
    if not (folder / STATE).exists():
        return False
    with _locked(folder):
        state = _recorded(folder)
        if state is not None:
            _terminate(state.pid, folder / "data", grace)
        (folder / STATE).unlink(missing_ok=True)
        return state is not None


def _home(folder: Path) -> Path:
    """The folder as an absolute path (the server's command line names its data folder)."""
    return folder.expanduser().resolve()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock: one start or stop at a time (threads and processes)."""
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _launch(
    folder: Path, *, node: str, entry: Path, port: Optional[int], database: str, timeout: float
) -> ServerState:
    """Start a new server in ``folder`` (under its lock), record it and create ``database``."""
    settings = _settings(folder / PICASRC)
    password = settings.get("password") or secrets.token_urlsafe(16)
    hint = "stop what listens there or give another port"
    if port is None:  # the port of the URL handed out, if any
        port = _port_of(settings.get("url", ""))
        hint = f"another program has the port of {folder / PICASRC}: stop it, or move the "
        hint += f"server (its picasrc is rewritten): lrt server start --dir {folder} --port N"
    if port is not None:
        _require_free(port, hint)
    port = port or free_loopback_port()
    url = f"http://{LOOPBACK}:{port}"
    lines = [f"url={url}", f"user={ADMIN}", f"password={password}", f"database={database}"]
    _write_private(folder / PICASRC, "\n".join(lines) + "\n")
    run, data = folder / "run", folder / "data"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(mode=0o700)
    data.mkdir(mode=0o700, exist_ok=True)
    _write_config(run / "config.json", ADMIN, password)
    proc = _spawn(
        _command(node, entry, ["-d", str(data)], port), run, die_with_parent=False, detach=True
    )
    try:
        failure = _start_failure(proc, url, timeout, run, password)
        if failure is not None:
            raise LocalServerError(failure, hint=f"its console: {run / 'server.out'}")
        state = ServerState(url, proc.pid, folder, folder / PICASRC, database)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = {"url": url, "port": port, "pid": proc.pid, "database": database, "started": now}
        _write_private(folder / STATE, json.dumps(record, indent=2) + "\n")
        CouchDB(url, database, user=ADMIN, password=password).create()
    except BaseException:
        _stop(proc, 1.0)
        (folder / STATE).unlink(missing_ok=True)
        raise
    _spawned[proc.pid] = proc
    return state


def _recorded(folder: Path) -> Optional[ServerState]:
    """The server server.json records, when its process is alive and is that server."""
    try:
        record = json.loads((folder / STATE).read_text(encoding="utf-8"))
        url, pid, database = str(record["url"]), int(record["pid"]), str(record["database"])
        state = ServerState(url, pid, folder, folder / PICASRC, database)
    except (OSError, ValueError, KeyError, TypeError):  # none, or not one we wrote
        return None
    return state if _is_server(state.pid, folder / "data") else None


def _is_server(pid: int, data: Path) -> bool:
    """True while ``pid`` is alive and is the pouchdb-server of ``data`` (/proc/PID/cmdline;
    without /proc, alive is enough and the welcome document decides)."""
    child = _spawned.get(pid)
    if pid <= 0 or (child is not None and child.poll() is not None):
        _spawned.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except OSError:  # gone, or another user's
        return False
    if not Path("/proc/self").is_dir():
        return True
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return str(data) in argv and any("pouchdb-server" in word for word in argv)


def _terminate(pid: int, data: Path, grace: float) -> None:
    """SIGTERM, SIGKILL after ``grace`` seconds; wait until the process is gone."""
    child = _spawned.pop(pid, None)
    if child is not None:
        _stop(child, grace)  # our own child: wait for it, reap it
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while _is_server(pid, data):
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        else:
            return
    raise LocalServerError(
        f"pouchdb-server (pid {pid}) did not stop", hint=f"kill it by hand: kill -9 {pid}"
    )


def _settings(path: Path) -> Dict[str, str]:
    """The ``key=value`` lines of the folder's picasrc; empty when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    pairs = (line.partition("=") for line in text.splitlines())
    return {key.strip(): value.strip() for key, sep, value in pairs if sep}


def _port_of(url: str) -> Optional[int]:
    """The port of a loopback ``http://127.0.0.1:PORT`` URL, else None."""
    try:
        parts = urlsplit(url)
        return parts.port if parts.hostname == LOOPBACK else None
    except ValueError:
        return None


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once, readable by us only (mode 0600)."""
    temporary = path.with_name(f".{path.name}.tmp")  # written under the folder's lock
    temporary.unlink(missing_ok=True)
    _write_new_private(temporary, text)
    temporary.replace(path)
