"""View membership on the real server equals the Python state function, doc by doc."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from grid_lrt.shared import views
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.schema import TokenState, is_token, new_token, state_of
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch

LOCK_VALUES: list[Any] = [0, 1700000000, "0", "17", "", None, True, -1, "abc", 2.5]
DONE_VALUES: list[Any] = [0, 1700000100, "0", "", None, 99]
OUTPUT_VALUES: list[Any] = ["", 0, 22, "22", "0", -2, "error text", None]
STATUS_VALUES = ["todo", "done", "error", "queued"]
HELD_VALUES: list[Any] = ["", "staging", True, False, 0, 1, None, [], {"x": 1}]


def sample_docs(t_type: str) -> list[dict[str, Any]]:
    """A table of documents covering every state and the JS/Python coercion edge cases."""
    docs = []
    combos = itertools.product(LOCK_VALUES, DONE_VALUES, OUTPUT_VALUES, STATUS_VALUES[:2])
    for n, (lock, done, output, status) in enumerate(combos):
        if n % 3:  # thin the grid out: still several hundred docs, every value appears
            continue
        docs.append(
            new_token(
                t_type,
                f"t_{t_type}_{n:04d}",
                {"lock": lock, "done": done, "output": output, "status": status},
            )
        )
    for n, held in enumerate(HELD_VALUES):
        for status in STATUS_VALUES:
            docs.append(
                new_token(t_type, f"t_{t_type}_held{n}_{status}", {"held": held, "status": status})
            )
    missing_lock = new_token(t_type, f"t_{t_type}_nolock")
    del missing_lock["lock"]
    docs.append(missing_lock)
    docs.append({"_id": f"not_a_token_{t_type}", "type": 5, "lock": 0})
    return docs


@pytest.fixture
def db(couchdb_server: CouchServer, couch_db_name: str) -> CouchDB:
    return couch(couchdb_server, couch_db_name)


def test_database_wide_view_matches_state_of(db: CouchDB) -> None:
    docs = sample_docs("obsA") + sample_docs("obsB")
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    db.save(views.database_design_doc())
    rows = db.view(views.DB_DDOC, views.DB_VIEW, reduce=False)["rows"]
    got = {row["id"]: (row["key"][0], row["key"][1]) for row in rows}
    expected = {d["_id"]: (d["type"], state_of(d).value) for d in docs if is_token(d)}
    assert got == expected
    assert {s for _, s in got.values()} == {s.value for s in TokenState}, "every state covered"
    assert all(row["value"] == row["id"] for row in rows)

    grouped = db.view(
        views.DB_DDOC, views.DB_VIEW, startkey=["obsA"], endkey=["obsA", {}], group_level=2
    )
    counts = {row["key"][1]: row["value"] for row in grouped["rows"]}
    tokens_a = [d for d in docs if is_token(d) and d["type"] == "obsA"]
    assert sum(counts.values()) == len(tokens_a), "overview categories must not overlap"


def test_per_type_views_match_state_of(db: CouchDB) -> None:
    docs = sample_docs("obsA") + sample_docs("obsB")
    db.bulk_docs(docs)
    ddoc = views.type_design_doc("obsA")
    for state in TokenState:
        ddoc["views"][state.value] = views.state_view("obsA", state)
    ddoc["views"]["overview_total"] = views.overview_view("obsA")
    db.save(ddoc)
    tokens_a = [d for d in docs if is_token(d) and d["type"] == "obsA"]
    for state in TokenState:
        rows = db.view("obsA", state.value)["rows"]
        assert {r["id"] for r in rows} == {d["_id"] for d in tokens_a if state_of(d) is state}, (
            state
        )
        assert all(r["key"] == r["id"] == r["value"] for r in rows)
    overview = {r["key"]: r["value"] for r in db.view("obsA", "overview_total", group=True)["rows"]}
    assert sum(overview.values()) == len(tokens_a)
    for state in TokenState:
        assert overview.get(state.value, 0) == sum(1 for d in tokens_a if state_of(d) is state)


def test_condition_view_keeps_seed_template(db: CouchDB) -> None:
    db.bulk_docs(
        [
            new_token("obsA", "t_a_1", {"manual_int": 0}),
            new_token("obsA", "t_a_2", {"manual_int": 1}),
            new_token("obsB", "t_b_1", {"manual_int": 0}),
        ]
    )
    ddoc = views.type_design_doc("obsA")
    ddoc["views"]["demo"] = views.condition_map(
        "obsA", "doc.manual_int == 0 ", "doc._id", "doc.manual_int"
    )
    db.save(ddoc)
    rows = db.view("obsA", "demo")["rows"]
    assert [(r["id"], r["value"]) for r in rows] == [("t_a_1", 0)]


def test_leases_view_lists_exactly_the_leased_locked_tokens(db: CouchDB) -> None:
    """``leases`` holds the locked tokens with a lease, keyed [type, lease_expires]; its key
    range up to ``now`` (``TokenPool.expired``) is exactly ``lease.lease_expired``."""
    from grid_lrt.shared.lease import lease_expired
    from grid_lrt.shared.pool import CouchTokenPool
    from grid_lrt.shared.schema import num

    t0 = 1_700_000_000

    def token(name: str, t_type: str = "obsA", **fields: Any) -> dict[str, Any]:
        return new_token(t_type, f"t_{t_type}_{name}", fields)

    docs = [
        token("todo"),
        token("todo_old_lease", lease_expires=t0 + 5),  # reset without clearing: not locked
        token("locked_a", lock=t0, attempt=1, lease_expires=t0 + 100),
        token("locked_b", lock=t0, attempt=3, lease_expires=t0 + 200),
        token("locked_c", lock=t0, attempt=2, lease_expires=float(t0 + 300) + 0.5),
        token("locked_str", lock=str(t0), attempt="4", lease_expires=str(t0 + 150)),
        token("locked_nolease", lock=t0),  # GRID_LRT/picas launcher: never in the view
        token("locked_badlease", lock=t0, lease_expires="soon"),
        token("locked_neglease", lock=t0, lease_expires=-5),
        token("done", lock=t0, done=t0 + 50, output=0, lease_expires=t0 + 100),
        token("error", lock=t0, done=t0 + 50, output=21, lease_expires=t0 + 100),
        token("held", held="staging", lease_expires=t0 + 100),
        token("locked_b", t_type="obsB", lock=t0, attempt=1, lease_expires=t0 + 120),
        {"_id": "not_a_token", "type": 5, "lock": t0, "lease_expires": t0 + 100},
    ]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    db.save(views.database_design_doc())

    rows = db.view(views.DB_DDOC, views.LEASE_VIEW)["rows"]
    leased = [
        d
        for d in docs
        if is_token(d) and state_of(d) is TokenState.LOCKED and num(d.get("lease_expires")) > 0
    ]
    assert {r["id"] for r in rows} == {d["_id"] for d in leased}
    assert {r["id"] for r in rows} == {
        "t_obsA_locked_a",
        "t_obsA_locked_b",
        "t_obsA_locked_c",
        "t_obsA_locked_str",
        "t_obsB_locked_b",
    }
    by_id = {d["_id"]: d for d in docs}
    for row in rows:
        doc = by_id[row["id"]]
        assert row["key"] == [doc["type"], num(doc["lease_expires"])], row
        assert row["value"] == [num(doc.get("attempt")), num(doc.get("heartbeat"))], row
    assert [r["key"] for r in rows] == sorted(r["key"] for r in rows)  # by type, then expiry

    # Includes `now` equal to a lease_expires (t0 + 100): not expired yet, on both sides.
    for now in (0, t0, t0 + 99.5, t0 + 100, t0 + 100.5, t0 + 160, t0 + 250, t0 + 301, t0 + 10**6):
        for t_type in ("obsA", "obsB", "obsC"):
            expected = sorted(
                (d for d in docs if is_token(d) and d["type"] == t_type and lease_expired(d, now)),
                key=lambda d: num(d["lease_expires"]),
            )
            found = CouchTokenPool(db).expired(t_type, now)
            assert found == [d["_id"] for d in expected], (t_type, now)
