"""Claims without polling storms (issue 13): an idle launcher waits on the database's
``_changes`` feed, filtered to its type's todo tokens, and a pool that empties and refills
wakes it within a second; changes of other types or states do not."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, List

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import new_token
from tests.support.couchdb import CouchServer
from tests.support.launcher_kit import launcher_env, make_sandbox, start_launcher, token_doc


def _later(seconds: float, action: Any) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_the_wait_ends_when_a_todo_token_of_the_type_appears(db: CouchDB) -> None:
    pool = CouchTokenPool(db)
    started = time.monotonic()
    assert pool.wait_for_todo("idle", 1.0) is False  # nothing happens: the whole timeout
    assert 0.9 <= time.monotonic() - started < 5
    others = [
        new_token("other", "t_other_1"),  # another type
        new_token("idle", "t_idle_done", {"lock": 1, "done": 2, "output": 0}),  # not todo
    ]
    timer = _later(0.3, lambda: db.bulk_docs(others))
    started = time.monotonic()
    assert pool.wait_for_todo("idle", 1.5) is False
    assert time.monotonic() - started >= 1.4
    timer.join()
    timer = _later(0.5, lambda: db.save(new_token("idle", "t_idle_1")))
    started = time.monotonic()
    assert pool.wait_for_todo("idle", 20.0) is True
    woke = time.monotonic() - started
    timer.join()
    assert 0.4 <= woke < 1.5  # within a second of the token's arrival
    assert pool.wait_for_todo("idle", 20.0) is True  # one exists already: at once
    timer = _later(0.3, lambda: db.save(new_token("2024", "t_2024_1")))  # a type of digits:
    assert pool.wait_for_todo("2024", 20.0) is True  # pouchdb-server hands it over as a number
    timer.join()


def test_an_idle_launcher_takes_a_refill_within_a_second(
    db: CouchDB, couchdb_server: CouchServer, tmp_path: Path
) -> None:
    files = {"master.sh": "#!/bin/bash\necho ok > Output/ok.txt\n", "tokvar.cfg": "_id: $TOKEN\n"}
    sandbox = make_sandbox(tmp_path / "sbx.tar.gz", files)
    fields = {"SBXloc": sandbox.as_uri(), "fetch_inputs": False}
    env = launcher_env(couchdb_server, db.name, tmp_path, LRT_IDLE="4", LRT_LINGER="0",
                       LRT_STORAGE="builtin")  # fmt: skip
    proc = start_launcher(env, "idle")
    made: List[float] = []

    def refill() -> None:
        made.append(time.time())
        db.save(token_doc("idle", "t_idle_refill", **fields))

    timer = _later(1.5, refill)  # the pool is empty for the first 1.5 s
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    doc = db.get("t_idle_refill")
    assert doc["status"] == "done", err[-3000:]
    assert doc["times"]["locked"] - made[0] < 1.0  # woken by the feed, not by a poll
    assert "idle tokens changed: looking again" in err


def test_a_launcher_waiting_for_a_fresh_lease_exits_when_that_token_finishes(
    db: CouchDB, couchdb_server: CouchServer, tmp_path: Path
) -> None:
    """Out of work while another launcher runs the last token (its lease just renewed), a
    launcher lingers for that lease (it may still run out); the token's end on the feed
    ends the wait, not the next heartbeat minutes later."""
    files = {"master.sh": '#!/bin/bash\nsleep "$SLEEP"\necho ok > Output/ok.txt\n',
             "tokvar.cfg": "_id: $TOKEN\nSLEEP: $SLEEP\n"}  # fmt: skip
    sandbox = make_sandbox(tmp_path / "sbx.tar.gz", files)
    for name, sleep in (("t_short", "0.5"), ("t_long", "4")):
        db.save(token_doc("tail", name, SBXloc=sandbox.as_uri(), fetch_inputs=False, SLEEP=sleep))
    procs = []
    for n in range(2):
        env = launcher_env(couchdb_server, db.name, tmp_path / f"l{n}", LRT_HEARTBEAT="20",
                           LRT_LEASE="100", LRT_STORAGE="builtin")  # fmt: skip
        procs.append(start_launcher(env, "tail"))
    ended = []
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        ended.append(time.time())
        assert proc.returncode == 0, err[-3000:]
    last_done = max(db.get(t)["times"]["done"] for t in ("t_short", "t_long"))
    assert max(ended) - last_done < 10  # not the 60 s of a long poll, nor 60 s heartbeats
