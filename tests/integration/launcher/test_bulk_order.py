"""Issue 9, finding 1: the answers of ``_bulk_docs`` are paired with their documents by id.

A CouchDB-compatible server does not promise to answer a bulk request in the order of its
documents. A proxy in front of the real server reverses every bulk answer; the launcher's
claim with a carried closing write, and the login node's bulk updates, must still know which
document was written and which was not.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

import pytest

from grid_lrt.launcher.claim import Claimer
from grid_lrt.launcher.session import TokenSession
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.lease import Worker
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, new_token, state_of
from tests.support.couchdb import CouchServer
from tests.support.faultproxy import FaultProxy

TYPE = "order"
WORKER = Worker("wn-test")


@pytest.fixture
def reversing(couchdb_server: CouchServer, couch_db_name: str) -> Iterator[CouchDB]:
    """A handle on the same database through a proxy that reverses every bulk answer."""
    with FaultProxy(couchdb_server.url) as proxy:
        proxy.reorder_bulk = True
        handle = CouchDB(
            proxy.url, couch_db_name, user=couchdb_server.user, password=couchdb_server.password
        )
        yield handle
        assert proxy.reordered > 0, "the proxy reversed no bulk answer: the test proves nothing"


def _add(db: CouchDB, count: int) -> List[str]:
    docs = [new_token(TYPE, f"t_{n:03d}", {}) for n in range(count)]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    return [d["_id"] for d in docs]


def test_a_carried_closing_write_that_conflicts_is_not_believed_written(
    db: CouchDB, reversing: CouchDB
) -> None:
    """The lock lands, the closing part meets an edit; by position the two answers swap."""
    _add(db, 2)
    pool = CouchTokenPool(reversing)
    claimer = Claimer(pool, TYPE, worker=WORKER, lease=60, sleep=lambda s: None)
    first = claimer.next()
    assert first is not None
    session = TokenSession(pool, first, lease=60)
    session.finish(0, deferred=True)
    edited = db.get(first.token_id)
    edited["note"] = "checked by alice"  # the closing part of the bulk request will conflict
    db.save(edited)

    second = claimer.next(carry=session.closing)
    assert second is not None and second.token_id != first.token_id
    assert session.closing_pending, "a conflicting closing write was taken for written"
    assert second.doc["_rev"] == db.get(second.token_id)["_rev"]  # the lock's own revision
    session.close()
    done = db.get(first.token_id)
    assert (state_of(done), done["note"]) == (TokenState.DONE, "checked by alice")


def test_a_lost_lock_is_not_believed_won(db: CouchDB, reversing: CouchDB) -> None:
    """The closing part lands, the lock meets another launcher's lock."""
    _add(db, 2)
    pool = CouchTokenPool(reversing)
    first = Claimer(pool, TYPE, worker=WORKER, lease=60).next()
    assert first is not None
    session = TokenSession(pool, first, lease=60)
    session.finish(0, deferred=True)

    from grid_lrt.shared.pool.claiming import lock_row, todo_row

    doc = todo_row(reversing, TYPE, 0)
    assert doc is not None
    theirs = db.get(str(doc["_id"]))
    theirs["lock"] = 1  # another launcher locks it between our read and our write
    db.save(theirs)
    attempt = lock_row(reversing, doc, worker=WORKER, lease=60, now=1.0, carry=session.closing)
    assert attempt.claim is None, "a lost lock was taken for won"
    assert not session.closing_pending  # the closing part landed, and is known to have
    assert state_of(db.get(first.token_id)) is TokenState.DONE


def test_bulk_updates_report_the_document_that_failed(db: CouchDB, reversing: CouchDB) -> None:
    """One of two updates meets a newer revision each round: it, and only it, is reported."""
    ids = _add(db, 2)
    rounds: Dict[str, int] = {}

    def touch(doc: Dict[str, Any]) -> bool:
        rounds[doc["_id"]] = rounds.get(doc["_id"], 0) + 1
        if doc["_id"] == ids[0]:
            rival = db.get(ids[0])  # someone writes the first token before each of our writes
            rival["note"] = f"rival {rounds[doc['_id']]}"
            db.save(rival)
        doc["touched"] = True
        return True

    result = CouchTokenPool(reversing).update(ids, touch)
    assert result.changed == [ids[1]]
    assert list(result.failed) == [ids[0]]
    assert db.get(ids[1]).get("touched") is True
    assert "touched" not in db.get(ids[0])
