"""Fixtures the launcher's integration tests share."""

from __future__ import annotations

import pytest

from grid_lrt.shared.couch import CouchDB
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.pools import pool_of


@pytest.fixture
def db(couchdb_server: CouchServer, couch_db_name: str) -> CouchDB:
    """A fresh database on the test server, with the pool's design document in place."""
    handle = couch(couchdb_server, couch_db_name)
    pool_of(handle)
    return handle
