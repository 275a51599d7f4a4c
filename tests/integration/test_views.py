"""View membership on the real server equals the Python state function, doc by doc."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from grid_lrt.shared import views
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.token import TokenState, is_token, new_token, state_of
from tests.couchserver import CouchServer
from tests.integration.helpers import couch

pytestmark = pytest.mark.worker

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
