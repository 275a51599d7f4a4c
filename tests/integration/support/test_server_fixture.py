"""The CouchDB test server is real and behaves the way our token-pool code relies on.

Runs against whatever ``couchdb_server`` resolves to (COUCHDB_URL, Docker CouchDB 3, or
pouchdb-server 4.2.0); see tests/support/couchdb_fixtures.py.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from typing import Any, Iterator

import pytest
import requests

from tests.support.couchdb import REAL_COUCHDB_REASON, CouchServer

# ES5 only: CouchDB 3.0/3.1's SpiderMonkey 1.8.5 knows no const/arrow functions (reference §1.5.8).
STATE_MAP = """function (doc) {
  if (!doc.type) { return; }
  var state = doc.done > 0 ? "done" : (doc.lock > 0 ? "locked" : "todo");
  emit([doc.type, state, doc._id], null);
}"""


@pytest.fixture
def session(couchdb_server: CouchServer) -> Iterator[requests.Session]:
    with couchdb_server.session() as s:
        yield s


@pytest.fixture
def db(couchdb_server: CouchServer, couch_db_name: str) -> str:
    """URL of the per-test database."""
    return couchdb_server.db_url(couch_db_name)


def _json_ct(r: requests.Response) -> None:
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", r.headers


def _rows(r: requests.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert isinstance(rows, list)
    return rows


# --------------------------------------------------------------------------------------------------
# The fixtures themselves
# --------------------------------------------------------------------------------------------------


def test_server_value(couchdb_server: CouchServer, request: pytest.FixtureRequest) -> None:
    assert re.fullmatch(r"https?://[^/@]+", couchdb_server.url), couchdb_server.url
    assert couchdb_server.kind in ("couchdb", "pouchdb-server")
    with pytest.raises(dataclasses.FrozenInstanceError):
        couchdb_server.url = "http://127.0.0.1:1"  # type: ignore[misc]
    assert request.node.get_closest_marker("couchdb") is not None  # added from the fixture


def test_welcome_matches_kind(couchdb_server: CouchServer, session: requests.Session) -> None:
    r = session.get(couchdb_server.url + "/")
    assert r.status_code == 200
    welcome = r.json()
    if couchdb_server.kind == "couchdb":
        assert welcome["couchdb"] == "Welcome"
    else:
        assert "couchdb" not in welcome and "express-pouchdb" in welcome


def test_couch_db_name_is_unique_and_created(
    couch_db_name: str, db: str, session: requests.Session
) -> None:
    assert re.fullmatch(r"test_[0-9a-f]{12}", couch_db_name)
    r = session.get(db)
    assert r.status_code == 200, r.text
    assert r.json()["db_name"] == couch_db_name
    assert r.json()["doc_count"] == 0


def test_credentials_are_checked(couchdb_server: CouchServer, db: str) -> None:
    if not couchdb_server.user:
        pytest.skip("COUCHDB_URL has no credentials")
    r = requests.get(db, auth=(couchdb_server.user, couchdb_server.password + "-wrong"), timeout=30)
    assert r.status_code == 401


def test_non_loopback_requests_are_blocked(_loopback_only: list[str]) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"non-loopback host '192\.0\.2\.1'"):
        requests.get("http://192.0.2.1:5984/", timeout=0.5)  # TEST-NET-1: never routed
    assert len(_loopback_only) == 1
    _loopback_only.clear()  # handled here; don't fail at teardown


# --------------------------------------------------------------------------------------------------
# Server behaviour our code relies on
# --------------------------------------------------------------------------------------------------


def test_json_content_type_with_accept_header(
    couchdb_server: CouchServer, db: str, session: requests.Session
) -> None:
    for r in (
        session.get(couchdb_server.url + "/"),
        session.get(db),
        session.put(db + "/doc1", json={"a": 1}),
        session.get(db + "/doc1"),
        session.get(db + "/missing"),
    ):
        _json_ct(r)
    r = session.get(db + "/missing")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_create_doc_and_stale_rev_conflict(db: str, session: requests.Session) -> None:
    r = session.put(db + "/tok1", json={"type": "t", "lock": 0, "done": 0})
    assert r.status_code == 201, r.text
    rev1 = r.json()["rev"]
    assert r.json()["ok"] is True and rev1.startswith("1-")

    doc = session.get(db + "/tok1").json()
    assert doc["_rev"] == rev1 and doc["lock"] == 0

    r = session.put(db + "/tok1", json={**doc, "lock": 1})
    assert r.status_code == 201, r.text
    rev2 = r.json()["rev"]
    assert rev2.startswith("2-")

    # the same stale rev again: somebody else got there first
    r = session.put(db + "/tok1", json={**doc, "lock": 2})
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "conflict"

    # no rev at all for an existing doc is a conflict too
    r = session.put(db + "/tok1", json={"type": "t", "lock": 3})
    assert r.status_code == 409, r.text

    assert session.get(db + "/tok1").json()["_rev"] == rev2


def test_bulk_docs_with_conflict_entry(db: str, session: requests.Session) -> None:
    r = session.post(
        db + "/_bulk_docs", json={"docs": [{"_id": "a", "n": 1}, {"_id": "b", "n": 1}]}
    )
    assert r.status_code == 201, r.text
    revs = {row["id"]: row["rev"] for row in r.json()}
    assert set(revs) == {"a", "b"}

    r = session.put(db + "/a", json={"_rev": revs["a"], "n": 2})  # makes revs["a"] stale
    assert r.status_code == 201

    r = session.post(
        db + "/_bulk_docs",
        json={
            "docs": [
                {"_id": "a", "_rev": revs["a"], "n": 3},
                {"_id": "b", "_rev": revs["b"], "n": 3},
                {"_id": "c"},
            ]
        },
    )
    assert r.status_code == 201, r.text
    results = {row["id"]: row for row in r.json()}
    assert results["a"]["error"] == "conflict"
    assert "ok" not in results["a"] or not results["a"]["ok"]
    assert results["b"].get("ok") is True and results["b"]["rev"].startswith("2-")
    assert results["c"].get("ok") is True
    assert session.get(db + "/a").json()["n"] == 2


@pytest.fixture
def state_view(db: str, session: requests.Session) -> str:
    """A design doc with a map view + _count reduce, and 7 docs; returns the view URL."""
    r = session.put(
        db + "/_design/tokens",
        json={
            "language": "javascript",
            "views": {"by_state": {"map": STATE_MAP, "reduce": "_count"}},
        },
    )
    assert r.status_code == 201, r.text
    docs: list[dict[str, Any]] = (
        [{"_id": f"t_todo_{i}", "type": "t", "lock": 0, "done": 0} for i in (2, 0, 1)]
        + [
            {"_id": f"t_locked_{i}", "type": "t", "lock": 1700000000 + i, "done": 0}
            for i in range(2)
        ]
        + [{"_id": "t_done_0", "type": "t", "lock": 1700000000, "done": 1700000100}]
        + [{"_id": "x_todo_0", "type": "x", "lock": 0, "done": 0}, {"_id": "no_type"}]
    )
    r = session.post(db + "/_bulk_docs", json={"docs": docs})
    assert r.status_code == 201 and all(row.get("ok") for row in r.json()), r.text
    return db + "/_design/tokens/_view/by_state"


def test_view_count_reduce_group_level(state_view: str, session: requests.Session) -> None:
    assert _rows(session.get(state_view)) == [{"key": None, "value": 7}]

    rows = _rows(session.get(state_view, params={"group_level": 2}))
    assert [(row["key"], row["value"]) for row in rows] == [
        (["t", "done"], 1),
        (["t", "locked"], 2),
        (["t", "todo"], 3),
        (["x", "todo"], 1),
    ]

    rows = _rows(session.get(state_view, params={"group_level": 1}))
    assert [(row["key"], row["value"]) for row in rows] == [(["t"], 6), (["x"], 1)]


def test_array_key_range_query(state_view: str, session: requests.Session) -> None:
    todo: dict[str, str] = {
        "startkey": json.dumps(["t", "todo"]),
        "endkey": json.dumps(["t", "todo", {}]),
    }

    rows = _rows(session.get(state_view, params={**todo, "reduce": "false"}))
    assert [row["id"] for row in rows] == ["t_todo_0", "t_todo_1", "t_todo_2"]  # sorted by key
    assert all(row["key"][:2] == ["t", "todo"] for row in rows)

    rows = _rows(
        session.get(
            state_view, params={**todo, "reduce": "false", "limit": "1", "include_docs": "true"}
        )
    )
    assert len(rows) == 1 and rows[0]["doc"]["_id"] == "t_todo_0" and rows[0]["doc"]["lock"] == 0

    assert _rows(session.get(state_view, params=todo)) == [{"key": None, "value": 3}]

    locked = {
        "startkey": json.dumps(["t", "locked"]),
        "endkey": json.dumps(["t", "locked", {}]),
        "reduce": "false",
    }
    assert [row["id"] for row in _rows(session.get(state_view, params=locked))] == [
        "t_locked_0",
        "t_locked_1",
    ]


def test_inline_attachment_roundtrip_all_byte_values(db: str, session: requests.Session) -> None:
    payload = bytes(range(256))
    doc: dict[str, Any] = {
        "type": "t",
        "_attachments": {
            "blob.bin": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(payload).decode("ascii"),
            }
        },
    }
    r = session.put(db + "/withatt", json=doc)
    assert r.status_code == 201, r.text

    stub = session.get(db + "/withatt").json()["_attachments"]["blob.bin"]
    assert stub["stub"] is True
    assert stub["length"] == 256
    assert stub["content_type"] == "application/octet-stream"
    assert stub["digest"] == "md5-" + base64.b64encode(hashlib.md5(payload).digest()).decode(
        "ascii"
    )

    r = session.get(db + "/withatt/blob.bin", headers={"Accept": "*/*"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/octet-stream")
    assert r.content == payload

    inline = session.get(db + "/withatt", params={"attachments": "true"}).json()["_attachments"][
        "blob.bin"
    ]
    assert base64.b64decode(inline["data"]) == payload


@pytest.mark.couchdb3
def test_couchdb3_security_defaults(
    couchdb_server: CouchServer, db: str, session: requests.Session
) -> None:
    """A new database on CouchDB 3 is admin-only (pouchdb-server leaves it open, reference §1.5)."""
    assert couchdb_server.kind == "couchdb", (
        REAL_COUCHDB_REASON
    )  # the couchdb3 gate skipped otherwise

    assert session.get(db).status_code == 200  # admin
    anon_read = requests.get(db, headers={"Accept": "application/json"}, timeout=30)
    assert anon_read.status_code == 401, anon_read.text
    assert anon_read.json()["error"] == "unauthorized"
    anon_write = requests.put(
        db + "/anon", json={"a": 1}, headers={"Accept": "application/json"}, timeout=30
    )
    assert anon_write.status_code in (401, 403), anon_write.text
    assert session.get(db + "/anon").status_code == 404
