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
    assert "new todo tokens of idle: claiming again" in err
