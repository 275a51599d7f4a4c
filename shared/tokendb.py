"""Token-pool operations both ends need: the design document, the todo window, the reaper.

All writes here are compare-and-swap: a document is changed only if the rule still holds on
the revision that is written (``PUT`` with its ``_rev``; a 409 means someone else changed it
first, and the rule is checked again on a fresh read or the document is left alone). This is
what SURF's picas 1.1.2 misses: it locks the latest revision without re-checking ``lock == 0``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, MutableMapping, Optional

from . import views
from .couch import ConflictError, CouchAuthError, CouchDB, Document, DocumentNotFoundError
from .lease import DEFAULT_MAX_SCRUB, lease_expired, requeue
from .schema import TokenState

__all__ = [
    "ensure_views",
    "expired_ids",
    "requeue_expired",
    "todo_ids",
    "update_doc",
]

log = logging.getLogger(__name__)

#: Re-read and re-apply rounds for one document before giving up.
CONFLICT_ROUNDS = 8


def ensure_views(db: CouchDB) -> None:
    """Create or upgrade ``_design/grid_lrt`` (one GET when it is current).

    Raises:
        CouchAuthError: the user may not write design documents (CouchDB 3 needs a database
            admin); the hint says who can fix it.
    """
    wanted = views.database_design_doc()
    current = db.get_or_none(wanted["_id"])
    if current is not None and current.get("views") == wanted["views"]:
        return
    if current is not None:
        wanted["_rev"] = current["_rev"]
    log.info("writing %s to database %s", wanted["_id"], db.name)
    try:
        db.save(wanted)
    except ConflictError:
        pass  # another client wrote it at the same moment; theirs is the same document
    except CouchAuthError as exc:
        raise CouchAuthError(
            f"{exc.message} (writing {wanted['_id']})",
            status=exc.status,
            hint="a database admin must create the views once: "
            "`lrt tokens counts TYPE` run by an admin does it",
        ) from None


def todo_ids(db: CouchDB, t_type: str, limit: int) -> List[str]:
    """Ids of the first ``limit`` todo tokens of ``t_type`` (database-wide view, no docs)."""
    rows = db.view(
        views.DB_DDOC,
        views.DB_VIEW,
        startkey=[t_type, TokenState.TODO.value],
        endkey=[t_type, TokenState.TODO.value, {}],
        reduce=False,
        limit=limit,
    )["rows"]
    return [str(row["id"]) for row in rows]


def expired_ids(db: CouchDB, t_type: str, now: float, limit: Optional[int] = None) -> List[str]:
    """Ids of locked tokens of ``t_type`` whose lease expired before ``now`` (oldest first)."""
    params: Dict[str, Any] = {
        "startkey": [t_type, 0],
        "endkey": [t_type, now],
        "inclusive_end": False,  # expired means lease_expires < now, as lease_expired() says
    }
    if limit is not None:
        params["limit"] = limit
    rows = db.view(views.DB_DDOC, views.LEASE_VIEW, **params)["rows"]
    return [str(row["id"]) for row in rows]


def update_doc(
    db: CouchDB,
    doc_id: str,
    mutate: Callable[[MutableMapping[str, Any]], bool],
    *,
    doc: Optional[Document] = None,
) -> Optional[Document]:
    """Apply ``mutate(doc) -> write?`` and save, re-reading and re-applying on 409.

    ``mutate`` must decide from the document it is given (it is called again on each fresh
    revision). Returns the written document, or None when ``mutate`` declined, the document
    vanished, or it kept conflicting for ``CONFLICT_ROUNDS`` rounds.
    """
    for _ in range(CONFLICT_ROUNDS):
        if doc is None:
            try:
                doc = db.get(doc_id)
            except DocumentNotFoundError:
                return None
        if not mutate(doc):
            return None
        try:
            db.save(doc)
        except ConflictError:
            doc = None
            continue
        return doc
    log.warning("token %s kept changing under us; left alone for now", doc_id)
    return None


def requeue_expired(
    db: CouchDB,
    t_type: str,
    *,
    now: Optional[float] = None,
    default_max_scrub: int = DEFAULT_MAX_SCRUB,
    limit: Optional[int] = None,
) -> Dict[str, TokenState]:
    """Requeue every token of ``t_type`` whose lease expired; return ``{id: new state}``.

    Safe to run from any number of launchers and clients at once: each token is requeued by
    exactly one of them (the lease is checked again on the revision that is written, so a
    heartbeat that arrives first wins and the token stays with its owner).
    """
    moment = time.time() if now is None else now
    outcome: Dict[str, TokenState] = {}

    def take_back(doc: MutableMapping[str, Any]) -> bool:
        if not lease_expired(doc, moment):
            return False
        reason = (
            f"lease expired (attempt {doc.get('attempt')} "
            f"on {doc.get('hostname') or 'unknown host'})"
        )
        state = requeue(doc, now=moment, reason=reason, default_max_scrub=default_max_scrub)
        outcome[str(doc["_id"])] = state
        return True

    for doc_id in expired_ids(db, t_type, moment, limit):
        if update_doc(db, doc_id, take_back) is None:
            outcome.pop(doc_id, None)  # a conflict round recorded it but the write never landed
        else:
            log.info("token %s: lease expired, now %s", doc_id, outcome[doc_id].value)
    return outcome
