"""Conflict-safe, fenced writes to the one token a launcher owns.

Every write goes through :meth:`TokenSession.update`: apply a change to the copy in hand and
``PUT`` it with its ``_rev``. On a 409 (the heartbeat thread, the user, or another launcher
wrote in between) it re-reads the token, checks that this launcher still owns it (locked, same
``attempt``, same ``owner`` nonce; see ``shared/lease.py``) and re-applies the change. If the
token was requeued or claimed by a newer attempt meanwhile, it raises :class:`TokenLostError`
and writes nothing: a zombie launcher cannot overwrite a newer attempt.

Writes are serialised by a lock, so the heartbeat thread and the main thread never conflict
with each other. A server that cannot be reached is retried with backoff for up to
``patience`` seconds (by then the lease has run out and another launcher may take over).
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
from typing import Any, Callable, Dict, MutableMapping, Optional, TypeVar

from grid_lrt.shared.couch import (
    ConflictError,
    CouchDB,
    CouchUnreachableError,
    Document,
    DocumentNotFoundError,
)
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import finish, owns, renew, requeue, stamp
from grid_lrt.shared.token import TokenState

from .claim import Claim

__all__ = ["TokenLostError", "TokenSession"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_ROUNDS = 8


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

    @property
    def doc(self) -> Dict[str, Any]:
        """A copy of the token as last written or read."""
        with self._lock:
            return copy.deepcopy(dict(self._doc))

    # -- the one write path ------------------------------------------------------------------

    def _reread(self) -> Document:
        try:
            fresh = self.db.get(self.token_id)
        except DocumentNotFoundError:
            raise TokenLostError(f"token {self.token_id} was deleted while it ran") from None
        if not owns(fresh, self.attempt, self.owner):
            raise TokenLostError(
                f"token {self.token_id} is no longer ours: it was requeued or claimed again "
                f"(attempt now {fresh.get('attempt')}, ours {self.attempt}); dropping this run"
            )
        return fresh

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

    def update(self, change: Callable[[MutableMapping[str, Any]], None]) -> None:
        """Apply ``change`` to the token and save it, conflict-safe and fenced.

        Raises:
            TokenLostError: another attempt owns the token now; nothing was written.
        """
        with self._lock:
            for _ in range(_ROUNDS):
                doc = copy.deepcopy(self._doc)
                change(doc)
                try:
                    self._patiently(functools.partial(self.db.save, doc))
                except ConflictError:
                    self._doc = self._patiently(self._reread)
                    continue
                self._doc = doc
                return
            raise LrtError(f"token {self.token_id} kept changing under us; write abandoned")

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
        now = self.clock()
        self.update(lambda doc: renew(doc, now=now, lease=self.lease))

    def finish(self, code: int, *, message: str = "") -> None:
        """Close the token: ``done``, ``output = code``, status done/error."""
        now = self.clock()

        def change(doc: MutableMapping[str, Any]) -> None:
            finish(doc, now=now, code=code)
            if message:
                doc["launcher_status"] = message

        self.update(change)

    def requeue(self, reason: str, *, default_max_scrub: int) -> TokenState:
        """Give the token back (SIGTERM): todo with ``scrub_count + 1``, or error when exhausted."""
        now = self.clock()
        result = [TokenState.TODO]

        def change(doc: MutableMapping[str, Any]) -> None:
            result[0] = requeue(doc, now=now, reason=reason, default_max_scrub=default_max_scrub)

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
