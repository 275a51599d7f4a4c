"""The token pool: the one seam between grid-lrt's two ends and the database (see ``base``).

``TokenPool`` is the interface; ``CouchTokenPool`` the CouchDB implementation, the only code
that knows revisions, conflicts and how long to retry.
"""

from __future__ import annotations

from .base import (
    BulkResult,
    Claim,
    ClaimAttempt,
    ClaimOutcome,
    ClaimVerdict,
    FencedWrite,
    Lease,
    Mutator,
    TokenLostError,
    TokenPool,
    WriteAbandonedError,
)
from .couchdb import CouchTokenPool
from .patience import ONCE, Patience

__all__ = [
    "ONCE",
    "BulkResult",
    "Claim",
    "ClaimAttempt",
    "ClaimOutcome",
    "ClaimVerdict",
    "CouchTokenPool",
    "FencedWrite",
    "Lease",
    "Mutator",
    "Patience",
    "TokenLostError",
    "TokenPool",
    "WriteAbandonedError",
]
