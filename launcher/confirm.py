"""Confirming a claim where the database has several writable copies (issue 13).

A CouchDB 3 cluster keeps ``n`` copies of every document and may accept two writes of one
revision, one per copy; servers that replicate to each other do the same. There, a claim
that landed is confirmed after ``settle`` seconds (replication's time to bring in a rival)
by :meth:`TokenPool.verdict <grid_lrt.shared.pool.base.TokenPool.verdict>`, before the
pipeline starts; the session repeats it at each heartbeat and before it commits results.

``LRT_CLAIM_SETTLE`` (``--claim-settle``): ``auto`` (the default) confirms with a settle time
of :data:`AUTO_SETTLE` when the database says it is kept in more than one copy (its
description's ``cluster.n``), and not at all on a single server; ``0`` never; a duration
always (e.g. for servers that replicate to each other, which do not say so).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Optional

from grid_lrt.shared.pool import Claim, TokenPool

from .config import parse_duration

__all__ = ["AUTO_SETTLE", "confirm_claim", "settle_time"]

log = logging.getLogger(__name__)

#: Seconds to wait before confirming a claim on a cluster (replication among its nodes is
#: usually done in milliseconds; a second leaves room for a busy one).
AUTO_SETTLE = 1.0


def settle_time(setting: str, db_info: Mapping[str, Any]) -> Optional[float]:
    """The settle time to confirm claims with, or None: claims need no confirmation."""
    text = setting.strip().lower()
    if text == "auto":
        cluster = db_info.get("cluster")
        copies = cluster.get("n", 1) if isinstance(cluster, Mapping) else 1
        return AUTO_SETTLE if isinstance(copies, int) and copies > 1 else None
    seconds = parse_duration(text, what="LRT_CLAIM_SETTLE")
    return seconds if seconds > 0 else None


def confirm_claim(
    pool: TokenPool, claim: Claim, settle: float, wait: Callable[[float], Any]
) -> bool:
    """After ``settle`` seconds (``wait``: interruptible), does ``claim`` still hold? A server
    that does not answer within the pool's patience lets it go ahead: the heartbeat and the
    check before the results commit ask again."""
    from grid_lrt.shared.couch import CouchError

    wait(settle)
    try:
        found = pool.verdict(claim.token_id, claim.attempt, claim.owner)
    except CouchError as exc:
        log.warning("cannot confirm the claim of %s now (%s); going on", claim.token_id,
                    exc.message)  # fmt: skip
        return True
    return found.ours
