"""Taking back tokens whose launcher is gone (``lrt tokens reset TYPE --stale``).

Two kinds of stale token:

* locked with a lease that expired (a grid-lrt launcher stopped renewing it): requeued exactly
  as a launcher would do it (``TokenPool.requeue_expired``: compare-and-swap, ``scrub_count + 1``,
  error code 5 after ``max_scrub`` requeues, logs kept);
* locked without a lease (GRID_LRT's or picas's launcher) for longer than ``older_than``
  seconds, by the age of ``lock`` (SURF's ``resetTokens.py <view> <hours>``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, MutableMapping, Optional

from grid_lrt.shared.lease import DEFAULT_MAX_SCRUB, requeue
from grid_lrt.shared.pool import TokenPool
from grid_lrt.shared.schema import TokenState, num, state_of

__all__ = ["StaleReport", "find_stale", "reset_stale"]


@dataclass
class StaleReport:
    """What ``reset_stale`` did: ``{id: new state}`` per kind."""

    expired: Dict[str, TokenState] = field(default_factory=dict)
    aged: Dict[str, TokenState] = field(default_factory=dict)

    def summary(self, t_type: str) -> str:
        moved = {**self.expired, **self.aged}
        if not moved:
            return f"{t_type}: no stale tokens"
        back = sum(1 for s in moved.values() if s is TokenState.TODO)
        parts = [f"{back} back to todo"]
        if len(moved) - back:
            parts.append(f"{len(moved) - back} to error (requeued more than max_scrub times)")
        return (
            f"{t_type}: took back {len(moved)} stale token(s) "
            f"({len(self.expired)} with an expired lease, {len(self.aged)} locked too long "
            f"without one): " + ", ".join(parts)
        )


def _aged(doc: MutableMapping[str, Any], cutoff: float) -> bool:
    return (
        state_of(doc) is TokenState.LOCKED
        and num(doc.get("lease_expires")) == 0
        and 0 < num(doc.get("lock")) < cutoff
    )


def find_stale(
    pool: TokenPool, t_type: str, *, now: float, older_than: Optional[float] = None
) -> List[str]:
    """Ids that :func:`reset_stale` would take back (for ``--dry-run``)."""
    ids = pool.expired(t_type, now)
    if older_than is not None:
        locked = pool.ids(t_type, TokenState.LOCKED)
        ids += [d["_id"] for d in pool.docs(locked) if _aged(d, now - older_than)]
    return ids


def reset_stale(
    pool: TokenPool,
    t_type: str,
    *,
    older_than: Optional[float] = None,
    max_scrub: int = DEFAULT_MAX_SCRUB,
    now: Optional[float] = None,
) -> StaleReport:
    """Requeue expired leases (and lease-less locks older than ``older_than`` seconds)."""
    moment = time.time() if now is None else now
    report = StaleReport()
    report.expired = pool.requeue_expired(t_type, now=moment, default_max_scrub=max_scrub)
    if older_than is not None:
        cutoff = moment - older_than

        def take_back(doc: Dict[str, Any]) -> bool:
            if not _aged(doc, cutoff):
                return False
            age = (moment - num(doc.get("lock"))) / 3600
            report.aged[doc["_id"]] = requeue(
                doc,
                now=moment,
                reason=f"locked {age:.1f} h without a lease (reset --stale)",
                default_max_scrub=max_scrub,
            )
            return True

        result = pool.update(pool.ids(t_type, TokenState.LOCKED), take_back)
        for doc_id in list(report.aged):
            if doc_id not in result.changed:
                del report.aged[doc_id]
    return report
