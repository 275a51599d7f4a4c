"""Issue 9, findings 4 and 5: launchers ride out outages, 503s and lost answers.

Real launcher processes talk to the real server through a loopback proxy that refuses
connections (an outage), answers 503, or forwards a request and drops its answer.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.schema import TokenState, state_of
from tests.support.couchdb import CouchServer
from tests.support.faultproxy import FaultProxy
from tests.support.launcher_kit import (
    launcher_env,
    make_sandbox,
    run_launcher,
    save_tokens,
    start_launcher,
    token_doc,
    wait_for,
)

TYPE = "outage"


@pytest.fixture
def proxy(couchdb_server: CouchServer) -> Iterator[FaultProxy]:
    with FaultProxy(couchdb_server.url) as running:
        yield running


def _tokens(db: CouchDB, tmp_path: Path, count: int, **fields: Any) -> List[str]:
    sandbox = make_sandbox(tmp_path / "sbx.tar.gz")
    docs = [
        token_doc(TYPE, f"t_{n:02d}", SBXloc=sandbox.as_uri(), fetch_inputs=False, **fields)
        for n in range(count)
    ]
    save_tokens(db, docs)
    return [str(d["_id"]) for d in docs]


def _env(
    server: CouchServer, db: CouchDB, proxy: FaultProxy, tmp_path: Path, **extra: Any
) -> Dict[str, str]:
    return launcher_env(server, db.name, tmp_path, PICAS_URL=proxy.url, **extra)


def test_503s_and_lost_answers_do_not_end_the_launcher(
    couchdb_server: CouchServer, db: CouchDB, proxy: FaultProxy, tmp_path: Path
) -> None:
    ids = _tokens(db, tmp_path, 6, MODE="ok")
    proxy.fail(r"^POST .*/_bulk_docs$", count=2, status=503)  # the claim with a closing write
    proxy.fail(r"^PUT ", count=1, drop=True, after=True)  # a write lands, its answer is lost
    proxy.fail(r"^GET .*/_view/", count=1, status=502)
    result = run_launcher(_env(couchdb_server, db, proxy, tmp_path, LRT_OUTAGE="60"), TYPE)
    assert result.returncode == 0, result.stderr
    for token_id in ids:
        doc = db.get(token_id)
        assert (state_of(doc), doc["output"]) == (TokenState.DONE, 0), (token_id, doc)
        assert doc["attempt"] == 1, token_id  # a lost answer is not a lost token


def test_a_server_outage_during_claims_is_ridden_out(
    couchdb_server: CouchServer, db: CouchDB, proxy: FaultProxy, tmp_path: Path
) -> None:
    """Finding 4: a 3.4 s outage ended a launcher (exit 1); so did any restart over ~7 s."""
    ids = _tokens(db, tmp_path, 20, MODE="sleep", SLEEP="0.3")
    # The lease outlasts the outage, so that no token is (rightly) taken back meanwhile.
    env = _env(
        couchdb_server, db, proxy, tmp_path, LRT_OUTAGE="60", LRT_LEASE="30", LRT_HEARTBEAT="1"
    )
    launchers = [start_launcher(env, TYPE) for _ in range(2)]
    wait_for(
        lambda: sum(state_of(db.get(i)) is TokenState.DONE for i in ids) >= 3,
        what="a few tokens done",
    )
    proxy.down()
    time.sleep(12)  # longer than the HTTP client's own retries (~7 s)
    proxy.up()
    for launcher in launchers:
        _out, err = launcher.communicate(timeout=180)
        assert launcher.returncode == 0, err
    assert all(state_of(db.get(i)) is TokenState.DONE for i in ids)
    assert sum(db.get(i)["attempt"] for i in ids) == len(ids)  # each ran once


def test_a_lease_survives_an_outage_shorter_than_lease_minus_heartbeat(
    couchdb_server: CouchServer, db: CouchDB, proxy: FaultProxy, tmp_path: Path
) -> None:
    """Finding 5: an 8 s lease expired during a 3.3 s outage (the renewal was retried after
    1, 2, 4 s, each try itself retried for seconds by the HTTP client)."""
    (token_id,) = _tokens(db, tmp_path, 1, MODE="sleep", SLEEP="12")
    env = _env(couchdb_server, db, proxy, tmp_path, LRT_LEASE="6", LRT_HEARTBEAT="1")
    launcher = start_launcher(env, TYPE)
    wait_for(lambda: db.get(token_id).get("status") == "running", what="the pipeline to run")
    expired: List[float] = []
    watching = threading.Event()

    def watch() -> None:  # straight to the server, as the other launchers' reapers would
        while not watching.is_set():
            doc = db.get(token_id)
            if state_of(doc) is TokenState.LOCKED and time.time() > doc["lease_expires"]:
                expired.append(time.time() - doc["lease_expires"])
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(1.5)
    proxy.down()
    time.sleep(4.0)  # < lease - heartbeat = 5 s
    proxy.up()
    _out, err = launcher.communicate(timeout=120)
    watching.set()
    watcher.join(timeout=10)
    assert launcher.returncode == 0, err
    doc = db.get(token_id)
    assert (state_of(doc), doc["attempt"], doc["history"]) == (TokenState.DONE, 1, [])
    assert expired == [], f"the lease ran out for {max(expired):.1f} s during the outage"


def test_a_launcher_started_while_the_server_is_down_waits_for_it(
    couchdb_server: CouchServer, db: CouchDB, proxy: FaultProxy, tmp_path: Path
) -> None:
    """The chaos harness: a replacement launcher started during a restart exited 1 at once
    (its first request, the check that CouchDB answers, had no patience)."""
    ids = _tokens(db, tmp_path, 2, MODE="ok")
    proxy.down()
    launcher = start_launcher(_env(couchdb_server, db, proxy, tmp_path, LRT_OUTAGE="60"), TYPE)
    time.sleep(3)
    assert launcher.poll() is None, "the launcher gave up while the server was down"
    proxy.up()
    _out, err = launcher.communicate(timeout=120)
    assert launcher.returncode == 0, err
    assert all(state_of(db.get(i)) is TokenState.DONE for i in ids)
