"""Token pools on the test server's databases."""

from __future__ import annotations

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.pool import CouchTokenPool


def pool_of(db: CouchDB, *, patience: float = 0.0) -> CouchTokenPool:
    """The token pool on ``db``, with its design document in place."""
    pool = CouchTokenPool(db, patience=patience)
    pool.ensure_views()
    return pool
