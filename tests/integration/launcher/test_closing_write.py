"""The closing write of a finished token travels with the lock of the next one (_bulk_docs).

Two requests per token (the todo view query and one ``_bulk_docs``) instead of picas's four,
each document of the bulk request with its own compare-and-set, on the real server.
"""

from __future__ import annotations

import collections
import random
import time
from pathlib import Path
from typing import Any, Callable, Counter, List

import pytest
import requests

from grid_lrt.launcher.claim import Claimer
from grid_lrt.launcher.heartbeat import Heartbeat
from grid_lrt.launcher.loop import Launcher
from grid_lrt.launcher.runner import TokenRun
from grid_lrt.launcher.session import TokenClosedError, TokenLostError, TokenSession
from grid_lrt.launcher.signals import StopSignals
from grid_lrt.launcher.storage import storage_for
from grid_lrt.shared.couch import CouchDB, Document
from grid_lrt.shared.lease import DEFAULT_MAX_SCRUB, Worker
from grid_lrt.shared.pool import ClaimAttempt, ClaimOutcome, CouchTokenPool, FencedWrite
from grid_lrt.shared.pool.claiming import lock_row, todo_row
from grid_lrt.shared.schema import TokenState, new_token, state_of
from tests.support.couchdb import CouchServer
from tests.support.launcher_kit import launcher_config

TYPE = "closing"
WORKER = Worker("wn-test")


def _add(db: CouchDB, count: int, **fields: Any) -> List[str]:
    docs = [new_token(TYPE, f"t_{n:03d}", fields) for n in range(count)]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    return [d["_id"] for d in docs]


def _claimer(db: CouchDB, **kwargs: Any) -> Claimer:
    kwargs.setdefault("lease", 60)
    return Claimer(CouchTokenPool(db), TYPE, worker=WORKER, sleep=lambda s: None, **kwargs)


def _finished(db: CouchDB, claimer: Claimer) -> TokenSession:
    """A claimed token whose run ended: its closing write waits (deferred)."""
    claim = claimer.next()
    assert claim is not None
    session = TokenSession(CouchTokenPool(db), claim, lease=60)
    session.finish(0, deferred=True, attachments={"attempt1_stdout.log": (b"ok\n", "text/plain")})
    assert session.closing_pending
    assert state_of(db.get(claim.token_id)) is TokenState.LOCKED  # nothing written yet
    return session


def test_the_launcher_makes_two_requests_per_token(
    db: CouchDB, couchdb_server: CouchServer, tmp_path: Path
) -> None:
    ids = _add(db, 5, command=": > Output/x", fetch_inputs=False)
    seen: Counter[str] = collections.Counter()

    def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = response.request.path_url.split("?")[0]
        kind = "view" if "/_view/" in path else path.rsplit("/", 1)[-1]
        seen[f"{response.request.method} {kind if kind.startswith('_') else 'doc'}"] += 1

    db.session.hooks["response"].append(count)
    config = launcher_config(couchdb_server, db, TYPE, tmp_path)
    launcher = Launcher(config, pool=CouchTokenPool(db))
    launcher.claimer.rng = random.Random(1)
    assert launcher.run() == 0

    for token_id in ids:
        doc = db.get(token_id)
        assert (doc["status"], doc["output"], doc["attempt"]) == ("done", 0, 1), token_id
        assert doc["times"]["locked"] <= doc["times"]["running"] <= doc["times"]["done"]
    # One lock PUT for the first token, one closing PUT for the last one; every other closing
    # write went out with the next lock: 4 bulk requests for 5 tokens, nothing else written.
    assert seen["PUT doc"] == 2
    assert seen["POST _bulk_docs"] == 4
    assert launcher.outcomes == {"done": 5}


def test_closing_and_lock_land_in_one_request(db: CouchDB) -> None:
    first, second = _add(db, 2)
    claimer = _claimer(db)
    session = _finished(db, claimer)
    claim = claimer.next(carry=session.closing)
    assert claim is not None and {claim.token_id, session.token_id} == {first, second}
    assert not session.closing_pending
    done = db.get(session.token_id)
    assert (state_of(done), done["output"]) == (TokenState.DONE, 0)
    assert db.get_attachment(session.token_id, "attempt1_stdout.log") == b"ok\n"
    assert state_of(db.get(claim.token_id)) is TokenState.LOCKED
    assert session.doc["_rev"] == done["_rev"]  # the session knows what it wrote


def test_a_closing_write_that_conflicts_is_written_again(db: CouchDB) -> None:
    """Someone edited the finished token meanwhile: the lock lands, the closing write is redone."""
    _add(db, 2)
    claimer = _claimer(db)
    session = _finished(db, claimer)
    edited = db.get(session.token_id)
    edited["note"] = "checked by alice"
    db.save(edited)

    claim = claimer.next(carry=session.closing)
    assert claim is not None
    assert state_of(db.get(claim.token_id)) is TokenState.LOCKED
    assert session.closing_pending  # the bulk request's closing part hit the edit
    session.close()
    done = db.get(session.token_id)
    assert (state_of(done), done["note"]) == (TokenState.DONE, "checked by alice")
    assert db.get_attachment(session.token_id, "attempt1_stdout.log") == b"ok\n"


