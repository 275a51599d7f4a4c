"""The processes of a chaos run: the restartable server and the launchers, with their logs.

- :class:`Server`: pouchdb-server on a data folder and a fixed loopback port, so that a stop
  and a start (a new working folder, the same data and admin) look to the launchers like a
  CouchDB that restarts;
- :class:`Launcher`: one ``python -m grid_lrt.launcher run TYPE`` process in a folder of its
  own (``jobs/``, ``stderr.log``, ``marker.txt``), with the signals the harness sends: SIGKILL
  of the whole process tree (a node that dies), SIGSTOP/SIGCONT of the launcher (a node that
  freezes, its pipeline running on);
- :class:`LogEvents`: what a launcher's log says, read as it grows (claims, runs, done, lost,
  commits), the harness's view of progress that needs no server.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from grid_lrt.client.localserver import (
    LocalServerError,
    free_loopback_port,
    local_server,
    welcome_document,
)
from tests.support.couchdb import CouchServer
from tests.support.launcher_kit import launcher_env

__all__ = ["Launcher", "LogEvents", "Server"]


class Server:
    """pouchdb-server on ``root/data``, on one port for its whole life; stop/start it.

    The port is taken below the kernel's ephemeral range when it can be: while the server is
    down, no connection anywhere on the machine gets it as its local port, so the restart
    finds it free.
    """

    def __init__(self, root: Path, password: str, rng: random.Random) -> None:
        self.root = root
        self.data = root / "data"
        self.password = password
        self.port = _quiet_port(rng)
        self.starts = 0
        self._stack: Optional[contextlib.ExitStack] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def couch(self) -> CouchServer:
        return CouchServer(self.url, "admin", self.password, "pouchdb-server")

    def start(self, patience: float = 20.0) -> float:
        """Start it (a new working folder, the same data folder); returns when it answered.
        A port still held (by what?) is tried again for ``patience`` seconds."""
        assert self._stack is None, "the server is running"
        deadline = time.monotonic() + patience
        while True:
            self.starts += 1
            stack = contextlib.ExitStack()
            try:
                stack.enter_context(
                    local_server(
                        self.root / f"run{self.starts}",
                        password=self.password,
                        data_dir=self.data,
                        port=self.port,
                        attempts=3,
                        die_with_parent=True,
                        stop_at_exit=True,
                    )
                )
            except LocalServerError as exc:
                if "in use" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            self._stack = stack
            return time.time()

    def stop(self) -> float:
        """Stop it (SIGTERM, SIGKILL after 5 s); returns once the port refuses connections."""
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        deadline = time.monotonic() + 30
        while welcome_document(self.url, 0.5) is not None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the server on {self.url} still answers 30 s after its stop")
            time.sleep(0.1)
        return time.time()

    @property
    def running(self) -> bool:
        return self._stack is not None


def _quiet_port(rng: random.Random) -> int:
    """A free loopback port below the ephemeral range (Linux), else any free one."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    for _ in range(50):
        if low <= 12000:
            break
        port = rng.randrange(10000, low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_loopback_port()


# -- log lines of the launcher (shared/pool/claiming.py, launcher/runner.py, session.py,
#    upload_commit.py) ------------------------------------------------------------------------
_CLAIMED = re.compile(r"\bclaimed (\S+) \(attempt (\d+)\)")
_RUNNING = re.compile(r"\btoken (\S+): running ")
_DONE = re.compile(r"\btoken (\S+): done$")
_LOST = re.compile(r"\btoken (\S+) is no longer ours\b(?:.*\bours (\d+)\))?")
_COMMITTED = re.compile(r"\bcommitted \d+ result file\(s\) of attempt (\d+)")

Run = Tuple[str, int]  # (token id, attempt): one claim, hence one run, of a token


@dataclass
class LogEvents:
    """The launcher's log, parsed line by line as it grows (``feed``)."""

    attempts: Dict[str, int] = field(default_factory=dict)  # token -> attempt last claimed
    claimed: List[Run] = field(default_factory=list)
    done: List[Run] = field(default_factory=list)
    lost: List[Run] = field(default_factory=list)
    committed: List[Run] = field(default_factory=list)
    current: Optional[Run] = None  # the run whose pipeline started last
    lines: int = 0
    _partial: str = ""

    def feed(self, text: str) -> None:
        text, self._partial = self._partial + text, ""
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for the rest
        for line in lines:
            self.lines += 1
            self._line(line)

    def _line(self, line: str) -> None:
        if match := _CLAIMED.search(line):
            run = (match[1], int(match[2]))
            self.attempts[run[0]] = run[1]
            self.claimed.append(run)
        elif match := _RUNNING.search(line):
            self.current = (match[1], self.attempts.get(match[1], 0))
        elif match := _DONE.search(line):
            self.done.append((match[1], self.attempts.get(match[1], 0)))
        elif match := _LOST.search(line):
            attempt = int(match[2]) if match[2] else self.attempts.get(match[1], 0)
            self.lost.append((match[1], attempt))
        elif match := _COMMITTED.search(line):
            token = self.current[0] if self.current else "?"
            self.committed.append((token, int(match[1])))

    @property
    def running_pipeline(self) -> Optional[Run]:
        """The run whose pipeline is (most likely) running now: started, not yet done/lost
        (its upload, after the pipeline, takes milliseconds here)."""
        if self.current is None or self.current in self.done or self.current in self.lost:
            return None
        return self.current


class Launcher:
    """One launcher process and its folder; see the module docstring."""

    def __init__(self, name: str, folder: Path, env: Dict[str, str], token_type: str) -> None:
        self.name = name
        self.folder = folder
        self.env = env
        self.marker = Path(env["MARKER"])
        self.stderr_path = folder / "stderr.log"
        self.events = LogEvents()
        self.killed_at: Optional[float] = None
        self.frozen = False
        self.started_at = time.time()
        self._offset = 0
        with (folder / "stdout.log").open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "grid_lrt.launcher", "run", token_type],
                env=env,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # a Ctrl-C of the harness is the harness's
            )

    @classmethod
    def start(
        cls,
        name: str,
        root: Path,
        server: CouchServer,
        db_name: str,
        url: str,
        token_type: str,
        **settings: str,
    ) -> Launcher:
        """A launcher named ``name`` in ``root/name`` talking to ``url`` (the server's or the
        proxy's), with the kit's environment (credentials, LRT_WORKDIR, MARKER) and
        ``settings`` (LRT_LEASE=...)."""
        folder = root / name
        folder.mkdir(parents=True)
        env = launcher_env(server, db_name, folder, PICAS_URL=url, **settings)
        return cls(name, folder, env, token_type)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return self.proc.poll()

    def read_log(self) -> None:
        """Parse what the launcher logged since the last call."""
        try:
            with self.stderr_path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:
            return
        self._offset += len(chunk)
        self.events.feed(chunk.decode(errors="replace"))

    def kill_tree(self) -> int:
        """SIGKILL the launcher and everything it started (a node dies): stopped first, so
        that it starts nothing while its descendants are listed. Returns the processes
        killed."""
        self.killed_at = time.time()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGSTOP)
        victims = [self.proc.pid, *_descendants(self.proc.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        return len(victims)

    def freeze(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def wait(self, timeout: float) -> Optional[int]:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Clean-up: kill what is left of this launcher (after a failure)."""
        if self.alive:
            if self.frozen:
                self.thaw()
            self.kill_tree()

    def tail(self, lines: int = 12) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _descendants(pid: int) -> List[int]:
    """Every process below ``pid`` (Linux /proc), children before grandchildren."""
    found: List[int] = []
    seen: Set[int] = {pid}
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in seen:
                    seen.add(child)
                    found.append(child)
                    queue.append(child)
    return found


class Fleet:
    """The launchers of a run: the first ones, the replacements, who talks through the proxy.

    Every launcher gets its own folder ``root/L<nn>`` and the same settings; a proxied one
    gets the proxy's URL as ``PICAS_URL``.
    """

    def __init__(
        self,
        root: Path,
        server: CouchServer,
        db_name: str,
        token_type: str,
        settings: Dict[str, str],
        proxy_url: str = "",
    ) -> None:
        self.root = root
        self.server = server
        self.db_name = db_name
        self.token_type = token_type
        self.settings = settings
        self.proxy_url = proxy_url
        self.launchers: List[Launcher] = []
        self.proxied: Set[str] = set()

    def add(self, *, proxied: bool = False) -> Launcher:
        name = f"L{len(self.launchers):02d}"
        url = self.proxy_url if proxied else self.server.url
        launcher = Launcher.start(
            name, self.root, self.server, self.db_name, url, self.token_type, **self.settings
        )
        self.launchers.append(launcher)
        if proxied:
            self.proxied.add(name)
        return launcher

    def refresh(self) -> None:
        for launcher in self.launchers:
            launcher.read_log()

    def live(self) -> List[Launcher]:
        return [launcher for launcher in self.launchers if launcher.alive]

    def tokens_done(self) -> Set[str]:
        """Tokens some launcher logged done (the harness's progress; the checks use more)."""
        return {run[0] for launcher in self.launchers for run in launcher.events.done}

    def stop_all(self) -> None:
        for launcher in self.launchers:
            launcher.stop()
