"""The CouchDB adapter: errors become our exceptions with clear messages, no secrets leak."""

from __future__ import annotations

import socket
import time

import pytest

from grid_lrt.shared.couch import (
    ConflictError,
    CouchDB,
    CouchUnreachableError,
    DatabaseNotFoundError,
    DocumentNotFoundError,
    split_credentials,
)
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch


def test_proxy_and_ca_settings_come_from_the_environment_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Looked up at construction for this server (requests would rescan os.environ per call)."""
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:3128")
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/grid-security/bundle.pem")
    db = CouchDB("http://127.0.0.1:5984", "x")
    assert db.session.proxies.get("http") == "http://127.0.0.1:3128"
    assert db.session.verify == "/etc/grid-security/bundle.pem"
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert not CouchDB("http://127.0.0.1:5984", "x").session.proxies  # bypassed for this host


def test_split_credentials() -> None:
    assert split_credentials("http://u:p%40ss@127.0.0.1:5984/") == (
        "http://127.0.0.1:5984",
        "u",
        "p%40ss",
    )
    assert split_credentials("https://host:6984") == ("https://host:6984", None, None)


def test_stale_rev_is_a_conflict(couchdb_server: CouchServer, couch_db_name: str) -> None:
    db = couch(couchdb_server, couch_db_name)
    doc = {"_id": "a", "lock": 0}
    db.save(doc)
    stale = dict(doc)
    doc["lock"] = 1
    db.save(doc)
    with pytest.raises(ConflictError, match="update conflict"):
        db.save(stale)


def test_unknown_database_names_it(couchdb_server: CouchServer) -> None:
    db = couch(couchdb_server, "no_such_db_here")
    with pytest.raises(DatabaseNotFoundError, match="'no_such_db_here' does not exist") as info:
        db.info()
    assert "PICAS_DB" in info.value.hint
    assert not db.exists()


def test_missing_document(couchdb_server: CouchServer, couch_db_name: str) -> None:
    db = couch(couchdb_server, couch_db_name)
    with pytest.raises(DocumentNotFoundError):
        db.get("nope")
    assert db.get_or_none("nope") is None and "nope" not in db


def test_unreachable_server_retries_then_names_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = CouchDB(f"http://alice:s3cret@127.0.0.1:{port}", "x", retries=2, backoff=0.05)
    start = time.monotonic()
    with pytest.raises(CouchUnreachableError) as info:
        db.info()
    assert time.monotonic() - start < 5
    message = str(info.value) + info.value.hint
    assert f"127.0.0.1:{port}" in message and "3 attempts" in message
    assert "s3cret" not in message and "s3cret" not in repr(db)


def test_binary_attachment_roundtrip(couchdb_server: CouchServer, couch_db_name: str) -> None:
    db = couch(couchdb_server, couch_db_name)
    doc = {"_id": "a"}
    db.save(doc)
    payload = bytes(range(256)) * 3
    db.put_attachment("a", doc["_rev"], "dir/plot.png", payload, "image/png")
    assert db.get_attachment("a", "dir/plot.png") == payload


def test_iter_view_pages_through_everything(
    couchdb_server: CouchServer, couch_db_name: str
) -> None:
    db = couch(couchdb_server, couch_db_name)
    db.bulk_docs([{"_id": f"d{i:03d}", "k": i % 3} for i in range(25)])
    db.save({"_id": "_design/x", "views": {"by_k": {"map": "function(doc){ emit(doc.k, null); }"}}})
    rows = list(db.iter_view("x", "by_k", page=4))
    assert len(rows) == 25 and len({r["id"] for r in rows}) == 25


@pytest.mark.parametrize("doc_id", [".", "..", "a/../b"])
def test_dot_segments_in_ids_and_attachment_names_stay_in_the_document(
    couchdb_server: CouchServer, couch_db_name: str, doc_id: str
) -> None:
    """Left unquoted, ``.``/``..`` were resolved by the HTTP client: ``GET ..`` answered the
    server's welcome page, and an attachment ``../x`` named another document's path."""
    db = couch(couchdb_server, couch_db_name)
    rev = db.bulk_docs([{"_id": doc_id, "x": 1}])[0]["rev"]
    assert db.get(doc_id)["_id"] == doc_id
    rev = db.put_attachment(doc_id, rev, "../evil.txt", b"data", "text/plain")
    assert db.get_attachment(doc_id, "../evil.txt") == b"data"
    assert list(db.get(doc_id)["_attachments"]) == ["../evil.txt"]
    db.delete(doc_id, db.get(doc_id)["_rev"])
    assert db.get_or_none(doc_id) is None
    assert db.info()["db_name"] == couch_db_name  # the database itself is untouched
