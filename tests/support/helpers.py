"""Small helpers shared by the integration tests and the other support modules."""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Iterable
from urllib.parse import quote

from grid_lrt.shared.couch import CouchDB

if TYPE_CHECKING:  # tests.support.couchdb imports in_ci from here
    from tests.support.couchdb import CouchServer


def in_ci() -> bool:
    """``CI`` is ``true`` (or ``1``/``yes``): a missing component fails a test instead of skipping.

    A green CI run that silently skipped the tests of a missing server proves nothing.
    """
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def couch(server: CouchServer, name: str) -> CouchDB:
    """Our own CouchDB handle on the fixture's server and database."""
    return CouchDB(server.url, name, user=server.user or None, password=server.password)


def documents_text(server: CouchServer, name: str, doc_ids: Iterable[str]) -> str:
    """The documents ``doc_ids`` of database ``name``, each with every attachment decoded, as
    one text (to assert that a secret is in none of them).

    Asks for ``Accept: application/json``: with ``attachments=true`` and no such header Apache
    CouchDB answers ``multipart/related`` (pouchdb-server answers JSON either way).
    """
    texts = []
    with server.session() as session:
        for doc_id in doc_ids:
            answer = session.get(
                f"{server.db_url(name)}/{quote(doc_id, safe='')}",
                params={"attachments": "true"},
                timeout=10,
            )
            answer.raise_for_status()
            texts.append(answer.text)
            for item in answer.json().get("_attachments", {}).values():
                texts.append(base64.b64decode(item.get("data", "")).decode(errors="replace"))
    return "\n".join(texts)
