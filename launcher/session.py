"""Conflict-safe, fenced writes to the one token a launcher owns.

Every write goes through :meth:`TokenSession.update`: apply a change to the copy in hand and
``PUT`` it with its ``_rev``. On a 409 (the heartbeat thread, the user, or another launcher
wrote in between) it re-reads the token, checks that this launcher still owns it (locked, same
``attempt``, same ``owner`` nonce; see ``shared/lease.py``) and re-applies the change. If the
token was requeued or claimed by a newer attempt meanwhile, it raises :class:`TokenLostError`
and writes nothing: a zombie launcher cannot overwrite a newer attempt.

Writes are serialised by a lock, so the heartbeat thread and the main thread never conflict
with each other. A server that cannot be reached is retried with backoff for up to
``patience`` seconds (by then the lease has run out and another launcher may take over). A
write whose answer was lost and that is sent again meets its own revision (409): the re-read
shows our own change already there, and that counts as written.

The closing write (:meth:`TokenSession.finish`) may be *deferred*: the loop then sends it in
the same ``_bulk_docs`` request as the lock of the next token (``claim.py``), one request
instead of two. Each document of that request keeps its own compare-and-set; if the closing
part conflicts, :meth:`TokenSession.close` writes it the usual way.
"""

from __future__ import annotations

import base64
import copy
import functools
import logging
import threading
import time
from typing import Any, Callable, Dict, List, MutableMapping, Optional, Tuple, TypeVar

from grid_lrt.shared.couch import (
    ConflictError,
    CouchDB,
    CouchUnreachableError,
    Document,
    DocumentNotFoundError,
)
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import finish, owns, renew, requeue, stamp
from grid_lrt.shared.schema import TokenState, state_of

from .claim import Claim

__all__ = ["Attachments", "TokenLostError", "TokenSession"]

#: name → (bytes, content type): attachments written inline with a document update.
Attachments = Dict[str, Tuple[bytes, str]]
Change = Callable[[MutableMapping[str, Any]], None]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_ROUNDS = 8


def _same_change(stored: MutableMapping[str, Any], written: MutableMapping[str, Any]) -> bool:
    """True when ``stored`` holds exactly the fields of ``written`` (attachments aside)."""
    skip = ("_rev", "_attachments")
    return {k: v for k, v in stored.items() if k not in skip} == {
        k: v for k, v in written.items() if k not in skip
    } and set(stored.get("_attachments") or {}) == set(written.get("_attachments") or {})


def _inline(doc: MutableMapping[str, Any], attachments: Optional[Attachments]) -> None:
    """Add attachments to the document itself (base64), next to the stubs of the others."""
    if not attachments:
        return
    stubs = doc.get("_attachments")
    merged: Dict[str, Any] = dict(stubs) if isinstance(stubs, dict) else {}
    for name, (data, content_type) in attachments.items():
        merged[name] = {
            "content_type": content_type,
            "data": base64.b64encode(data).decode("ascii"),
        }
    doc["_attachments"] = merged


class TokenLostError(LrtError):
    """The token is no longer ours (requeued after a lost lease, reclaimed, or deleted)."""


