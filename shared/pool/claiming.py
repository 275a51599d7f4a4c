"""One claim attempt: read a todo row with its document, lock it by compare-and-set.

::

    view row at ``position`` (+ its document, one request)
      ├─ none ─────────────────────────────────────────────▶ NO_ROW
      ├─ the document is not todo any more (the view lagged) ▶ STALE   (picas 1.1.2 locks it)
      └─ lock it (``lease.apply_claim``) and write it:
           • alone:                      PUT with its ``_rev``
           • with a carried closing write: one ``_bulk_docs`` of [closing, lock], each with
             its own compare-and-set, answers paired by id
         ├─ written ───────────────────────────────────────▶ CLAIMED
         ├─ 409, no answer at all, or a 5xx, and a (patient) re-read shows our owner nonce:
         │  our write landed and only its answer was lost ──▶ CLAIMED
         └─ otherwise (another launcher won, or ours never landed) ▶ LOST

With :class:`Candidates` (the launcher's read-ahead), the rows a query read after its own
are locked by the next attempts without a query, while fresh; one taken meanwhile (a 409 or
no longer todo) is dropped with the rest and that attempt goes on with a fresh query.

A carried closing write is sent once: if it did not land with the lock (it met an edit, or
no answer came), it stays pending with its writer, who writes it on its own
(:meth:`TokenPool.write <grid_lrt.shared.pool.base.TokenPool.write>`).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from grid_lrt.shared import views
from grid_lrt.shared.couch import ConflictError, CouchDB, CouchError, Document
from grid_lrt.shared.lease import Worker, apply_claim, owns
from grid_lrt.shared.schema import TokenState, state_of

from .base import Claim, ClaimAttempt, ClaimOutcome, FencedWrite
from .bulk import pair_by_id
from .patience import ONCE, Patience

__all__ = ["Candidates", "claim_at", "lock_row", "todo_row", "todo_rows"]

log = logging.getLogger(__name__)


class Candidates:
    """Todo rows read along with a claim's own row, for the next claims of this launcher.

    A claim reads ``1 + extra`` rows in its one view query; the next claims lock one of the
    others (picked at random) without a query of their own, while they are younger than
    ``max_age`` seconds. A candidate taken by another launcher in between costs a 409,
    as a lost race does, and is dropped. On a pool of short tokens this cuts the view
    queries, each an index update on the server, to about one per ``1 + extra`` claims; on
    one of long pipelines the candidates expire unused and each claim queries as before.
    """

    def __init__(self, extra: int = 3, max_age: float = 1.0, rng: Optional[random.Random] = None):
        self.extra = max(0, extra)
        self.max_age = max_age
        #: candidates that were taken by another launcher by the time they were tried
        self.misses = 0
        self.rng = rng or random.Random()  # noqa: S311 - load spreading, not security
        self._kept: Dict[str, Tuple[float, List[Document]]] = {}

    def keep(self, t_type: str, docs: List[Document], now: float) -> None:
        if docs and self.extra:
            self._kept[t_type] = (now, list(docs))
        else:
            self._kept.pop(t_type, None)

    def take(self, t_type: str, now: float) -> Optional[Document]:
        read, docs = self._kept.get(t_type, (0.0, []))
        if not docs or now - read > self.max_age:
            self._kept.pop(t_type, None)
            return None
        return docs.pop(self.rng.randrange(len(docs)))

    def forget(self, t_type: str) -> None:
        self._kept.pop(t_type, None)


def todo_rows(
    db: CouchDB, t_type: str, position: int, limit: int = 1, *, partition: Optional[str] = None
) -> List[Document]:
    """Up to ``limit`` todo tokens from ``position`` of the database-wide view (of the
    partitioned one in ``partition``), with their documents (one request).

    The view is queried up to date: ``stale=update_after`` answers sooner, but measured with
    16 launchers on pouchdb-server it costs the server more per token (27-29 ms of CPU
    against 22 ms), and the server is what limits a pool's throughput.
    """
    rows = db.view(
        views.ddoc_for(partition),
        views.DB_VIEW,
        partition=partition,
        startkey=[t_type, TokenState.TODO.value],
        endkey=[t_type, TokenState.TODO.value, {}],
        reduce=False,
        skip=position,
        limit=limit,
        include_docs=True,
    )["rows"]
    return [Document(row["doc"]) for row in rows if isinstance(row.get("doc"), dict)]


def todo_row(db: CouchDB, t_type: str, position: int) -> Optional[Document]:
    """The todo token at ``position`` of the database-wide view, with its document, or None."""
    rows = todo_rows(db, t_type, position)
    return rows[0] if rows else None


def _lock_failure(doc: Mapping[str, Any], answer: Mapping[str, Any]) -> str:
    return (
        f"cannot lock token {doc['_id']}: {answer.get('error', 'error')}: "
        f"{answer.get('reason', '')}".rstrip(": ")
    )


def _bulk_lock(
    db: CouchDB, doc: Document, carried: Document
) -> Tuple[Optional[Document], Mapping[str, Any]]:
    """One ``_bulk_docs`` of [closing write, lock]: (the closing document if it landed, the
    lock's answer). Sets ``doc['_rev']`` when the lock landed."""
    (_, closing), (_, lock) = pair_by_id([carried, doc], db.bulk_docs([carried, doc]))
    landed = None
    if closing.get("ok"):
        carried["_rev"] = str(closing["rev"])
        landed = carried
    if lock.get("ok"):
        doc["_rev"] = str(lock["rev"])
    return landed, lock


def claim_at(
    db: CouchDB,
    t_type: str,
    position: int,
    *,
    worker: Worker,
    lease: float,
    clock: Callable[[], float],
    carry: Optional[FencedWrite],
    patience: Patience = ONCE,
    candidates: Optional[Candidates] = None,
    partition: Optional[str] = None,
) -> ClaimAttempt:
    """One attempt, as drawn in the module docstring: :func:`todo_row`, then :func:`lock_row`
    (the lock's time, and the start of its lease, is ``clock()`` once the row is read).
    With ``candidates``, a fresh one is locked instead of querying the view, and a query
    keeps the rows after its own for the next attempts.

    Raises:
        CouchError: the server stayed silent (or 5xx) longer than ``patience``, or refused
            the lock for another reason than a conflict.
    """
    sent = False
    if candidates is not None:
        cached = candidates.take(t_type, clock())
        if cached is not None:
            tried = lock_row(
                db, cached, worker=worker, lease=lease, now=clock(), carry=carry,
                patience=patience,
            )  # fmt: skip
            if tried.claim is not None:
                return tried
            # Taken by another launcher since it was read: so are its neighbours, likely.
            # Dropped, and this attempt goes on with a fresh query (the carried write, if
            # any, was sent once already).
            candidates.forget(t_type)
            candidates.misses += 1
            sent, carry = tried.carried, None if tried.carried else carry
    extra = candidates.extra if candidates is not None else 0
    docs = patience(lambda: todo_rows(db, t_type, position, 1 + extra, partition=partition))
    if not docs:
        return ClaimAttempt(ClaimOutcome.NO_ROW, carried=sent)
    doc = docs[0]
    if candidates is not None:
        candidates.keep(t_type, docs[1:], clock())
    result = lock_row(
        db, doc, worker=worker, lease=lease, now=clock(), carry=carry, patience=patience
    )
    return dataclasses.replace(result, carried=True) if sent else result


def lock_row(
    db: CouchDB,
    doc: Document,
    *,
    worker: Worker,
    lease: float,
    now: float,
    carry: Optional[FencedWrite] = None,
    patience: Patience = ONCE,
) -> ClaimAttempt:
    """Lock ``doc`` (a todo row's document, as read) unless it is not todo on that revision.

    The lock itself is sent once: when its answer is lost or transient, the outcome is read
    back (patiently) instead of sending it again.

    Raises:
        CouchError: the re-read stayed silent (or 5xx) longer than ``patience``, or the server
            refused the lock for another reason than a conflict.
    """
    if state_of(doc) is not TokenState.TODO:
        return ClaimAttempt(ClaimOutcome.STALE)
    token_id = str(doc["_id"])
    owner = uuid.uuid4().hex
    attempt = apply_claim(doc, now=now, lease=lease, worker=worker, owner=owner)
    landed: Optional[Document] = None
    answer: Mapping[str, Any] = {}
    try:
        if carry is None:
            db.save(doc)
            answer = {"ok": True}
        else:
            landed, answer = _bulk_lock(db, doc, carry.prepared())
    except ConflictError:
        answer = {"error": "conflict"}
    except CouchError as exc:
        if not exc.transient:
            raise
        log.warning("no answer to the lock of %s (%s); reading it back", token_id, exc.message)
    if carry is not None and landed is not None:
        carry.landed(landed)
    if answer and not answer.get("ok") and answer.get("error") != "conflict":
        raise CouchError(_lock_failure(doc, answer))
    if not answer.get("ok"):
        # Lost the race, unless our own write landed and only its answer was lost (a
        # retried request then meets its own revision): the owner nonce tells.
        current = patience(lambda: db.get_or_none(token_id))
        if current is None or not owns(current, attempt, owner):
            return ClaimAttempt(ClaimOutcome.LOST, carried=carry is not None)
        doc = current
    log.info("claimed %s (attempt %d)", token_id, attempt)
    return ClaimAttempt(ClaimOutcome.CLAIMED, Claim(doc, attempt, owner), carried=carry is not None)
