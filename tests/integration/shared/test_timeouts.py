"""A server that answers too late is reported as late, not as refused (issue 13).

After many writes a view query waits for the index to catch up: with 10^6 reset tokens on
pouchdb-server that is longer than the 3 x 600 s the client waited, and the error said
"connection failed (refused, reset or name not resolved)" after "5 attempts", because
``requests`` raises a ``ConnectionError`` when urllib3's retries of a read timeout run out. A
proxy in front of the real server delays every answer.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from grid_lrt.shared.couch import CouchDB, CouchUnreachableError
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import new_token
from tests.support.couchdb import CouchServer
from tests.support.faultproxy import FaultProxy
from tests.support.helpers import couch

TYPE = "late"


@pytest.fixture
def db(couchdb_server: CouchServer, couch_db_name: str) -> CouchDB:
    return couch(couchdb_server, couch_db_name)


@pytest.fixture
def proxy(couchdb_server: CouchServer) -> Iterator[FaultProxy]:
    with FaultProxy(couchdb_server.url) as p:
        yield p


def _through(
    proxy: FaultProxy, server: CouchServer, name: str, read: float, doc_read: float
) -> CouchDB:
    return CouchDB(
        proxy.url,
        name,
        user=server.user,
        password=server.password,
        timeout=(5.0, read),
        doc_timeout=(5.0, doc_read),
        backoff=0.05,
    )


def test_a_late_view_answer_is_reported_as_late_with_the_fix(
    db: CouchDB, proxy: FaultProxy, couchdb_server: CouchServer
) -> None:
    pool = CouchTokenPool(db)
    pool.ensure_views()
    db.bulk_docs([new_token(TYPE, "t_1", {})])
    assert pool.counts(TYPE)  # the index is built: the proxy's delay is all that is late
    late = CouchTokenPool(_through(proxy, couchdb_server, db.name, 0.3, 5.0))
    assert late.partitioned is False  # learnt now, before the answers are late
    proxy.delay = 1.0
    with pytest.raises(CouchUnreachableError) as caught:
        late.counts(TYPE)
    message = str(caught.value)
    assert "did not answer a view query within 0.3 s (3 attempts)" in message, message
    assert "index" in message and "refused" not in message
    assert "LRT_VIEW_TIMEOUT=" in caught.value.hint
    assert caught.value.transient


def test_a_late_document_answer_is_reported_as_late(
    db: CouchDB, proxy: FaultProxy, couchdb_server: CouchServer
) -> None:
    db.bulk_docs([new_token(TYPE, "t_2", {})])
    late = _through(proxy, couchdb_server, db.name, 5.0, 0.3)
    proxy.delay = 1.0
    with pytest.raises(CouchUnreachableError) as caught:
        late.get("t_2")
    message = str(caught.value)
    assert "did not answer within 0.3 s (3 attempts)" in message, message
    assert "view" not in message and "refused" not in message