class TokenSession:
    """The launcher's handle on the token it claimed."""

    def __init__(
        self,
        db: CouchDB,
        claim: Claim,
        *,
        lease: float,
        patience: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.token_id = claim.token_id
        self.attempt = claim.attempt
        self.owner = claim.owner
        self.lease = lease
        self.patience = patience
        self.clock = clock
        self.sleep = sleep
        self._doc: Document = claim.doc
        self._lock = threading.RLock()
        self._pending: List[Tuple[str, float]] = []
        self._closing: Optional[Change] = None

    @property
    def doc(self) -> Dict[str, Any]:
        """A copy of the token as last written or read."""
        with self._lock:
            return copy.deepcopy(dict(self._doc))

    # -- the one write path ------------------------------------------------------------------

    def _fresh(self) -> Document:
        try:
            return self.db.get(self.token_id)
        except DocumentNotFoundError:
            raise TokenLostError(f"token {self.token_id} was deleted while it ran") from None

    def _ours(self, fresh: Document) -> Document:
        if not owns(fresh, self.attempt, self.owner):
            raise TokenLostError(
                f"token {self.token_id} is no longer ours: it was requeued or claimed again "
                f"(attempt now {fresh.get('attempt')}, ours {self.attempt}); dropping this run"
            )
        return fresh

    def _reread(self) -> Document:
        return self._ours(self._fresh())

    def _patiently(self, action: Callable[[], _T]) -> _T:
        deadline = self.clock() + self.patience
        pause = 1.0
        while True:
            try:
                return action()
            except CouchUnreachableError as exc:
                if self.clock() + pause > deadline:
                    raise
                log.warning("%s; retrying in %.0f s", exc.message, pause)
                self.sleep(pause)
                pause = min(pause * 2, 60.0)

    def _prepared(self, change: Change) -> Document:
        doc = Document(copy.deepcopy(dict(self._doc)))
        for status, moment in self._pending:
            stamp(doc, status, moment)
        change(doc)
        return doc

    def _landed(self, doc: Document) -> None:
        self._doc = doc
        self._pending.clear()

    def update(self, change: Change) -> None:
        """Apply ``change`` to the token and save it, conflict-safe and fenced.

        Raises:
            TokenLostError: another attempt owns the token now; nothing was written.
        """
        with self._lock:
            for _ in range(_ROUNDS):
                doc = self._prepared(change)
                try:
                    self._patiently(functools.partial(self.db.save, doc))
                except ConflictError:
                    fresh = self._patiently(self._fresh)
                    if _same_change(fresh, doc):  # our own write, its answer lost: it landed
                        doc["_rev"] = fresh["_rev"]
                        self._landed(doc)
                        return
                    self._doc = self._ours(fresh)
                    continue
                self._landed(doc)
                return
            raise LrtError(f"token {self.token_id} kept changing under us; write abandoned")

    # -- the deferred closing write ----------------------------------------------------------

    @property
    def closing_pending(self) -> bool:
        """True while a deferred :meth:`finish` waits to be written."""
        return self._closing is not None

    def closing_doc(self) -> Optional[Document]:
        """The document the deferred closing write would ``PUT`` now, or None."""
        with self._lock:
            return None if self._closing is None else self._prepared(self._closing)

    def closing_landed(self, doc: Document, rev: str) -> None:
        """``doc`` (from :meth:`closing_doc`) was written as ``rev`` by the next claim's request."""
        with self._lock:
            doc["_rev"] = rev
            self._landed(doc)
            self._closing = None

    def close(self) -> None:
        """Write the deferred closing change, if one waits (the usual fenced update).

        Raises:
            TokenLostError: another attempt owns the token now; nothing was written.
        """
        with self._lock:
            change, self._closing = self._closing, None
            if change is not None:
                self.update(change)

    # -- coalesced status changes ------------------------------------------------------------

    def note_status(self, status: str) -> None:
        """Record a status change (with its time) to go out with the next write.

        The heartbeat thread flushes it within about a second (:meth:`flush`), so a status that
        lasts only milliseconds (a quick pipeline) costs no request of its own: it is written
        together with the next one, still with its own time in ``times``.
        """
        with self._lock:
            self._pending.append((status, self.clock()))

    def flush(self, older_than: float = 0.0) -> bool:
        """Write the noted status changes if the oldest waited ``older_than`` seconds (not
        while a deferred closing write, which carries them, waits)."""
        with self._lock:
            if self._closing is not None or not self._pending:
                return False
            if self.clock() - self._pending[0][1] < older_than:
                return False
            self.update(lambda doc: None)
            return True

    # -- what the run loop says --------------------------------------------------------------

    def set_status(self, status: str, **fields: Any) -> None:
        """``status`` with its time in ``times``, plus any other fields."""
        now = self.clock()

        def change(doc: MutableMapping[str, Any]) -> None:
            stamp(doc, status, now)
            doc.update(fields)

        self.update(change)

    def set_fields(self, **fields: Any) -> None:
        self.update(lambda doc: doc.update(fields))

    def heartbeat(self) -> None:
        """Renew the lease (also while a deferred closing write waits); none once closed."""
        with self._lock:
            if state_of(self._doc) is not TokenState.LOCKED:
                return  # closed or given back: there is no lease to keep
            now = self.clock()
            self.update(lambda doc: renew(doc, now=now, lease=self.lease))

    def finish(
        self,
        code: int,
        *,
        message: str = "",
        attachments: Optional[Attachments] = None,
        deferred: bool = False,
        **fields: Any,
    ) -> None:
        """Close the token: ``done``, ``output = code``, status done/error, plus ``fields``
        and ``attachments``, all in one write.

        With ``deferred`` nothing is written yet: the caller sends :meth:`closing_doc` with its
        next request, or calls :meth:`close`.
        """
        now = self.clock()

        def change(doc: MutableMapping[str, Any]) -> None:
            doc.update(fields)
            finish(doc, now=now, code=code)
            if message:
                doc["launcher_status"] = message
            _inline(doc, attachments)

        if deferred:
            with self._lock:
                self._closing = change
            return
        self.update(change)

    def requeue(
        self, reason: str, *, default_max_scrub: int, attachments: Optional[Attachments] = None
    ) -> TokenState:
        """Give the token back (SIGTERM): todo with ``scrub_count + 1``, or error when exhausted."""
        now = self.clock()
        result = [TokenState.TODO]

        def change(doc: MutableMapping[str, Any]) -> None:
            result[0] = requeue(doc, now=now, reason=reason, default_max_scrub=default_max_scrub)
            _inline(doc, attachments)

        self.update(change)
        return result[0]

    def attachment(self, name: str) -> Optional[bytes]:
        """An attachment of the token, or None when it has none of that name."""
        stubs = self._doc.get("_attachments") or {}
        if name not in stubs:
            return None
        return self._patiently(lambda: self.db.get_attachment(self.token_id, name))

    def attach(self, name: str, data: bytes, content_type: str) -> None:
        """Add or replace an attachment (fenced like every write)."""
        with self._lock:
            for _ in range(_ROUNDS):
                rev = str(self._doc["_rev"])
                try:
                    self._patiently(
                        functools.partial(
                            self.db.put_attachment, self.token_id, rev, name, data, content_type
                        )
                    )
                except ConflictError:
                    self._doc = self._patiently(self._reread)
                    continue
                # Re-read so the copy in hand carries the new attachment's stub: a later PUT
                # of a document without a stub would delete the attachment.
                self._doc = self._patiently(self._reread)
                return
            raise LrtError(f"token {self.token_id} kept changing under us; {name} not attached")
