"""SIGTERM during input downloads (issue 9, finding 6), with real slow transfers and real signals.

Leaving the ``ThreadPoolExecutor`` waited for every running and queued copy: with SIGTERM at
0.5 s the stop reached the caller after 4 s, 8 of 8 downloads done. Now no copy starts after
the signal, the copies under way are abandoned, and the token goes back to todo.

The data comes from a loopback web server that trickles each file over a few seconds and
records when every GET began.
"""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from grid_lrt.launcher.inputs import fetch_inputs
from grid_lrt.launcher.signals import Interrupted, StopSignals
from grid_lrt.launcher.storage import clear_cache, storage_for
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.schema import TokenState, state_of
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.launcher_kit import (
    launcher_env,
    save_tokens,
    start_launcher,
    token_doc,
    wait_for,
)

FILES = 8
SIZE = 64 * 1024
SECONDS_PER_FILE = 3.0
PARALLEL = 2


class Trickle(http.server.ThreadingHTTPServer):
    """Serves ``/data/<name>``: SIZE bytes over SECONDS_PER_FILE; records each GET's start."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TrickleHandler)
        self.gets: List[float] = []
        self.closing = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/data"

    def links(self) -> str:
        return "".join(f"{self.base}/L1_SB{n:03d}_uv.MS\n" for n in range(FILES))


class _TrickleHandler(http.server.BaseHTTPRequestHandler):
    server: Trickle

    def _headers(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(SIZE))
        self.end_headers()

    def do_HEAD(self) -> None:  # the http.server API
        self._headers()

    def do_GET(self) -> None:  # the http.server API
        self.server.gets.append(time.monotonic())
        self._headers()
        chunks = 32
        try:
            for _ in range(chunks):
                if self.server.closing.wait(SECONDS_PER_FILE / chunks):
                    return
                self.wfile.write(b"v" * (SIZE // chunks))
                self.wfile.flush()
        except OSError:
            return

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trickle() -> Iterator[Trickle]:
    server = Trickle()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.closing.set()  # abandoned transfers end now
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["builtin", pytest.param("gfal2", marks=pytest.mark.gfal2)])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "gfal2":
        request.getfixturevalue("gfal2_module")
    clear_cache()
    yield str(request.param)
    clear_cache()


def test_sigterm_stops_the_downloads_at_once(
    tmp_path: Path, trickle: Trickle, backend: str
) -> None:
    """SIGTERM at 0.5 s: Interrupted within a fraction of a second, no copy starts after it."""
    signalled: Dict[str, float] = {}

    def send() -> None:
        signalled["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)

    timer = threading.Timer(0.5, send)
    started = time.monotonic()
    with StopSignals() as signals, pytest.raises(Interrupted) as info:
        timer.start()
        with signals.interruptible():
            fetch_inputs(
                trickle.links(),
                tmp_path / "Input",
                storage_for=partial(storage_for, prefer=backend),
                parallel=PARALLEL,
                sleep=lambda s: None,
            )
    raised = time.monotonic()
    timer.join()
    assert info.value.signum == signal.SIGTERM
    assert raised - signalled["at"] < 1.0, "the stop must reach the caller at once"
    assert raised - started < 2.0  # all files would take FILES / PARALLEL * 3 s = 12 s
    begun = len(trickle.gets)
    assert 1 <= begun <= PARALLEL
    time.sleep(SECONDS_PER_FILE + 0.5)  # the abandoned copies end; none follows them
    assert len(trickle.gets) == begun
    assert all(t < signalled["at"] for t in trickle.gets)


def test_sigterm_to_a_launcher_downloading_puts_the_token_back(
    couchdb_server: CouchServer, couch_db_name: str, tmp_path: Path, trickle: Trickle
) -> None:
    db: CouchDB = couch(couchdb_server, couch_db_name)
    save_tokens(db, [token_doc("sig_t", "t_inputs", srm=trickle.links(), command="true")])
    env: Dict[str, Any] = launcher_env(
        couchdb_server, couch_db_name, tmp_path, LRT_PARALLEL_DOWNLOADS=PARALLEL, LRT_GRACE=5
    )
    proc = start_launcher(env, "sig_t")
    wait_for(lambda: len(trickle.gets) >= 1, what="the first download")
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert time.monotonic() - signalled < 3.0, err  # not 12 s of downloads
    assert len(trickle.gets) <= PARALLEL
    doc = db.get("t_inputs")
    assert state_of(doc) is TokenState.TODO
    assert (doc["scrub_count"], doc["lock"], doc["attempt"]) == (1, 0, 1)
    assert "SIGTERM" in doc["history"][-1]["reason"]
