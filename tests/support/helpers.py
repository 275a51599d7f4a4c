"""Small helpers shared by the integration tests and the other support modules."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

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
