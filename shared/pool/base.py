"""The token-pool seam: everything the login node and the launcher do with a pool of tokens.

::

    lrt, grid_lrt.client, GRID_LRT façades        lrt-launcher (claim.py, session.py)
      create / update / delete in bulk,             claim a todo row (with a finished
      ids, docs, counts, attachments,               token's closing write carried along),
      requeue expired leases                        fenced writes of the token it owns
                    │                                          │
                    └──────────────► TokenPool ◄───────────────┘
                                         │
                          CouchTokenPool (couchdb.py, fenced.py, claiming.py)
                          the only code that knows ``_rev``, HTTP 409, conflict
                          rounds, and how long to keep retrying a silent server
                                         │
                                shared/couch.py (HTTP)

Callers say *what* a write must achieve (a ``mutate(doc) -> changed?`` function, or a
:class:`FencedWrite` whose fence says whose token it still is); the pool decides how: which
revision to write, what to do when another writer got there first, and when to give up.
Every answer of a bulk request is paired with its document by ``id``, never by position.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
)

from grid_lrt.shared.couch import Document
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import Worker
from grid_lrt.shared.schema import TokenState

from .patience import Patience

__all__ = [
    "CONFLICT_ROUNDS",
    "BulkResult",
    "Claim",
    "ClaimAttempt",
    "ClaimOutcome",
    "FencedWrite",
    "Lease",
    "Mutator",
    "TokenLostError",
    "TokenPool",
    "WriteAbandonedError",
]

#: Rounds of reading a document again and re-applying a change after a conflict, for every
#: kind of write (single, fenced, bulk), before the write is given up and reported.
CONFLICT_ROUNDS = 8

#: ``mutate(doc) -> write it?``: changes a document in place and says whether to save it. It
#: must decide from the document it is given: on a conflict it is called again on a fresh one.
Mutator = Callable[[Dict[str, Any]], bool]


class TokenLostError(LrtError):
    """The token is no longer ours (requeued after a lost lease, reclaimed, or deleted)."""


class WriteAbandonedError(LrtError):
    """A write kept meeting newer revisions for every allowed round and was given up."""


@dataclass
class BulkResult:
    """What a bulk operation did, id by id."""

    changed: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    existing: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.changed)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self, verb: str) -> str:
        parts = [f"{len(self.changed)} {verb}"]
        if self.existing:
            parts.append(f"{len(self.existing)} already existed (left untouched)")
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} needed no change")
        if self.missing:
            parts.append(f"{len(self.missing)} not found")
        if self.failed:
            parts.append(f"{len(self.failed)} FAILED")
        return ", ".join(parts)


@dataclass
class Claim:
    """A token this launcher now owns: the document as written, and the claim's identity.

    ``attempt`` and ``owner`` (a random nonce) are the fence: a write is this launcher's only
    while the stored token still carries both (``lease.owns``).
    """

    doc: Document
    attempt: int
    owner: str
    conflicts: int = 0

    @property
    def token_id(self) -> str:
        return str(self.doc["_id"])


@dataclass
class ClaimVerdict:
    """What a confirmation found for one claim."""

    ours: bool
    #: conflict revisions seen (0 on a single server)
    conflicts: int = 0
    #: leaves deleted to settle the conflict
    deleted: List[str] = field(default_factory=list)
    #: why the claim is not ours (for the log)
    reason: str = ""


@dataclass(frozen=True)
class Lease:
    """A locked token's lease: when it runs out, and when it was last renewed."""

    token_id: str
    expires: float
    heartbeat: float


class ClaimOutcome(enum.Enum):
    """How one claim attempt at one position of the todo view ended."""

    CLAIMED = "claimed"
    """The token is ours (:attr:`ClaimAttempt.claim`)."""
    NO_ROW = "no row"
    """The todo view has no row at that position (fewer todo tokens than that)."""
    STALE = "stale"
    """The view's row was already claimed when its document was read."""
    LOST = "lost"
    """Another launcher locked the token between our read and our write."""


@dataclass
class ClaimAttempt:
    """The result of :meth:`TokenPool.claim`.

    ``carried`` is True when the carried closing write was sent with this attempt's lock
    (landed or not: it is sent once); the caller stops carrying it.
    """

    outcome: ClaimOutcome
    claim: Optional[Claim] = None
    carried: bool = False


class FencedWrite(Protocol):
    """One change to a token that is valid only while its writer still owns the token.

    The pool asks for the document to write (:meth:`prepared`), and on a conflict hands over
    the stored revision (:meth:`rebase`), which checks the fence and raises
    :class:`TokenLostError` when the token belongs to someone else now; then it asks again.
    """

    @property
    def token_id(self) -> str:
        """The token written."""

    def prepared(self) -> Document:
        """The document to write now: the copy in hand (with its ``_rev``), changed."""

    def rebase(self, stored: Document) -> None:
        """Take ``stored`` as the copy in hand for the next :meth:`prepared`.

        Raises:
            TokenLostError: ``stored`` is not ours any more; nothing must be written.
        """

    def landed(self, doc: Document) -> None:
        """``doc`` (from :meth:`prepared`) was written; its ``_rev`` is the new revision."""


