"""Small helpers shared by the integration tests."""

from __future__ import annotations

from grid_lrt.shared.couch import CouchDB
from tests.support.couchdb import CouchServer


def couch(server: CouchServer, name: str) -> CouchDB:
    """Our own CouchDB handle on the fixture's server and database."""
    return CouchDB(server.url, name, user=server.user or None, password=server.password)
