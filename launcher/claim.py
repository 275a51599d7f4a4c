"""Claiming a todo token: compare-and-set on ``_rev``, a random pick, bounded retries.

One claim round:

1. Pick a random position among the first ``window`` todo rows of the type, so that hundreds
   of launchers do not all fight over the first row, and ask the database-wide view for that
   one row with its document (``skip=r&limit=1&include_docs=true``: one request). When there
   are fewer rows than the position, the window shrinks to what exists.
   The view is queried up to date: ``stale=update_after`` answers sooner, but measured with
   16 launchers on pouchdb-server it costs the server more per token (27-29 ms of CPU
   against 22 ms), and the server is what limits a pool's throughput.
2. Check, on the revision in hand, that it is still ``todo`` (the view may lag behind the
   documents; picas 1.1.2 skips this check and processes tokens twice).
3. Lock it (``lease.apply_claim``) and ``PUT`` it with that ``_rev``. A 409 means another
   launcher won: pick again, after a short random pause that grows with the retries. Stale
   rows and 409s count as attempts (``attempts`` in a row and the claim gives up); a miss
   beyond the end of a short todo list does not.

The closing write of the token the launcher just finished can ride along (``closing``): the
lock and that write then go in one ``_bulk_docs`` request, each document with its own
compare-and-set, so a launcher needs two requests per token (this one and the view query)
where picas needs four. Whatever happens to the lock, the closing part is tried only once
here; if it did not land, the caller writes it on its own (``TokenSession.close``).

Expired leases are taken back on the way (``tokendb.requeue_expired``): whenever the todo view
is empty, and otherwise at most once per ``reap_every`` seconds per launcher.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Protocol

from grid_lrt.shared import views
from grid_lrt.shared.couch import (
    ConflictError,
    CouchDB,
    CouchError,
    CouchUnreachableError,
    Document,
)
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import DEFAULT_MAX_SCRUB, Worker, apply_claim, owns
from grid_lrt.shared.schema import TokenState, state_of
from grid_lrt.shared.tokendb import requeue_expired

__all__ = ["Claim", "ClaimContentionError", "Claimer", "Closing"]

log = logging.getLogger(__name__)


class ClaimContentionError(LrtError):
    """Every attempt to claim a token lost to another launcher (the pool is far too busy)."""


class Closing(Protocol):
    """A finished token's closing write waiting to go out (``TokenSession`` is one)."""

    def closing_doc(self) -> Optional[Document]:
        """The document to write (with the ``_rev`` it replaces), or None when none waits."""

    def closing_landed(self, doc: Document, rev: str) -> None:
        """``doc`` was written as revision ``rev``."""


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
        self._window = window
        #: Totals over this launcher's life (the benchmark reports them): claims made, claim
        #: rounds lost to other launchers, and of those the ones where the view's row was
        #: already taken when its document was read (the others lost the lock PUT: 409).
        self.claims = 0
        self.conflicts = 0
        self.stale_rows = 0

    def reap(self) -> int:
        """Take back tokens whose lease expired; return how many went back to todo."""
        self._last_reap = self.clock()
        self._window = self.window  # the pool may have grown since the window shrank
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

    def next(self, closing: Optional[Closing] = None) -> Optional[Claim]:
        """Claim one todo token; None when there is no work (after reaping expired leases).

        ``closing``: a finished token's closing write, sent with the first lock attempt.

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
            doc = self._row(position)
            if doc is None and position > 0:
                # Fewer todo rows than that: shrink the window and look again. Not an attempt
                # (nobody beat us), and it ends: the window shrinks on every miss, down to 1.
                self._window = position
                continue
            if doc is None:
                if reaped_on_empty or not self.reap():
                    return None
                reaped_on_empty = True
                continue
            if state_of(doc) is not TokenState.TODO:
                self.stale_rows += 1  # claimed between the index read and the document read
            else:
                claim = self._try(doc, closing)
                closing = None  # carried once, landed or not
                if claim is not None:
                    claim.conflicts = conflicts
                    self.claims += 1
                    return claim
            conflicts += 1
            self.conflicts += 1
            attempt += 1
            self.sleep(self.rng.uniform(0, 0.05 * attempt))
        raise ClaimContentionError(
            f"could not claim a {self.token_type} token in {self.attempts} attempts: "
            "other launchers took every token first",
            hint="this is rare; start fewer launchers at once, or raise --window",
        )

    def _row(self, position: int) -> Optional[Document]:
        """The todo token at ``position`` of the view, with its current document, or None."""
        rows = self.db.view(
            views.DB_DDOC,
            views.DB_VIEW,
            startkey=[self.token_type, TokenState.TODO.value],
            endkey=[self.token_type, TokenState.TODO.value, {}],
            reduce=False,
            skip=position,
            limit=1,
            include_docs=True,
        )["rows"]
        if not rows or not isinstance(rows[0].get("doc"), dict):
            return None
        return Document(rows[0]["doc"])

    def _try(self, doc: Document, closing: Optional[Closing] = None) -> Optional[Claim]:
        token_id = str(doc["_id"])
        if state_of(doc) is not TokenState.TODO:
            return None  # the view row was stale: someone claimed it already
        owner = uuid.uuid4().hex
        attempt = apply_claim(
            doc, now=self.clock(), lease=self.lease, worker=self.worker, owner=owner
        )
        carried = closing.closing_doc() if closing is not None else None
        try:
            if closing is None or carried is None:
                self.db.save(doc)
            else:
                self._save_with(carried, closing, doc)
        except (ConflictError, CouchUnreachableError) as exc:
            # Lost the race, unless our own write landed and only its answer was lost (a
            # retried PUT then meets its own revision): the owner nonce tells.
            current = self.db.get_or_none(token_id)
            if current is None or not owns(current, attempt, owner):
                if isinstance(exc, CouchUnreachableError):
                    raise
                return None
            doc = current
        log.info("claimed %s (attempt %d)", token_id, attempt)
        return Claim(doc=doc, attempt=attempt, owner=owner, conflicts=0)

    def _save_with(self, carried: Document, closing: Closing, doc: Document) -> None:
        """``_bulk_docs`` of [closing write, lock]; sets ``doc``'s ``_rev`` when it is locked.

        Raises:
            ConflictError: the lock lost (the closing write may have landed all the same).
            CouchError: the server refused the lock for another reason.
        """
        first, second = self.db.bulk_docs([carried, doc])
        if first.get("ok"):
            closing.closing_landed(carried, str(first["rev"]))
        if second.get("ok"):
            doc["_rev"] = str(second["rev"])
            return
        if second.get("error") == "conflict":
            raise ConflictError(f"token {doc['_id']}: lock conflict", status=409)
        raise CouchError(_bulk_failure(doc, second))


def _bulk_failure(doc: Document, result: Dict[str, Any]) -> str:
    return (
        f"cannot lock token {doc['_id']}: {result.get('error', 'error')}: "
        f"{result.get('reason', '')}".rstrip(": ")
    )
