"""Which todo token to claim next: a random pick in a window, bounded retries, reaping.

The pick policy only; the claim itself (one request that reads a view row with its document,
the check that it is still todo, the compare-and-set lock, a finished token's closing write
carried along) is :meth:`TokenPool.claim <grid_lrt.shared.pool.base.TokenPool.claim>`.

* Pick a random position among the first ``window`` todo rows of the type, so that hundreds of
  launchers do not all fight over the first row. When there are fewer rows than the position,
  the window shrinks to what exists, as the todo count says (not an attempt: nobody beat us).
* A row already claimed (stale) or a lock lost to another launcher counts as an attempt;
  after ``attempts`` in a row the claim gives up (:class:`ClaimContentionError`), after short
  random pauses that grow with the attempts.
* Expired leases are taken back on the way (``TokenPool.requeue_expired``): whenever the todo
  view is empty and some other token is locked, and otherwise at most once per
  ``reap_every`` seconds per launcher.
* A finished token's closing write (``carry``) rides along with the first lock that is sent.
  If it did not land that way (no lock was sent, or it met an edit), it is still pending in
  its session, and the run loop writes it on its own (``TokenRun.close``).
"""

from __future__ import annotations

import logging
import random
import time
from typing import Callable, Mapping, Optional

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import DEFAULT_MAX_SCRUB, Worker
from grid_lrt.shared.pool import Claim, ClaimOutcome, FencedWrite, TokenPool
from grid_lrt.shared.schema import TokenState

__all__ = ["ACTIVE", "Claim", "ClaimContentionError", "Claimer"]

log = logging.getLogger(__name__)

#: The states a launcher counts when it runs out of todo rows: what is left, what is running.
ACTIVE = (TokenState.TODO, TokenState.LOCKED)


class ClaimContentionError(LrtError):
    """Every attempt to claim a token lost to another launcher (the pool is far too busy)."""


class Claimer:
    """Claims tokens of one type for one launcher process."""

    def __init__(
        self,
        pool: TokenPool,
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
        self.pool = pool
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
        self._window = window
        #: Totals over this launcher's life (the benchmark reports them): claims made, claim
        #: rounds lost to other launchers, and of those the ones where the view's row was
        #: already taken when its document was read (the others lost the lock: 409).
        self.claims = 0
        self.conflicts = 0
        self.stale_rows = 0

    def reap(self) -> int:
        """Take back tokens whose lease expired; return how many went back to todo."""
        self._last_reap = self.clock()
        self._window = self.window  # the pool may have grown since the window shrank
        moved = self.pool.requeue_expired(
            self.token_type, now=self._last_reap, default_max_scrub=self.max_scrub
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

    def _reap_when_empty(
        self, carry: Optional[FencedWrite], counts: Mapping[TokenState, int]
    ) -> int:
        """:meth:`reap` with no todo row left, unless no token is locked but our own just
        finished one (``carry``): then no lease can have run out, and the lease view, which
        only the reaper reads and the server indexes only when it is read, is left alone
        (bringing it up to date after a long drain takes the server seconds)."""
        if counts[TokenState.LOCKED] <= (0 if carry is None else 1):
            return 0
        return self.reap()

    def next(self, carry: Optional[FencedWrite] = None) -> Optional[Claim]:
        """Claim one todo token; None when there is no work (after reaping expired leases).

        ``carry``: a finished token's closing write, sent with the first lock attempt.

        Raises:
            ClaimContentionError: ``attempts`` claims in a row lost to other launchers.
        """
        if self.clock() - self._last_reap >= self.reap_every:
            self.reap()
        conflicts = 0
        reaped_on_empty = False
        attempt = 0
        while attempt < self.attempts:
            position = self.rng.randrange(self._window)
            result = self.pool.claim(
                self.token_type,
                position,
                worker=self.worker,
                lease=self.lease,
                clock=self.clock,
                carry=carry,
            )
            if result.carried:
                carry = None
            if result.outcome is ClaimOutcome.NO_ROW:
                counts = self.pool.counts(self.token_type, ACTIVE)
                todo = counts[TokenState.TODO]
                if 0 < todo < self._window:
                    # Fewer todo rows than the window: shrink it to what exists (one count,
                    # not a query per halving) and look again. It ends: the window shrinks.
                    self._window = todo
                    continue
                if todo:  # the count and the query disagree (rows taken or made between)
                    if position > 0:
                        self._window = position  # shrinks on every such miss: it ends
                    else:
                        attempt += 1  # bounded, as a lost round is
                    continue
                if reaped_on_empty or not self._reap_when_empty(carry, counts):
                    return None
                reaped_on_empty = True
                continue
            if result.claim is not None:
                result.claim.conflicts = conflicts
                self.claims += 1
                return result.claim
            if result.outcome is ClaimOutcome.STALE:
                self.stale_rows += 1  # claimed between the index read and the document read
            conflicts += 1
            self.conflicts += 1
            attempt += 1
            self.sleep(self.rng.uniform(0, 0.05 * attempt))
        raise ClaimContentionError(
            f"could not claim a {self.token_type} token in {self.attempts} attempts: "
            "other launchers took every token first",
            hint="this is rare; start fewer launchers at once, or raise --window",
        )
