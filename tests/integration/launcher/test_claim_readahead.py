"""Claims read ahead (issue 13: cut the server's work per token): one view query reads the
claimed row and ``readahead`` more; the next claims lock those without a query of their own,
while they are younger than ``max_age``. A candidate another launcher took costs a 409 and
the attempt goes on with a fresh query: never a double claim, never a lost attempt."""

from __future__ import annotations

from typing import Any, List

import pytest

from grid_lrt.launcher.claim import Claimer
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.lease import Worker
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.pool import couchdb as couchdb_pool
from grid_lrt.shared.schema import TokenState, new_token, state_of

TYPE = "ahead"


def _add(db: CouchDB, count: int) -> List[str]:
    docs = [new_token(TYPE, f"t_{n:03d}") for n in range(count)]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    return [d["_id"] for d in docs]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _claimer(db: CouchDB, name: str, *, readahead: int = 3, clock: Any = None) -> Claimer:
    pool = CouchTokenPool(db)
    pool.candidates.extra = readahead
    return Claimer(
        pool, TYPE, worker=Worker(name), lease=600, window=1, sleep=lambda s: None,
        clock=clock or Clock(),
    )  # fmt: skip


@pytest.fixture
def queries(db: CouchDB, monkeypatch: pytest.MonkeyPatch) -> List[str]:
    made: List[str] = []
    real = CouchDB.view

    def counting(self: CouchDB, ddoc: str, name: str, **params: Any) -> Any:
        made.append(name)
        return real(self, ddoc, name, **params)

    monkeypatch.setattr(CouchDB, "view", counting)
    return made


def test_claims_in_a_row_share_one_view_query_per_four(db: CouchDB, queries: List[str]) -> None:
    _add(db, 8)
    claimer = _claimer(db, "wn1")
    claimer.reap()  # the reaper's query, not a claim's
    queries.clear()
    claimed = [claimer.next() for _ in range(8)]
    assert all(c is not None for c in claimed)
    assert len({c.token_id for c in claimed if c}) == 8
    assert queries.count("tokens") == 2, f"one query per 1 + 3 claims: {queries}"
    assert all(state_of(db.get(c.token_id)) is TokenState.LOCKED for c in claimed if c)


def test_without_readahead_every_claim_queries(db: CouchDB, queries: List[str]) -> None:
    _add(db, 4)
    claimer = _claimer(db, "wn1", readahead=0)
    claimer.reap()
    queries.clear()
    assert all(claimer.next() is not None for _ in range(4))
    assert queries.count("tokens") == 4


def test_a_candidate_taken_by_another_launcher_costs_no_attempt(db: CouchDB) -> None:
    _add(db, 6)
    first, rival = _claimer(db, "wn1"), _claimer(db, "wn2", readahead=0)
    mine = first.next()  # reads t_000 .. t_003, locks t_000
    assert mine is not None and mine.token_id == "t_000"
    taken = [rival.next() for _ in range(3)]  # t_001 .. t_003: every candidate of `first`
    assert [c.token_id for c in taken if c] == ["t_001", "t_002", "t_003"]
    before = first.conflicts
    nxt = first.next()
    assert nxt is not None and nxt.token_id in {"t_004", "t_005"}
    assert first.conflicts == before, "the stale candidate did not count as a lost round"
    assert first.pool.candidates.misses == 1  # type: ignore[attr-defined]
    holders = {c.token_id: c.owner for c in [mine, *taken, nxt] if c}
    assert len(holders) == 5
    for token_id, owner in holders.items():
        assert db.get(token_id)["owner"] == owner, "each token locked once, by its claimer"


def test_candidates_older_than_max_age_are_read_again(db: CouchDB, queries: List[str]) -> None:
    _add(db, 4)
    clock = Clock()
    claimer = _claimer(db, "wn1", clock=clock)
    claimer.reap()
    queries.clear()
    assert claimer.next() is not None
    clock.now += claimer.pool.candidates.max_age + 0.5  # type: ignore[attr-defined]
    assert claimer.next() is not None
    assert queries.count("tokens") == 2, "the old candidates were not used"


def test_a_drained_pool_with_nothing_locked_leaves_the_lease_view_alone(
    db: CouchDB, queries: List[str]
) -> None:
    """The lease view is read only by the reaper, so the server brings its index up to date
    only then: after a long drain that took seconds, at every launcher's exit. With nothing
    locked no lease can run out: the current counts say so, the lease view is not read."""
    _add(db, 2)
    claimer = _claimer(db, "wn1")
    for _ in range(2):
        claim = claimer.next()
        assert claim is not None
        doc = db.get(claim.token_id)
        doc["done"], doc["output"] = 2, 0  # finished
        db.save(doc)
    queries.clear()
    assert claimer.next() is None
    assert "leases" not in queries, queries


def test_an_expired_lease_is_reaped_without_the_lease_view(db: CouchDB, queries: List[str]) -> None:
    """Few tokens locked: their leases come from their documents (the claims' view, always
    current); the lease view's answers are the same (checked with it forced)."""
    _add(db, 3)
    clock = Clock()
    holder = _claimer(db, "wn1", clock=clock)
    held = [holder.next() for _ in range(2)]
    assert all(held)
    late = Clock()
    late.now = clock.now + 601  # past the 600 s lease of both
    other = _claimer(db, "wn2", clock=late)
    pool = other.pool
    assert isinstance(pool, CouchTokenPool)
    queries.clear()
    expired = pool.expired(TYPE, late.now)
    running_early = pool.running_leases(TYPE, clock.now)
    assert sorted(expired) == sorted(c.token_id for c in held if c)
    assert [lease.token_id for lease in running_early] == sorted(c.token_id for c in held if c)
    assert "leases" not in queries, queries
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(couchdb_pool, "_FEW_LOCKED", 0)  # many locked: the lease view answers
        assert sorted(pool.expired(TYPE, late.now)) == sorted(expired)
        assert pool.running_leases(TYPE, clock.now) == running_early
    assert "leases" in queries
    queries.clear()
    assert other.reap() == 2
    assert "leases" not in queries
    assert all(state_of(db.get(c.token_id)) is TokenState.TODO for c in held if c)
