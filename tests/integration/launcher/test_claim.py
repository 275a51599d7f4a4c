"""Claims, leases and fenced writes on the real CouchDB-compatible server."""

from __future__ import annotations

import multiprocessing
import random
from typing import Any, Dict, List

import pytest

from grid_lrt.launcher.claim import Claimer
from grid_lrt.launcher.session import TokenLostError, TokenSession
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.lease import DEFAULT_MAX_SCRUB, Worker
from grid_lrt.shared.pool import ClaimOutcome, CouchTokenPool
from grid_lrt.shared.pool.claiming import lock_row
from grid_lrt.shared.schema import TokenState, new_token, state_of
from tests.support.couchdb import CouchServer

WORKER = Worker("wn-test", "slurm", "1")


def _requeue(db: CouchDB, now: float) -> dict[str, TokenState]:
    return CouchTokenPool(db).requeue_expired("demo", now=now, default_max_scrub=DEFAULT_MAX_SCRUB)


def _add(db: CouchDB, count: int, t_type: str = "demo", **fields: Any) -> List[str]:
    docs = [new_token(t_type, f"t_{t_type}_{n:04d}", fields) for n in range(count)]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    return [d["_id"] for d in docs]


def _claimer(db: CouchDB, **kwargs: Any) -> Claimer:
    kwargs.setdefault("lease", 60)
    return Claimer(CouchTokenPool(db), "demo", worker=WORKER, sleep=lambda s: None, **kwargs)


def test_claim_takes_a_todo_token_and_none_when_empty(db: CouchDB) -> None:
    _add(db, 1)
    _add(db, 1, t_type="other")
    claim = _claimer(db).next()
    assert claim is not None
    stored = db.get(claim.token_id)
    assert state_of(stored) is TokenState.LOCKED
    assert stored["attempt"] == 1
    assert stored["owner"] == claim.owner
    assert stored["lease_expires"] > stored["lock"]
    assert _claimer(db).next() is None  # the other type's token is not ours


def test_a_stale_view_row_is_not_claimed_twice(db: CouchDB) -> None:
    """picas 1.1.2's bug: it locks the latest revision without checking lock == 0."""
    (token_id,) = _add(db, 1)
    first = _claimer(db)
    assert first.next() is not None
    # The row the second launcher read was stale: the document in hand says it is locked.
    attempt = lock_row(db, db.get(token_id), worker=WORKER, lease=60, now=1.0)
    assert attempt.outcome is ClaimOutcome.STALE and attempt.claim is None
    assert db.get(token_id)["attempt"] == 1


def _race(args: Dict[str, Any]) -> List[str]:
    db = CouchDB(args["url"], args["db"], user=args["user"], password=args["password"])
    claimer = Claimer(
        CouchTokenPool(db),
        "demo",
        worker=Worker(f"racer{args['n']}"),
        lease=60,
        rng=random.Random(args["n"]),
    )
    won = []
    while True:
        claim = claimer.next()
        if claim is None:
            return won
        won.append(claim.token_id)


@pytest.mark.parametrize(("tokens", "racers"), [(1, 2), (60, 4)])
def test_racing_launchers_claim_each_token_exactly_once(
    db: CouchDB, couchdb_server: CouchServer, tokens: int, racers: int
) -> None:
    ids = _add(db, tokens)
    args = [
        {
            "url": couchdb_server.url,
            "db": db.name,
            "user": couchdb_server.user or None,
            "password": couchdb_server.password,
            "n": n,
        }
        for n in range(racers)
    ]
    with multiprocessing.get_context("spawn").Pool(racers) as pool:
        results = pool.map(_race, args)
    claimed = [token_id for won in results for token_id in won]
    assert sorted(claimed) == sorted(ids)  # every token once: no double claim, none missed
    assert all(db.get(i)["attempt"] == 1 for i in ids)


def test_expired_lease_is_requeued_once_and_zombie_cannot_write(db: CouchDB) -> None:
    (token_id,) = _add(db, 1)
    claim = _claimer(db, lease=5).next()
    assert claim is not None
    zombie = TokenSession(CouchTokenPool(db), claim, lease=5)
    lock = db.get(token_id)["lock"]
    later = lock + 60
    assert CouchTokenPool(db).expired("demo", later) == [token_id]
    assert _requeue(db, later) == {token_id: TokenState.TODO}
    assert _requeue(db, later) == {}  # exactly once
    stored = db.get(token_id)
    assert state_of(stored) is TokenState.TODO
    assert stored["scrub_count"] == 1
    assert "lease expired" in stored["history"][-1]["reason"]

    again = _claimer(db).next()
    assert again is not None
    assert again.attempt == 2
    with pytest.raises(TokenLostError, match="no longer ours"):
        zombie.finish(0)
    with pytest.raises(TokenLostError):
        zombie.attach("attempt1_stdout.log", b"late", "text/plain")
    stored = db.get(token_id)
    assert stored["attempt"] == 2
    assert state_of(stored) is TokenState.LOCKED
    assert "_attachments" not in stored


