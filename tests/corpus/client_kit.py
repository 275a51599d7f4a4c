"""The login node's bad-input corpus: the seeded database, its snapshot, the case files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from grid_lrt.client.typeviews import TypeViews
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.schema import inline_attachment, new_token
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.paths import DATA
from tests.support.pools import pool_of

TYPE = "corpus"
SECRET = "corpus-Pw-7x"  # the password the cases must never show
SARA_LINE = (DATA / "srm_50_sara.txt").read_text().splitlines()[0]
JUELICH_LINE = (DATA / "srm_juelich.txt").read_text().splitlines()[0]
EVIL_IDS = ("../../victim/autostart/x", "/absolute/token", "nul\x00byte", "x" * 300)

#: Files the cases refer to as ``{name}``; written into the case's folder.
FILES: Dict[str, str] = {
    "good.srm": (DATA / "srm_50_sara.txt").read_text(),
    "mixed.srm": f"{SARA_LINE}\n{JUELICH_LINE}\n",
    "notalink.srm": f"{SARA_LINE}\nnot a link\n",
    "empty.srm": "# nothing but a comment\n\n",
    "unknown_section.cfg": "Token:\n  a: 1\nSandbx: {}\n",
    "wrong_type.cfg": "Token:\n  lock: 'yes'\n",
    "nan.cfg": "Token:\n  ok: 1\n  weight: .nan\n",
    "id.cfg": "Token:\n  _id: fixed\n",
    "bad_yaml.cfg": "Token:\n  status: queued\n   bad: indent\n",
    "other_type.cfg": "Token:\n  type: another_type\n",
    "not_a_mapping.cfg": "- just\n- a list\n",
    "afile": "I am a file, not a folder\n",
}


def _seed(db: CouchDB) -> None:
    pool = pool_of(db)
    docs: List[Dict[str, Any]] = []
    for n in range(7):
        docs.append(new_token(TYPE, f"t_{TYPE}_e{n}", {"lock": 1, "done": 2, "output": 21}))
    docs += [new_token(TYPE, f"t_{TYPE}_d{n}", {"lock": 1, "done": 2}) for n in range(2)]
    docs.append(new_token(TYPE, f"t_{TYPE}_todo"))
    docs += [new_token("evil", token_id, {"done": 1}) for token_id in EVIL_IDS]
    docs.append(new_token("a_b", "t_a_b_x"))
    for doc in docs:
        doc["_attachments"] = {
            "srm.txt": inline_attachment(SARA_LINE.encode() + b"\n", "text/plain"),
            "../../escape.sh": inline_attachment(b"#!/bin/sh\n", "text/plain"),
        }
    assert pool.create(docs).ok
    TypeViews(pool, TYPE).add_status_views()


def snapshot(db: CouchDB) -> Dict[str, str]:
    """Every document of the database (design documents too) and its revision."""
    rows = db.all_docs()["rows"]
    return {str(row["id"]): str(row["value"]["rev"]) for row in rows}


@pytest.fixture
def client_db(
    couchdb_server: CouchServer,
    couch_db_name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[CouchDB]:
    """The seeded database, ``PICAS_*`` pointing at it, and an empty home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PICAS_URL", couchdb_server.url)
    monkeypatch.setenv("PICAS_DB", couch_db_name)
    monkeypatch.setenv("PICAS_USR", couchdb_server.user)
    monkeypatch.setenv("PICAS_USR_PWD", couchdb_server.password)
    db = couch(couchdb_server, couch_db_name)
    _seed(db)
    before = snapshot(db)
    yield db
    assert snapshot(db) == before, "the database changed"
