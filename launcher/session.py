"""The launcher's handle on the token it claimed: every write fenced, statuses coalesced.

Every write goes through :meth:`TokenSession.update`: a change to the copy in hand, handed to
the pool as a :class:`~grid_lrt.shared.pool.base.FencedWrite`. The pool writes it with
compare-and-set and, when another writer got there first (the user, or another launcher),
gives the fresh revision back to this session's fence: the token is still ours while it is
locked with our ``attempt`` and ``owner`` nonce (``shared/lease.py``). If it was requeued or
claimed by a newer attempt meanwhile, :class:`TokenLostError` is raised and nothing is
written: a zombie launcher cannot overwrite a newer attempt. Revisions, conflicts and
patience with a silent server are the pool's business, not this module's.

Writes are serialised by a lock, so the heartbeat thread and the main thread never conflict
with each other.

The closing write (:meth:`TokenSession.finish`) may be *deferred*: it then waits as
:attr:`TokenSession.closing` until the next claim carries it in the same request as the lock
of the next token (``TokenPool.claim``), one request instead of two; what did not land that
way is written by :meth:`TokenSession.close`.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from typing import Any, Callable, Dict, List, MutableMapping, Optional, Tuple

from grid_lrt.shared.couch import Document
from grid_lrt.shared.lease import attempt_of, finish, owns, renew, requeue, stamp
from grid_lrt.shared.pool import Claim, Patience, TokenLostError, TokenPool
from grid_lrt.shared.schema import TokenState, inline_attachment, num, state_of

__all__ = ["Attachments", "TokenClosedError", "TokenLostError", "TokenSession"]

#: name → (bytes, content type): attachments written inline with a document update.
Attachments = Dict[str, Tuple[bytes, str]]
Change = Callable[[MutableMapping[str, Any]], None]

log = logging.getLogger(__name__)


def _inline(doc: MutableMapping[str, Any], attachments: Optional[Attachments]) -> None:
    """Add attachments to the document itself (base64), next to the stubs of the others."""
    if not attachments:
        return
    stubs = doc.get("_attachments")
    merged: Dict[str, Any] = dict(stubs) if isinstance(stubs, dict) else {}
    for name, (data, content_type) in attachments.items():
        merged[name] = inline_attachment(data, content_type)
    doc["_attachments"] = merged


class TokenClosedError(TokenLostError):
    """The token is already closed by this very attempt (the closing write landed while a
    renewal was on its way): nothing more is written, and nothing is wrong."""


class _Write:
    """One change of a session, as the pool writes it (a ``FencedWrite``)."""

    def __init__(self, session: TokenSession, change: Change) -> None:
        self.session = session
        self.change = change

    @property
    def token_id(self) -> str:
        return self.session.token_id

    def prepared(self) -> Document:
        return self.session._prepared(self.change)

    def rebase(self, stored: Document) -> None:
        self.session._rebase(stored)

    def landed(self, doc: Document) -> None:
        self.session._landed(doc, self)


class TokenSession:
    """The launcher's handle on the token it claimed."""

    def __init__(
        self,
        pool: TokenPool,
        claim: Claim,
        *,
        lease: float,
        clock: Callable[[], float] = time.time,
        settle: Optional[float] = None,
    ) -> None:
        self.pool = pool
        #: the database has several writable copies (seconds replication may take, None: it
        #: has one): the claim is checked against the token's conflict revisions at each
        #: heartbeat, before results are committed and after the commit is recorded
        self.settle = settle
        self.token_id = claim.token_id
        self.attempt = claim.attempt
        self.owner = claim.owner
        self.lease = lease
        self.clock = clock
        self._doc: Document = claim.doc
        self._lock = threading.RLock()
        self._pending: List[Tuple[str, float]] = []
        self.closing: Optional[_Write] = None
        """The deferred closing write, until it has landed (for the next claim to carry)."""

    @property
    def doc(self) -> Dict[str, Any]:
        """A copy of the token as last written or read."""
        with self._lock:
            return copy.deepcopy(dict(self._doc))

    # -- the one write path ------------------------------------------------------------------

    def _ours(self, stored: Document) -> Document:
        if self._closed_by_us(stored):
            self._doc = stored  # our closing write landed (its answer not yet known here)
            raise TokenClosedError(f"token {self.token_id} is closed by this attempt")
        if not owns(stored, self.attempt, self.owner):
            raise TokenLostError(
                f"token {self.token_id} is no longer ours: it was requeued or claimed again "
                f"(attempt now {stored.get('attempt')}, ours {self.attempt}); dropping this run"
            )
        return stored

    def _closed_by_us(self, stored: Document) -> bool:
        """``stored`` is done or in error, closed by this attempt (not taken over)."""
        return (
            state_of(stored) in (TokenState.DONE, TokenState.ERROR)
            and attempt_of(stored) == self.attempt
            and stored.get("owner") == self.owner
        )

    def _prepared(self, change: Change) -> Document:
        with self._lock:
            doc = Document(copy.deepcopy(dict(self._doc)))
            for status, moment in self._pending:
                stamp(doc, status, moment)
            change(doc)
            return doc

    def _rebase(self, stored: Document) -> None:
        with self._lock:
            self._doc = self._ours(stored)

    def _landed(self, doc: Document, write: _Write) -> None:
        with self._lock:
            self._doc = doc
            self._pending.clear()
            if self.closing is write:
                self.closing = None

    def update(self, change: Change, *, patience: Optional[Patience] = None) -> None:
        """Apply ``change`` to the token and save it, conflict-safe and fenced.

        ``patience``: instead of the pool's (the heartbeat tries once and schedules its own
        retries).

        Raises:
            TokenLostError: another attempt owns the token now; nothing was written.
            WriteAbandonedError: the token kept changing under us.
            CouchError: the server stayed silent (or 5xx) for longer than the patience.
        """
        with self._lock:
            self.pool.write(_Write(self, change), patience=patience)

    def confirm(self) -> None:
        """Read the token afresh and check that it is still ours (before results leave the
        node: an upload or its commit must never happen for a token another attempt owns).

        Raises:
            TokenLostError: it was deleted, requeued or claimed again.
        """
        stored = self.pool.get(self.token_id)
        if stored is None:
            raise TokenLostError(f"token {self.token_id} was deleted while it ran")
        with self._lock:
            self._ours(stored)
            if stored.get("_rev") != self._doc.get("_rev"):
                self._doc = stored  # a user's edit: carry it on, the fence still holds
        self.check_copies()

    def check_copies(self, *, patience: Optional[Patience] = None) -> None:
        """With several writable copies of the database: raise when a rival claim from
        another copy ranks first (:mod:`grid_lrt.shared.pool.replicas`).

        Raises:
            TokenLostError: another launcher's claim of this token holds.
        """
        if self.settle is None:
            return
        found = self.pool.verdict(self.token_id, self.attempt, self.owner, patience=patience)
        if not found.ours:
            raise TokenLostError(
                f"token {self.token_id} is no longer ours: {found.reason} (a claim made on "
                "another copy of the database); dropping this run"
            )

    def record_commit(self, urls: List[str]) -> None:
        """Record, fenced, that this attempt is committing its results to ``urls`` (the
        exactly-once upload calls it between uploading and moving the results into place).

        Raises:
            TokenLostError: the token is not ours any more: nothing may be committed.
        """
        attempt, now = self.attempt, self.clock()

        def change(doc: MutableMapping[str, Any]) -> None:
            doc["results_commit"] = {"attempt": attempt, "urls": list(urls), "time": now}

        self.update(change)
        if self.settle is not None:  # a rival's commit on another copy, if any, arrives
            time.sleep(self.settle)
            self.check_copies()

    # -- the deferred closing write ----------------------------------------------------------

    @property
    def closing_pending(self) -> bool:
        """True while a deferred :meth:`finish` waits to be written."""
        return self.closing is not None

    def close(self) -> None:
        """Write the deferred closing change, if it has not landed yet (the usual fenced write).

        Raises:
            TokenLostError: another attempt owns the token now; nothing was written.
        """
        with self._lock:
            pending = self.closing
            if pending is not None:
                try:
                    self.pool.write(pending)
                finally:
                    self.closing = None

    # -- coalesced status changes ------------------------------------------------------------

    def note_status(self, status: str) -> None:
        """Record a status change (with its time) to go out with the next write.

        The heartbeat thread flushes it within about a second (:meth:`flush`), so a status that
        lasts only milliseconds (a quick pipeline) costs no request of its own: it is written
        together with the next one, still with its own time in ``times``.
        """
        with self._lock:
            self._pending.append((status, self.clock()))

    def flush(self, older_than: float = 0.0, *, patience: Optional[Patience] = None) -> bool:
        """Write the noted status changes if the oldest waited ``older_than`` seconds (not
        while a deferred closing write, which carries them, waits)."""
        with self._lock:
            if self.closing is not None or not self._pending:
                return False
            if self.clock() - self._pending[0][1] < older_than:
                return False
            self.update(lambda doc: None, patience=patience)
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

    @property
    def lease_expires(self) -> float:
        """When the lease last written runs out (the heartbeat's deadline)."""
        with self._lock:
            return float(num(self._doc.get("lease_expires")))

    def heartbeat(self, *, patience: Optional[Patience] = None) -> None:
        """Renew the lease (also while a deferred closing write waits); none once closed."""
        with self._lock:
            if state_of(self._doc) is not TokenState.LOCKED:
                return  # closed or given back: there is no lease to keep
            now = self.clock()
            self.update(lambda doc: renew(doc, now=now, lease=self.lease), patience=patience)
        self.check_copies(patience=patience)

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

        With ``deferred`` nothing is written yet: the next claim carries :attr:`closing`, and
        :meth:`close` writes it if that did not land it.
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
                self.closing = _Write(self, change)
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
        return self.pool.attachment(self.token_id, name)

    def attach(self, name: str, data: bytes, content_type: str) -> None:
        """Add or replace an attachment (inline, fenced like every write).

        The copy in hand is then read again, so that it carries the attachment's stub instead
        of its data (every later write would send the data again otherwise).
        """
        with self._lock:
            self.update(lambda doc: _inline(doc, {name: (data, content_type)}))
            stored = self.pool.get(self.token_id)
            if stored is None:
                raise TokenLostError(f"token {self.token_id} was deleted while it ran")
            self._doc = self._ours(stored)