def test_heartbeat_keeps_the_token(db: CouchDB) -> None:
    (token_id,) = _add(db, 1)
    claim = _claimer(db, lease=5).next()
    assert claim is not None
    session = TokenSession(CouchTokenPool(db), claim, lease=5, clock=lambda: 10**10)
    session.heartbeat()  # the lease now runs until far in the future
    assert _requeue(db, 10**9) == {}
    assert state_of(db.get(token_id)) is TokenState.LOCKED


def test_writes_survive_concurrent_changes_and_keep_attachments(db: CouchDB) -> None:
    (token_id,) = _add(db, 1)
    claim = _claimer(db).next()
    assert claim is not None
    session = TokenSession(CouchTokenPool(db), claim, lease=60)
    session.attach("attempt1_stdout.log", b"hello\n", "text/plain")
    # Someone else (a user, a monitoring script) edits the token meanwhile.
    other = db.get(token_id)
    other["note"] = "checked by alice"
    db.save(other)
    session.set_status("running")  # 409 → re-read → still ours → re-applied
    session.finish(0)
    stored = db.get(token_id)
    assert stored["note"] == "checked by alice"
    assert stored["status"] == "done"
    assert state_of(stored) is TokenState.DONE
    assert db.get_attachment(token_id, "attempt1_stdout.log") == b"hello\n"


def test_requeue_exhausted_goes_to_error(db: CouchDB) -> None:
    (token_id,) = _add(db, 1, max_scrub=1)
    for attempt in (1, 2):
        claim = _claimer(db, lease=5).next()
        assert claim is not None and claim.attempt == attempt
        _requeue(db, db.get(token_id)["lock"] + 60)
    stored = db.get(token_id)
    assert state_of(stored) is TokenState.ERROR
    assert stored["output"] == ErrorCode.ATTEMPTS_EXHAUSTED
    assert _claimer(db).next() is None


@pytest.mark.parametrize("seed", range(5))
def test_the_tail_of_the_pool_costs_no_attempts(db: CouchDB, seed: int) -> None:
    """Fewer todo rows than the window: the pick shrinks the window, it does not give up."""
    ids = _add(db, 3)
    claimer = _claimer(db, window=100, attempts=1, rng=random.Random(seed))
    claimed = []
    while (claim := claimer.next()) is not None:
        claimed.append(claim.token_id)
    assert sorted(claimed) == ids
    assert claimer.conflicts == 0


def test_tokens_made_after_an_empty_answer_are_claimed(db: CouchDB) -> None:
    """An empty answer is an up-to-date one: tokens made just after it are found."""
    claimer = _claimer(db)
    assert claimer.next() is None  # the index now exists, and is empty
    ids = _add(db, 5)
    claimed = []
    while (claim := claimer.next()) is not None:
        claimed.append(claim.token_id)
    assert sorted(claimed) == ids


def test_noted_statuses_go_out_with_the_next_write(db: CouchDB) -> None:
    """A status that lasts milliseconds costs no request, and keeps its own time."""
    (token_id,) = _add(db, 1)
    claim = _claimer(db).next()
    assert claim is not None
    moments = iter([100.0, 101.0, 102.0, 103.0, 104.0])
    session = TokenSession(CouchTokenPool(db), claim, lease=60, clock=lambda: next(moments))
    rev = db.get(token_id)["_rev"]
    session.note_status("downloading")  # 100
    session.note_status("running")  # 101
    assert db.get(token_id)["_rev"] == rev  # nothing written yet
    assert session.flush(older_than=5.0) is False  # 102: the oldest waited only 2 s
    session.finish(0)  # 103
    stored = db.get(token_id)
    assert stored["times"]["downloading"] == 100.0
    assert stored["times"]["running"] == 101.0
    assert stored["times"]["done"] == 103.0
    assert stored["status"] == "done"
    assert int(stored["_rev"].split("-")[0]) == int(rev.split("-")[0]) + 1  # one write


def test_flush_writes_what_was_noted(db: CouchDB) -> None:
    (token_id,) = _add(db, 1)
    claim = _claimer(db).next()
    assert claim is not None
    session = TokenSession(CouchTokenPool(db), claim, lease=60)
    assert session.flush() is False  # nothing noted: no request
    session.note_status("running")
    assert session.flush() is True
    assert db.get(token_id)["status"] == "running"
    assert session.flush() is False


def test_inline_attachments_keep_the_earlier_ones(db: CouchDB) -> None:
    """Logs written with the final update do not drop the token's srm.txt or old logs."""
    (token_id,) = _add(db, 1)
    doc = db.get(token_id)
    db.put_attachment(token_id, doc["_rev"], "srm.txt", b"srm://a\n", "text/plain")
    claim = _claimer(db).next()
    assert claim is not None
    session = TokenSession(CouchTokenPool(db), claim, lease=60)
    data = bytes(range(256)) * 4
    session.finish(0, attachments={"attempt1_stdout.log": (data, "text/plain")}, extra="x")
    stored = db.get(token_id)
    assert stored["extra"] == "x"
    assert set(stored["_attachments"]) == {"srm.txt", "attempt1_stdout.log"}
    assert db.get_attachment(token_id, "srm.txt") == b"srm://a\n"
    assert db.get_attachment(token_id, "attempt1_stdout.log") == data
