"""The fault proxy's random mode (``FaultProxy.chaos``), which the chaos harness routes one
launcher through: seeded drops before and after forwarding, delays, a dead upstream.

Fast and without CouchDB (a tiny loopback HTTP server stands upstream), so it runs in the
``tests`` session; only test_chaos.py is marked ``chaos``.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, List, Tuple

import pytest

from tests.support.faultproxy import FaultProxy


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def upstream() -> Iterator[ThreadingHTTPServer]:
    _Upstream.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _get(proxy: FaultProxy) -> bool:
    """One GET on a new connection: True when an answer came, False when it was cut."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        conn.request("GET", "/db/doc")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _session(server: ThreadingHTTPServer, seed: int, n: int) -> Tuple[List[bool], FaultProxy]:
    with FaultProxy(_url(server)) as proxy:
        proxy.chaos(drop=0.4, delay=(0.0, 0.01), after=0.5, seed=seed)
        outcomes = [_get(proxy) for _ in range(n)]
    return outcomes, proxy


def test_drops_are_counted_and_replayed_by_their_seed(upstream: ThreadingHTTPServer) -> None:
    first, proxy = _session(upstream, seed=7, n=60)
    lost = first.count(False)
    assert 0 < lost < 60
    assert proxy.dropped + proxy.dropped_after == lost
    assert proxy.dropped > 0 and proxy.dropped_after > 0  # both kinds with this seed
    # a request dropped after forwarding reached the server (a write lands, its answer lost)
    assert _Upstream.hits == first.count(True) + proxy.dropped_after
    assert 0.0 < proxy.delayed < 60 * 0.01
    again, _ = _session(upstream, seed=7, n=60)
    assert again == first  # one request after the other: the same draws, the same faults
    other, _ = _session(upstream, seed=8, n=60)
    assert other != first


def test_no_chaos_without_drops(upstream: ThreadingHTTPServer) -> None:
    with FaultProxy(_url(upstream)) as proxy:
        proxy.chaos(drop=0.0, delay=(0.0, 0.0))
        assert all(_get(proxy) for _ in range(10))
    assert (proxy.dropped, proxy.dropped_after, _Upstream.hits) == (0, 0, 10)


def test_a_dead_upstream_cuts_the_connection(upstream: ThreadingHTTPServer) -> None:
    with FaultProxy(_url(upstream)) as proxy:
        upstream.shutdown()
        upstream.server_close()  # the server is down: connections to it are refused
        assert not _get(proxy)
        assert proxy.upstream_errors == 1


@pytest.mark.parametrize(
    "settings",
    [{"drop": 1.5}, {"drop": -0.1}, {"after": 2.0}, {"delay": (0.3, 0.1)}, {"delay": (-1, 0)}],
)
def test_bad_settings_are_refused(upstream: ThreadingHTTPServer, settings: Any) -> None:
    with FaultProxy(_url(upstream)) as proxy, pytest.raises(ValueError, match="bad chaos"):
        proxy.chaos(**settings)
