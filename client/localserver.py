"""A local CouchDB-compatible server (pouchdb-server) for the demo, development and the tests.

Never for production: pouchdb-server runs without CouchDB 3's ``_security`` defaults. It is
found at ``$LRT_POUCHDB_SERVER``, in the source tree's ``tools/couch`` (installed by
``tools/install-pouchdb.sh``), or as ``pouchdb-server`` on ``PATH``; Node.js runs it.

:func:`local_server` starts it for the length of a ``with`` block. ``lrt demo`` uses the
defaults (in memory, a random admin password that never leaves this process); the test suite's
fixture and the benchmarks (tests/support/pouchdb.py) add admin/admin, retries, and the
stop-with-pytest options. ``lrt server`` (:mod:`grid_lrt.client.serverctl`) starts a detached,
on-disk one with the same private pieces: the config, the command line, the wait for an
answer. This module also runs on Python 3.9: the worker-side test session starts its server
through it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import requests

from grid_lrt.shared.errors import LrtError

__all__ = [
    "TREE_POUCHDB_SERVER",
    "LocalServer",
    "LocalServerError",
    "find_node",
    "find_pouchdb_server",
    "free_loopback_port",
    "local_server",
    "welcome_document",
]

log = logging.getLogger(__name__)

#: Where ``tools/install-pouchdb.sh`` puts the entry point in a source tree (editable install).
TREE_POUCHDB_SERVER = (
    Path(__file__).resolve().parents[1]
    / "tools/couch/node_modules/pouchdb-server/bin/pouchdb-server"
)

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds until the welcome document must answer
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
CONSOLE = "server.out"  # pouchdb-server's stdout and stderr, in the working folder


class LocalServerError(LrtError):
    """The local server could not be started (it exited, did not answer, or had no place)."""


@dataclass(frozen=True)
class LocalServer:
    """A running local server: its URL (no credentials), admin login and working folder.

    ``workdir`` holds ``config.json``, the request log ``log.txt`` and the console output
    ``server.out``; a temporary one is gone once the server has stopped.
    """

    url: str
    user: str
    password: str = field(repr=False)
    workdir: Path


def find_node() -> str:
    """The Node.js executable on ``PATH``, or a clear error saying how to install it."""
    node = shutil.which("node")
    if node is None:
        raise LrtError("Node.js is not installed", hint="apt-get install nodejs npm")
    return node


def find_pouchdb_server() -> Path:
    """The pouchdb-server entry point, or a clear error saying how to install it."""
    candidates = [
        os.environ.get("LRT_POUCHDB_SERVER", ""),
        str(TREE_POUCHDB_SERVER),
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


def free_loopback_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (another process may take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _bindable(port: int) -> bool:
    """True when nothing listens on ``port`` of 127.0.0.1 (connections of a server that has
    stopped, in TIME_WAIT, do not count: pouchdb-server binds with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def _require_free(port: int, hint: str) -> None:
    """Raise :class:`LocalServerError` (with ``hint``) when something listens on ``port``."""
    if not _bindable(port):
        raise LocalServerError(f"port {port} on {LOOPBACK} is in use", hint=hint)


def welcome_document(url: str, timeout: float = 2.0) -> Optional[Dict[str, Any]]:
    """GET ``url/`` and return the welcome JSON, or None if the server doesn't answer (yet).

    Apache CouchDB answers ``{"couchdb": "Welcome", ...}``, pouchdb-server
    ``{"express-pouchdb": "Welcome", ...}``.
    """
    try:
        r = requests.get(url + "/", headers={"Accept": "application/json"}, timeout=timeout)
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return None
    try:
        data = r.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def local_server(
    workdir: Optional[Path] = None,
    *,
    user: str = "admin",
    password: Optional[str] = None,
    data_dir: Optional[Path] = None,
    port: Optional[int] = None,
    node: Optional[str] = None,
    entry: Optional[Path] = None,
    timeout: float = START_TIMEOUT,
    attempts: int = 1,
    die_with_parent: bool = False,
    stop_at_exit: bool = False,
) -> Iterator[LocalServer]:
    """Start pouchdb-server on a loopback port with one admin; stop it on exit.

    - ``workdir``: its working folder (config.json, log.txt, server.out); it must be empty or
      new, because pouchdb-server would reuse the admins of an old config.json. Default: a fresh
      temporary folder, removed afterwards.
    - ``password``: the admin's; default a random one that lives only in this process and in
      ``config.json`` (never in argv, logs or messages; the server hashes it at start-up).
    - ``data_dir``: keep the databases in this folder (created if needed, reused if not empty)
      instead of in memory.
    - ``port``: listen on this loopback port instead of a free one, so that a server stopped
      and started again (same ``data_dir``, a new ``workdir``) keeps its URL; every attempt
      uses it.
    - ``node``, ``entry``: Node.js and the pouchdb-server entry point; default
      :func:`find_node` and :func:`find_pouchdb_server`.
    - ``attempts``: starts again, with a new port unless ``port`` is given, when the server
      exits before answering (a port taken between picking and binding makes it exit).
    - ``die_with_parent`` (Linux): the kernel SIGTERMs the server when the thread that started
      it dies, even by SIGKILL. Uses ``preexec_fn``: start it from the main thread.
    - ``stop_at_exit``: stop the server at interpreter exit if this context is never left.

    Raises :class:`~grid_lrt.shared.errors.LrtError` without Node.js or pouchdb-server, and
    :class:`LocalServerError` when the server cannot be started.
    """
    node = node or find_node()
    entry = entry or find_pouchdb_server()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lrt-couch-")))
        workdir.mkdir(parents=True, exist_ok=True)
        if any(workdir.iterdir()):
            raise LocalServerError(
                f"pouchdb-server needs an empty working folder, {workdir} is not",
                hint="give a new folder (an old config.json would bring back old admins)",
            )
        password = password if password is not None else secrets.token_urlsafe(16)
        _write_config(workdir / "config.json", user, password)
        storage = ["--in-memory"]
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            storage = ["-d", str(data_dir.resolve())]
        failures: List[str] = []
        for _attempt in range(max(1, attempts)):
            listen = port if port is not None else free_loopback_port()
            if port is not None:
                # Another server there would answer for ours; say so rather than yield it.
                _require_free(
                    port, "stop what listens there (an earlier server?) or give another port"
                )
            url = f"http://{LOOPBACK}:{listen}"
            proc = _spawn(_command(node, entry, storage, listen), workdir, die_with_parent)
            stopper = functools.partial(_stop, proc, 1.0)
            if stop_at_exit:
                atexit.register(stopper)  # safety net if this generator is never finalised
            try:
                failure = _start_failure(proc, url, timeout, workdir, password)
                if failure is None:
                    log.info("local pouchdb-server on %s (workdir %s)", url, workdir)
                    yield LocalServer(url, user, password, workdir)
                    return
                failures.append(failure)
            finally:
                _stop(proc)
                if stop_at_exit:
                    atexit.unregister(stopper)
        if len(failures) == 1:
            raise LocalServerError(failures[0])
        raise LocalServerError(
            f"pouchdb-server did not start in {len(failures)} attempts; the last: {failures[-1]}"
        )


def _write_config(path: Path, user: str, password: str) -> None:
    """config.json with the admin, readable by us only (the plain password is hashed at start)."""
    _write_new_private(path, json.dumps({"admins": {user: password}}))


def _write_new_private(path: Path, text: str) -> None:
    """Create ``path`` (it must not exist) with ``text``, readable by us only (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _command(node: str, entry: Path, storage: List[str], port: int) -> List[str]:
    """pouchdb-server's command line: ``storage`` (``--in-memory`` or ``-d DIR``), a loopback
    ``port``, no request log on stdout. No secret goes on it (``ps`` shows it to everyone)."""
    return [node, "--unhandled-rejections=warn", str(entry), *storage,
            "-p", str(port), "-o", LOOPBACK, "-n"]  # fmt: skip


def _spawn(
    command: List[str], workdir: Path, die_with_parent: bool, *, detach: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``command`` in ``workdir``, its console into ``server.out`` there. ``detach``: in
    a session of its own, so that it outlives its starter (and a closed terminal)."""
    preexec: Optional[Callable[[], None]] = None
    if die_with_parent and sys.platform.startswith("linux"):
        preexec = _die_with_parent
    with (workdir / CONSOLE).open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,  # noqa: PLW1509 - documented: start from the main thread
            start_new_session=detach,
        )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the server when its parent dies without stopping it."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _answers(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    """Wait until the server answers or exits: True then, False when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and welcome_document(url, 1.0) is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _start_failure(
    proc: subprocess.Popen[bytes], url: str, timeout: float, workdir: Path, password: str
) -> Optional[str]:
    """None once the just started server answers on ``url``; what went wrong (its console, the
    password masked) when it exited first.

    Raises:
        LocalServerError: it neither answered nor exited within ``timeout`` seconds.
    """
    if not _answers(proc, url, timeout):
        raise LocalServerError(
            f"pouchdb-server did not answer on {url} within {timeout:.0f} s:\n"
            + _console_tail(workdir, password)
        )
    if proc.poll() is None:
        return None
    return f"pouchdb-server exited with status {proc.returncode}:\n" + _console_tail(
        workdir, password
    )


def _stop(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; reaps the process."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


def _console_tail(workdir: Path, password: str, lines: int = 20) -> str:
    """The last lines of the server's console, the admin password masked (belt and braces)."""
    try:
        text = (workdir / CONSOLE).read_text(errors="replace")
    except OSError:
        return "(no console output)"
    tail = "\n".join(text.splitlines()[-lines:]) or "(no console output)"
    return tail.replace(password, "***") if password else tail
