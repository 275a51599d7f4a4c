"""Claiming a todo token: compare-and-set on ``_rev``, a random pick, bounded retries.

One claim round:

1. Ask the database-wide view for the first ``window`` todo ids of the type (no documents).
2. Pick one at random, so that hundreds of launchers do not all fight over the first row.
3. ``GET`` it and check, on the revision in hand, that it is still ``todo`` (picas 1.1.2 skips
   this check and processes tokens twice).
4. Lock it (``lease.apply_claim``) and ``PUT`` it with that ``_rev``. A 409 means another
   launcher won: pick again, after a short random pause that grows with the retries.

Expired leases are taken back on the way (``tokendb.requeue_expired``): whenever the todo view
is empty, and otherwise at most once per ``reap_every`` seconds per launcher.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Optional

from grid_lrt.shared.couch import ConflictError, CouchDB, Document
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import DEFAULT_MAX_SCRUB, Worker, apply_claim, owns
from grid_lrt.shared.token import TokenState, state_of
from grid_lrt.shared.tokendb import requeue_expired, todo_ids

__all__ = ["Claim", "ClaimContentionError", "Claimer"]

log = logging.getLogger(__name__)


class ClaimContentionError(LrtError):
    """Every attempt to claim a token lost to another launcher (the pool is far too busy)."""


@dataclass
class Claim:
    """A token this launcher now owns: the document as written, and the claim's identity."""

    doc: Document
    attempt: int
    owner: str
    conflicts: int

    @property
    def token_id(self) -> str:
        return str(self.doc["_id"])


class Claimer:
    """Claims tokens of one type for one launcher process."""

    def __init__(
        self,
        db: CouchDB,
        token_type: str,
        *,
        worker: Worker,
        lease: float,
        window: int = 100,
        attempts: int = 10,
        max_scrub: int = DEFAULT_MAX_SCRUB,
        reap_every: float = 60.0,
        rng: Optional[random.Random] = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.token_type = token_type
        self.worker = worker
        self.lease = lease
        self.window = window
        self.attempts = attempts
        self.max_scrub = max_scrub
        self.reap_every = reap_every
        self.rng = rng or random.Random()  # noqa: S311 - load spreading, not security
        self.clock = clock
        self.sleep = sleep
        self._last_reap = float("-inf")
        #: Totals over this launcher's life (the benchmark reports them).
        self.claims = 0
        self.conflicts = 0

    def reap(self) -> int:
        """Take back tokens whose lease expired; return how many went back to todo."""
        self._last_reap = self.clock()
        moved = requeue_expired(
            self.db, self.token_type, now=self._last_reap, default_max_scrub=self.max_scrub
        )
        back = sum(1 for state in moved.values() if state is TokenState.TODO)
        if moved:
            log.warning(
                "took back %d token(s) whose launcher stopped renewing its lease "
                "(%d back to todo, %d gave up: error code 5)",
                len(moved),
                back,
                len(moved) - back,
            )
        return back

    def next(self) -> Optional[Claim]:
        """Claim one todo token; None when there is no work (after reaping expired leases).

        Raises:
            ClaimContentionError: ``attempts`` claims in a row lost to other launchers.
        """
        if self.clock() - self._last_reap >= self.reap_every:
            self.reap()
        conflicts = 0
        reaped_on_empty = False
        for attempt in range(self.attempts):
            ids = todo_ids(self.db, self.token_type, self.window)
            if not ids:
                if reaped_on_empty or not self.reap():
                    return None
                reaped_on_empty = True
                continue
            claim = self._try(self.rng.choice(ids))
            if claim is not None:
                claim.conflicts = conflicts
                self.claims += 1
                self.conflicts += conflicts
                return claim
            conflicts += 1
            self.sleep(self.rng.uniform(0, 0.05 * (attempt + 1)))
        self.conflicts += conflicts
        raise ClaimContentionError(
            f"could not claim a {self.token_type} token in {self.attempts} attempts: "
            "other launchers took every token first",
            hint="this is rare; start fewer launchers at once, or raise --window",
        )

    def _try(self, token_id: str) -> Optional[Claim]:
        doc = self.db.get_or_none(token_id)
        if doc is None or state_of(doc) is not TokenState.TODO:
            return None  # the view row was stale: someone claimed (or deleted) it already
        owner = uuid.uuid4().hex
        attempt = apply_claim(
            doc, now=self.clock(), lease=self.lease, worker=self.worker, owner=owner
        )
        try:
            self.db.save(doc)
        except ConflictError:
            # Lost the race, unless our own PUT landed and only its answer was lost (a retried
            # PUT then meets its own revision): the owner nonce tells.
            current = self.db.get_or_none(token_id)
            if current is None or not owns(current, attempt, owner):
                return None
            doc = current
        log.info("claimed %s (attempt %d)", token_id, attempt)
        return Claim(doc=doc, attempt=attempt, owner=owner, conflicts=0)