class TokenPool(Protocol):
    """A pool of tokens in one database. All methods block; failures are ``LrtError``s.

    Raises (every method):
        CouchUnreachableError: the server did not answer (after the pool's patience).
        CouchAuthError, DatabaseNotFoundError, CouchError: the server refused.
    """

    name: str
    """The database name, for messages."""

    @property
    def partitioned(self) -> bool:
        """Whether the database is partitioned (``partitions.py``)."""

    def ensure_views(self) -> None:
        """Create or upgrade the pool's design document (one read when it is current)."""

    def placed(self, doc: Mapping[str, Any]) -> Mapping[str, Any]:
        """A new token as the database stores it (a partitioned one: its id prefixed by its
        partition); ``create`` places every document it writes."""

    # -- reading -------------------------------------------------------------------------------

    def get(self, token_id: str) -> Optional[Document]:
        """The current document, or None when there is none."""

    def docs(self, ids: Sequence[str]) -> Iterator[Dict[str, Any]]:
        """The current documents of ``ids`` (missing ones skipped), in batches."""

    def ids(
        self, t_type: str, state: Optional[TokenState] = None, *, limit: Optional[int] = None
    ) -> List[str]:
        """Ids of the tokens of ``t_type`` (in ``state``, if given), sorted."""

    def counts(
        self, t_type: str, states: Optional[Iterable[TokenState]] = None
    ) -> Dict[TokenState, int]:
        """Tokens of ``t_type`` per state (every state present), in one request; with
        ``states``, only those are counted (the others read 0), which on a server that
        reduces row by row (pouchdb-server) costs their rows only."""

    def types(self) -> Dict[str, Dict[TokenState, int]]:
        """Every token type with its per-state counts, in one request."""

    def expired(self, t_type: str, now: float, limit: Optional[int] = None) -> List[str]:
        """Ids of locked tokens of ``t_type`` whose lease ran out before ``now``."""

    def running_leases(self, t_type: str, now: float) -> List[Lease]:
        """The leases of ``t_type`` still running at ``now``, the soonest to run out first."""

    def attachment(self, token_id: str, name: str) -> bytes:
        """The bytes of one attachment (``DocumentNotFoundError`` when there is none)."""

    # -- writing in bulk (the login node) ------------------------------------------------------

    def create(self, docs: Sequence[Mapping[str, Any]]) -> BulkResult:
        """Write new tokens; ids that exist already are reported and left untouched."""

    def update(self, ids: Iterable[str], mutate: Mutator) -> BulkResult:
        """Apply ``mutate`` to each document and write the changed ones, conflict-safe."""

    def delete(self, ids: Iterable[str]) -> BulkResult:
        """Delete documents for real (a deletion revision, never ``_purge``)."""

    def delete_revisions(self, revisions: Mapping[str, str]) -> BulkResult:
        """Delete each document of ``{id: rev}`` only if ``rev`` is still its revision.

        No re-read, no second round: a document written since (or already deleted) is kept
        as it is and listed in ``unchanged``; ``changed`` are the deleted ones. For callers
        that must delete exactly what they read (``lrt tokens archive --delete``).
        """

    def update_one(
        self,
        doc_id: str,
        mutate: Mutator,
        *,
        doc: Optional[Document] = None,
        default: Optional[Callable[[], Dict[str, Any]]] = None,
    ) -> Optional[Document]:
        """Apply ``mutate`` to one document and save it, conflict-safe.

        ``doc`` is a copy already in hand (saves a read); ``default`` makes the document when
        it does not exist. Returns the written document, or None when ``mutate`` declined, the
        document does not exist (and no ``default``), or it kept changing under us.
        """

    def attach(self, token_id: str, name: str, data: bytes, content_type: str) -> None:
        """Add or replace one attachment, conflict-safe."""

    def requeue_expired(
        self,
        t_type: str,
        *,
        now: float,
        default_max_scrub: int,
        limit: Optional[int] = None,
    ) -> Dict[str, TokenState]:
        """Requeue every token of ``t_type`` whose lease expired; ``{id: new state}``.

        Safe from any number of launchers and clients at once: each token is requeued by
        exactly one of them, and a heartbeat that lands first keeps the token with its owner.
        """

    # -- the launcher's writes -----------------------------------------------------------------

    def claim(
        self,
        t_type: str,
        position: int,
        *,
        worker: Worker,
        lease: float,
        clock: Callable[[], float] = ...,
        carry: Optional[FencedWrite] = None,
    ) -> ClaimAttempt:
        """Try to lock the todo token at ``position`` of the todo view of ``t_type``.

        The lock's time (and the start of its lease) is ``clock()`` (default ``time.time``)
        once the row is read.

        ``carry``: a finished token's closing write, sent in the same request as the lock
        when there is a lock to send (then ``carried`` is True). If it lands,
        ``carry.landed`` is called; if not, it stays with its writer, for :meth:`write`.

        Raises:
            CouchError: the server refused the lock for another reason than a conflict.
        """

    def wait_for_todo(self, t_type: str, timeout: float, *, any_change: bool = False) -> bool:
        """Wait up to ``timeout`` seconds for a todo token of ``t_type`` to exist; True as
        soon as one does (the database's ``_changes`` feed, long-polled and filtered to the
        type's todo tokens: no view is queried while nothing happens). ``any_change``: wake
        on any change of a token of the type too (a watched lease renewed, a token finished).

        Raises:
            CouchError: the server stayed silent longer than the pool's patience.
        """

    def verdict(
        self, token_id: str, attempt: int, owner: str, *, patience: Optional[Patience] = None
    ) -> ClaimVerdict:
        """Does the claim ``(attempt, owner)`` still hold, counting the token's conflict
        revisions from other copies of the database (:mod:`.replicas`)? Settles a conflict
        it finds (the losing leaves are deleted).

        Raises:
            CouchError: the server stayed silent longer than ``patience`` (default the
                pool's own).
        """

    def write(self, change: FencedWrite, *, patience: Optional[Patience] = None) -> None:
        """Write a fenced change: conflict-safe, patient with a silent server (``patience``
        instead of the pool's own when given; ``ONCE`` for a single try).

        A write whose answer was lost and that is sent again meets its own revision; it
        counts as written.

        Raises:
            TokenLostError: the token is not ours any more; nothing was written.
            WriteAbandonedError: it kept conflicting for every allowed round.
        """
