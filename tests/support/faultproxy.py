"""A loopback HTTP proxy in front of the CouchDB-compatible test server that injects faults.

Point a client at :attr:`FaultProxy.url` instead of the server's URL; every request is
forwarded to the server and its answer returned, except for the faults switched on:

* ``reorder_bulk``: the answer list of ``POST .../_bulk_docs`` comes back reversed (a
  CouchDB-compatible server does not promise the order of that list);
* :meth:`FaultProxy.fail` the next N requests whose path matches: answer ``status`` (503)
  without forwarding them, or ``drop`` the connection without an answer; ``after=True``
  forwards the request first (the write lands, its answer is lost);
* ``delay``: seconds to wait before forwarding each request;
* :meth:`FaultProxy.down`/:meth:`FaultProxy.up`: connections are refused while down (the
  listening socket is closed), as when the server restarts;
* :meth:`FaultProxy.chaos`: random faults on every request, drawn from a seeded generator (a
  network that blinks): each request waits a random delay, and a fraction of them is dropped,
  some before they are forwarded, some after (the write lands, its answer is lost).

A request that the server does not answer (it is down or restarting) has its connection cut,
as a client would see a dead server, and is counted in :attr:`FaultProxy.upstream_errors`.

Every forwarded request is counted in :attr:`FaultProxy.seen` as ``"METHOD kind"``. Loopback
only; it serves until :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Counter, List, Optional, Set, Tuple
from urllib.parse import urlsplit

__all__ = ["FaultProxy"]

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)


@dataclass
class _Chaos:
    drop: float
    delay: Tuple[float, float]
    after: float
    rng: random.Random


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    count: int
    status: int
    drop: bool
    after: bool


class FaultProxy:
    """Forwards to ``upstream`` (``http://127.0.0.1:PORT``); see the module docstring."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the fault proxy only forwards to loopback, not {upstream!r}")
        self.upstream = (parts.hostname or "127.0.0.1", int(parts.port or 80))
        self.reorder_bulk = False
        self.delay = 0.0
        self.seen: Counter[str] = Counter()
        self.reordered = 0
        #: Chaos mode's figures: requests dropped before / after forwarding, seconds delayed.
        self.dropped = 0
        self.dropped_after = 0
        self.delayed = 0.0
        self.upstream_errors = 0
        self._chaos: Optional[_Chaos] = None
        self._faults: List[_Fault] = []
        self._connections: Set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- control -------------------------------------------------------------------------------

    def fail(
        self,
        path: str,
        *,
        count: int = 1,
        status: int = 503,
        drop: bool = False,
        after: bool = False,
    ) -> None:
        """Fail the next ``count`` requests whose ``METHOD path`` matches the regex ``path``."""
        with self._lock:
            self._faults.append(_Fault(re.compile(path), count, status, drop, after))

    def chaos(
        self,
        *,
        drop: float = 0.05,
        delay: Tuple[float, float] = (0.0, 0.3),
        after: float = 0.5,
        seed: int = 0,
    ) -> None:
        """Random faults on every request from now on: wait ``uniform(*delay)`` seconds, then
        drop the connection with probability ``drop``; a dropped request is forwarded first
        with probability ``after`` (its answer is lost). ``drop=0, delay=(0, 0)`` ends it.

        The draws come from ``random.Random(seed)``, one request after the other, so a run
        can be replayed (which request gets which draw depends on the order they arrive in).
        """
        if not (0.0 <= drop <= 1.0 and 0.0 <= after <= 1.0 and 0.0 <= delay[0] <= delay[1]):
            raise ValueError(f"bad chaos settings: drop={drop}, after={after}, delay={delay}")
        with self._lock:
            self._chaos = _Chaos(drop, delay, after, random.Random(seed))

    def _chaos_draw(self) -> Tuple[float, bool, bool]:
        """(delay, drop it, forward it first) for the next request in chaos mode."""
        with self._lock:
            chaos = self._chaos
            if chaos is None:
                return 0.0, False, False
            pause = chaos.rng.uniform(*chaos.delay)
            dropped = chaos.rng.random() < chaos.drop
            first = dropped and chaos.rng.random() < chaos.after
            self.delayed += pause
            if dropped:
                self.dropped_after += int(first)
                self.dropped += int(not first)
            return pause, dropped, first

    def _fault_for(self, line: str) -> Optional[_Fault]:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.pattern.search(line):
                    fault.count -= 1
                    return fault
        return None

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._connections.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                body = self._body()
                path = self.path.split("?")[0]
                line = f"{self.command} {path}"
                if proxy.delay:
                    time.sleep(proxy.delay)
                pause, dropped, first = proxy._chaos_draw()
                if pause:
                    time.sleep(pause)
                fault: Optional[_Fault] = (
                    _Fault(re.compile(""), 1, 0, drop=True, after=first)
                    if dropped
                    else proxy._fault_for(line)
                )
                if fault is not None and not fault.after:
                    self._fail(fault)
                    return
                try:
                    status, headers, data = proxy._forward(
                        self.command, self.path, self.headers, body
                    )
                except (OSError, http.client.HTTPException):  # server down or restarting
                    with proxy._lock:
                        proxy.upstream_errors += 1
                    self._fail(_Fault(re.compile(""), 1, 0, drop=True, after=False))
                    return
                if fault is not None:
                    self._fail(fault)
                    return
                kind = "view" if "/_view/" in path else path.rsplit("/", 1)[-1]
                proxy.seen[f"{self.command} {kind if kind.startswith('_') else 'doc'}"] += 1
                if proxy.reorder_bulk and self.command == "POST" and path.endswith("/_bulk_docs"):
                    data = proxy._reversed(data)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _fail(self, fault: _Fault) -> None:
                if fault.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):  # the client may have gone already
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = json.dumps({"error": "unavailable", "reason": "injected"}).encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_COPY = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (kept-alive ones included)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        """Refuse connections and cut the open ones, as a restarting server does (the port
        is kept for :meth:`up`)."""
        self.stop()

    def up(self) -> None:
        self.start()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- forwarding ----------------------------------------------------------------------------

    def _forward(
        self, method: str, target: str, headers: Any, body: bytes
    ) -> Tuple[int, List[Tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(method, target, body=body or None, headers=sent)
            response = conn.getresponse()
            return response.status, list(response.getheaders()), response.read()
        finally:
            conn.close()

    def _reversed(self, data: bytes) -> bytes:
        try:
            answers = json.loads(data)
        except ValueError:
            return data
        if isinstance(answers, list) and len(answers) > 1:
            self.reordered += 1
            return json.dumps(answers[::-1]).encode()
        return data
