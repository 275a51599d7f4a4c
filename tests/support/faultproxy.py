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
  listening socket is closed), as when the server restarts.

Every forwarded request is counted in :attr:`FaultProxy.seen` as ``"METHOD kind"``. Loopback
only; it serves until :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
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
                fault = proxy._fault_for(line)
                if fault is not None and not fault.after:
                    self._fail(fault)
                    return
                status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
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
