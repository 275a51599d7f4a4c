"""Fixtures of the campaign tests on the real server: fresh pools, and the unit tests' campaign
folder and writer."""

from __future__ import annotations

from typing import Callable, Iterator, List

import pytest

from grid_lrt.shared.couch import CouchDB
from tests.integration.client.campaign.serverpool import ServerPool
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.unit.client.campaign.conftest import folder, write  # noqa: F401  (fixtures)


@pytest.fixture
def new_pool(couchdb_server: CouchServer, couch_db_name: str) -> Iterator[Callable[[], ServerPool]]:
    """Makes a :class:`ServerPool` on a fresh database of the test server (dropped after)."""
    made: List[CouchDB] = []

    def make() -> ServerPool:
        db = couch(couchdb_server, f"{couch_db_name}_{len(made)}")
        db.create()
        made.append(db)
        pool = ServerPool(db, patience=0.0)
        pool.ensure_views()
        return pool

    yield make
    for db in made:
        db.drop()