class RivalFirst(CouchTokenPool):
    """The real pool, with a rival launcher locking the picked token after we read its row
    and before our lock goes out (once)."""

    def __init__(self, db: CouchDB) -> None:
        super().__init__(db)
        self.picked: List[str] = []

    def claim(
        self,
        t_type: str,
        position: int,
        *,
        worker: Worker,
        lease: float,
        clock: Callable[[], float] = time.time,
        carry: FencedWrite | None = None,
    ) -> ClaimAttempt:
        if self.picked:
            return super().claim(
                t_type, position, worker=worker, lease=lease, clock=clock, carry=carry
            )
        doc = todo_row(self.db, t_type, position)
        if doc is None:
            return ClaimAttempt(ClaimOutcome.NO_ROW)
        self.picked.append(str(doc["_id"]))
        theirs = self.db.get(str(doc["_id"]))
        theirs["lock"] = 1  # locked behind our back, after we read it
        self.db.save(theirs)
        return lock_row(self.db, doc, worker=worker, lease=lease, now=clock(), carry=carry)


def test_a_lost_lock_keeps_the_closing_write(db: CouchDB) -> None:
    """Another launcher locks the picked token first: our closing lands; we claim another."""
    ids = _add(db, 3)
    session = _finished(db, _claimer(db))
    pool = RivalFirst(db)
    claimer = Claimer(pool, TYPE, worker=WORKER, lease=60, sleep=lambda s: None)
    claim = claimer.next(carry=session.closing)
    assert claim is not None and claim.token_id not in pool.picked
    assert not session.closing_pending
    assert state_of(db.get(session.token_id)) is TokenState.DONE
    assert claimer.conflicts == 1 and claimer.stale_rows == 0  # a 409 on the lock
    assert sorted([session.token_id, claim.token_id, *pool.picked]) == ids
    assert _claimer(db).next() is None


def test_the_pool_reports_a_lost_lock_with_its_carried_write(db: CouchDB) -> None:
    """One claim attempt: the lock meets a rival's revision, the closing write lands."""
    _add(db, 2)
    session = _finished(db, _claimer(db))
    doc = todo_row(db, TYPE, 0)
    assert doc is not None
    theirs = db.get(str(doc["_id"]))
    theirs["lock"] = 1
    db.save(theirs)
    attempt = lock_row(db, doc, worker=WORKER, lease=60, now=1.0, carry=session.closing)
    assert attempt.outcome is ClaimOutcome.LOST and attempt.carried and attempt.claim is None
    assert not session.closing_pending
    assert state_of(db.get(session.token_id)) is TokenState.DONE


def test_a_rewrite_that_meets_its_own_revision_counts_as_written(db: CouchDB) -> None:
    """A write whose answer was lost and that is sent again must not look like a lost token."""
    _add(db, 1)
    session = _finished(db, _claimer(db))
    assert session.closing is not None
    landed = session.closing.prepared()
    db.save(Document(landed))  # the first try reached the server; its answer never came back
    session.close()  # 409 on the old revision: the re-read shows our own change
    done = db.get(session.token_id)
    assert state_of(done) is TokenState.DONE
    assert session.doc["_rev"] == done["_rev"]


def test_a_closing_write_after_losing_the_token_writes_nothing(db: CouchDB) -> None:
    (token_id,) = _add(db, 1)
    session = _finished(db, _claimer(db))
    taken = db.get(token_id)
    taken.update(lock=0, attempt=2, owner="someone-else")  # requeued and reclaimed meanwhile
    db.save(taken)
    taken = db.get(token_id)
    taken["lock"] = 5
    db.save(taken)
    with pytest.raises(TokenLostError):
        session.close()
    assert db.get(token_id)["attempt"] == 2


def test_the_lease_is_kept_while_the_closing_write_waits(
    db: CouchDB, couchdb_server: CouchServer, tmp_path: Path
) -> None:
    """A slow next claim must not let the finished token's lease run out (it would run twice)."""
    (token_id,) = _add(db, 1, command=": > Output/x", fetch_inputs=False)
    config = launcher_config(couchdb_server, db, TYPE, tmp_path, lease=2, heartbeat=0.2)
    claim = _claimer(db, lease=config.lease).next()
    assert claim is not None
    session = TokenSession(CouchTokenPool(db), claim, lease=config.lease)
    signals = StopSignals()
    run = TokenRun(config, session, signals, storage_for, defer_close=True)
    assert run.run() == "done"
    assert session.closing_pending
    first = db.get(token_id)["lease_expires"]
    time.sleep(3 * config.lease)  # much longer than the lease
    waiting = db.get(token_id)
    assert state_of(waiting) is TokenState.LOCKED
    assert waiting["lease_expires"] > first  # renewed meanwhile
    assert (
        CouchTokenPool(db).requeue_expired(
            TYPE, now=time.time(), default_max_scrub=DEFAULT_MAX_SCRUB
        )
        == {}
    )  # nobody may take it back
    assert not signals.stopping.is_set()  # and it never stops another token's pipeline
    run.close()
    done = db.get(token_id)
    assert (state_of(done), done["output"]) == (TokenState.DONE, 0)
    time.sleep(3 * config.heartbeat)
    assert db.get(token_id)["_rev"] == done["_rev"]  # no heartbeat after the close


def test_a_renewal_that_meets_its_own_closing_write_is_no_lost_token(
    db: CouchDB, caplog: pytest.LogCaptureFixture
) -> None:
    """The chaos harness saw 'no longer ours ... dropping this run' (ERROR) for runs that had
    completed: a renewal on its way while the closing write, carried by the next claim, landed."""
    _add(db, 1)
    session = _finished(db, _claimer(db))
    assert session.closing is not None
    db.save(Document(session.closing.prepared()))  # the next claim's request landed it
    with pytest.raises(TokenClosedError):
        session.heartbeat()
    assert state_of(session.doc) is TokenState.DONE
    heartbeat = Heartbeat(session, 0.05)
    with caplog.at_level("ERROR"):
        heartbeat.start()
        time.sleep(0.5)
        heartbeat.stop()
    assert not heartbeat.lost.is_set()
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
