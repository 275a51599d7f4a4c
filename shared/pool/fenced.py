"""Compare-and-set on one CouchDB document: the write rounds every single-document change uses.

A change is written with the ``_rev`` it was made on (``PUT``). A 409 means another writer got
there first: the document is read again and the change applied again to the fresh revision,
for at most :data:`~.base.CONFLICT_ROUNDS` rounds. Two flavours:

* :func:`update_one` for rules on the document's own fields (``mutate(doc) -> write?``): the
  reaper's requeue, design-document edits, one attachment;
* :func:`write_fenced` for the launcher's writes to the token it owns: the fresh revision is
  handed to the writer's fence (:meth:`~.base.FencedWrite.rebase`), which refuses when the
  token belongs to another attempt now. A write whose answer was lost and that is sent again
  meets its own revision: the stored document then equals what was written
  (:func:`same_change`), and that counts as written.

A server that does not answer is retried by the pool's :class:`~.patience.Patience` (the
launcher keeps trying for minutes; its fence then tells whether the token is still its own).
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, Dict, MutableMapping, Optional

from grid_lrt.shared.couch import ConflictError, CouchDB, Document, DocumentNotFoundError

from .base import CONFLICT_ROUNDS, FencedWrite, Mutator, TokenLostError, WriteAbandonedError
from .patience import ONCE, Patience

__all__ = ["put_attachment", "same_change", "update_one", "write_fenced"]

log = logging.getLogger(__name__)


def same_change(stored: MutableMapping[str, Any], written: MutableMapping[str, Any]) -> bool:
    """True when ``stored`` holds exactly the fields of ``written`` (attachment data aside)."""
    skip = ("_rev", "_attachments")
    return {k: v for k, v in stored.items() if k not in skip} == {
        k: v for k, v in written.items() if k not in skip
    } and set(stored.get("_attachments") or {}) == set(written.get("_attachments") or {})


def write_fenced(db: CouchDB, change: FencedWrite, *, patience: Patience) -> None:
    """Write ``change`` with compare-and-set, re-basing on conflicts (see the module docstring).

    Raises:
        TokenLostError: the token was deleted, or its fence refused a fresh revision.
        WriteAbandonedError: still conflicting after :data:`~.base.CONFLICT_ROUNDS` rounds.
        CouchUnreachableError: the server stayed silent longer than ``patience``.
    """
    token_id = change.token_id

    def fresh() -> Document:
        try:
            return db.get(token_id)
        except DocumentNotFoundError:
            raise TokenLostError(f"token {token_id} was deleted while it ran") from None

    for _ in range(CONFLICT_ROUNDS):
        doc = change.prepared()
        try:
            patience(functools.partial(db.save, doc))
        except ConflictError:
            stored = patience(fresh)
            if same_change(stored, doc):  # our own write, its answer lost: it landed
                doc["_rev"] = stored["_rev"]
                change.landed(doc)
                return
            change.rebase(stored)
            continue
        change.landed(doc)
        return
    raise WriteAbandonedError(f"token {token_id} kept changing under us; write abandoned")


def update_one(
    db: CouchDB,
    doc_id: str,
    mutate: Mutator,
    *,
    doc: Optional[Document] = None,
    default: Optional[Callable[[], Dict[str, Any]]] = None,
    patience: Patience = ONCE,
) -> Optional[Document]:
    """Apply ``mutate(doc) -> write?`` to one document and save it, re-reading on 409.

    Returns the written document, or None when ``mutate`` declined, the document does not
    exist and there is no ``default`` to create it from, or it kept conflicting for
    :data:`~.base.CONFLICT_ROUNDS` rounds (logged).
    """
    for _ in range(CONFLICT_ROUNDS):
        if doc is None:
            doc = patience(functools.partial(db.get_or_none, doc_id))
            if doc is None:
                if default is None:
                    return None
                doc = Document(default(), _id=doc_id)
        if not mutate(doc):
            return None
        try:
            patience(functools.partial(db.save, doc))
        except ConflictError:
            doc = None  # another writer, or our own write whose answer was lost: read again
            continue
        return doc
    log.warning("%s kept changing under us; left alone for now", doc_id)
    return None


def put_attachment(db: CouchDB, doc_id: str, name: str, data: bytes, content_type: str) -> None:
    """Add or replace one attachment on the current revision, re-reading on 409.

    Raises:
        DocumentNotFoundError: no such document.
        WriteAbandonedError: still conflicting after :data:`~.base.CONFLICT_ROUNDS` rounds.
    """
    for _ in range(CONFLICT_ROUNDS):
        rev = db.get(doc_id)["_rev"]
        try:
            db.put_attachment(doc_id, rev, name, data, content_type)
        except ConflictError:
            continue
        return
    raise WriteAbandonedError(f"{doc_id} kept changing under us; {name} not attached")
