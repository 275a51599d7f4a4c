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

A carried closing write is sent once: if it did not land with the lock (it met an edit, or
no answer came), it stays pending with its writer, who writes it on its own
(:meth:`TokenPool.write <grid_lrt.shared.pool.base.TokenPool.write>`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Callable, Mapping, Optional, Tuple

from grid_lrt.shared import views
from grid_lrt.shared.couch import ConflictError, CouchDB, CouchError, Document
from grid_lrt.shared.lease import Worker, apply_claim, owns
from grid_lrt.shared.schema import TokenState, state_of

from .base import Claim, ClaimAttempt, ClaimOutcome, FencedWrite
from .bulk import pair_by_id
from .patience import ONCE, Patience

__all__ = ["claim_at", "lock_row", "todo_row"]

log = logging.getLogger(__name__)


def todo_row(db: CouchDB, t_type: str, position: int) -> Optional[Document]:
    """The todo token at ``position`` of the database-wide view, with its document, or None.

    The view is queried up to date: ``stale=update_after`` answers sooner, but measured with
    16 launchers on pouchdb-server it costs the server more per token (27-29 ms of CPU
    against 22 ms), and the server is what limits a pool's throughput.
    """
    rows = db.view(
        views.DB_DDOC,
        views.DB_VIEW,
        startkey=[t_type, TokenState.TODO.value],
        endkey=[t_type, TokenState.TODO.value, {}],
        reduce=False,
        skip=position,
        limit=1,
        include_docs=True,
    )["rows"]
    if not rows or not isinstance(rows[0].get("doc"), dict):
        return None
    return Document(rows[0]["doc"])


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
) -> ClaimAttempt:
    """One attempt, as drawn in the module docstring: :func:`todo_row`, then :func:`lock_row`
    (the lock's time, and the start of its lease, is ``clock()`` once the row is read).

    Raises:
        CouchError: the server stayed silent (or 5xx) longer than ``patience``, or refused
            the lock for another reason than a conflict.
    """
    doc = patience(lambda: todo_row(db, t_type, position))
    if doc is None:
        return ClaimAttempt(ClaimOutcome.NO_ROW)
    return lock_row(
        db, doc, worker=worker, lease=lease, now=clock(), carry=carry, patience=patience
    )


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
