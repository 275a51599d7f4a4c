"""``CouchTokenPool``: the :class:`~.base.TokenPool` on a CouchDB(-compatible) database.

It reads through the database-wide design document ``_design/grid_lrt`` (``views.py``: one
view ``tokens`` keyed ``[type, state, id]`` with a ``_count`` reduce, one view ``leases`` of
locked tokens by lease expiry; in a partitioned database, a pool given a ``partition`` claims,
counts and lists in ``_design/grid_lrt_part`` of that partition, see ``partitions.py``) and
writes through the compare-and-set rounds of :mod:`.fenced`, :mod:`.bulk` and
:mod:`.claiming`.

``patience`` (:class:`~.patience.Patience`) is how long every request keeps retrying a
server that does not answer or answers 5xx: the launcher's pool rides out outages of minutes
(``--outage``); the login node's pool has none: a command fails after the HTTP client's own
retries, with a message, instead of hanging.
"""

from __future__ import annotations

import logging
import time
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from grid_lrt.shared import partitions, views
from grid_lrt.shared.couch import ConflictError, CouchAuthError, CouchDB, Document
from grid_lrt.shared.couch_changes import ChangesFeed
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import Worker, lease_expired, requeue
from grid_lrt.shared.schema import TokenState, num

from . import bulk, replicas
from .base import BulkResult, ClaimAttempt, ClaimVerdict, FencedWrite, Lease, Mutator
from .claiming import Candidates, claim_at
from .fenced import put_attachment, update_one, write_fenced
from .patience import Patience

__all__ = ["CouchTokenPool"]

log = logging.getLogger(__name__)

#: Running leases read at most by one ``running_leases`` (the soonest-expiring first).
_LEASE_SCAN = 1000
#: Up to this many locked tokens, leases are read from their documents through the claims'
#: view (always up to date) instead of the lease view: the server indexes a view only when
#: it is read, and the lease view is read by reapers alone, so bringing it up to date after
#: a long drain took seconds, at the moment every launcher ran out of todo tokens at once.
_FEW_LOCKED = 100


class CouchTokenPool:
    """The tokens of one CouchDB database.

    Args:
        db: The database handle (``shared/couch.py``).
        patience: The outage window of every request, in seconds, or a ``Patience``.
        partition: Claim, count and list the tokens of this partition only (a partitioned
            database's, e.g. an OBSID); ``ensure_views`` refuses it on another database.
    """

    def __init__(
        self,
        db: CouchDB,
        *,
        patience: Union[float, Patience] = 0.0,
        partition: Optional[str] = None,
    ) -> None:
        self.db = db
        self.name = db.name
        self.patience = patience if isinstance(patience, Patience) else Patience(patience)
        self.partition = None if partition is None else partitions.require_partition(partition)
        #: learnt from :meth:`described`, the design document or ``GET /db``, the first of them
        self._partitioned: Optional[bool] = None
        self._views_ready = False
        self._feed: Optional[ChangesFeed] = None  # made at the first idle wait
        #: todo rows read along with a claim's own, for this pool's next claims
        self.candidates = Candidates()

    def __repr__(self) -> str:
        return f"CouchTokenPool({self.db!r})"

    # -- design documents ----------------------------------------------------------------------

    @property
    def partitioned(self) -> bool:
        """Whether the database is partitioned (one ``GET /db`` the first time, unless the
        design document told already)."""
        if self._partitioned is None:
            info = self.patience(self.db.info)
            self._partitioned = partitions.is_partitioned(info)
        return self._partitioned

    def described(self, info: Mapping[str, Any]) -> None:
        """Take the database's description (``GET /db``) that the caller read anyway: whether
        it is partitioned is then known without a request of the pool's own."""
        self._partitioned = partitions.is_partitioned(info)

    def ensure_views(self) -> None:
        """Create or upgrade ``_design/grid_lrt`` (one GET when it is current), and in a
        partitioned database ``_design/grid_lrt_part``.

        Raises:
            CouchAuthError: the user may not write design documents (CouchDB 3 needs a
                database admin); the hint says who can fix it.
            LrtError: a ``partition`` was given and the database is not partitioned.
        """
        if self._views_ready:
            return
        current = self.patience(lambda: self.db.get_or_none(f"_design/{views.DB_DDOC}"))
        if current is not None and self._partitioned is None:
            # Only a partitioned database holds a design document with this option (ours).
            self._partitioned = current.get("options") == {"partitioned": False}
        wanted = views.database_design_doc(partitioned_db=self.partitioned)
        self._save_if_changed(wanted, current)
        if self.partitioned:
            twin = views.partitioned_design_doc()
            self._save_if_changed(twin, self.patience(lambda: self.db.get_or_none(twin["_id"])))
        elif self.partition is not None:
            raise LrtError(
                f"database {self.db.name!r} is not partitioned: it has no partition "
                f"{self.partition!r}",
                hint="leave out --db-partition (LRT_DB_PARTITION), or use a database made with "
                "`lrt db create --partitioned` on Apache CouchDB 3",
            )
        self._views_ready = True

    def _save_if_changed(self, wanted: Dict[str, Any], current: Optional[Document]) -> None:
        keys = ("views", "filters", "options")
        if current is not None and all(current.get(k) == wanted.get(k) for k in keys):
            return
        if current is not None:
            wanted["_rev"] = current["_rev"]
        log.info("writing %s to database %s", wanted["_id"], self.db.name)
        try:
            self.patience(lambda: self.db.save(wanted))
        except ConflictError:
            pass  # another client wrote it at the same moment; theirs is the same document
        except CouchAuthError as exc:
            raise CouchAuthError(
                f"{exc.message} (writing {wanted['_id']})",
                status=exc.status,
                hint="a database admin must create the views once: "
                "`lrt tokens status TYPE` run by an admin does it",
            ) from None

    def _query(self, view: str = views.DB_VIEW, **params: Any) -> Dict[str, Any]:
        """A view of ``_design/grid_lrt``; the ``tokens`` view in this pool's partition when
        it has one."""
        self.ensure_views()
        partition = self.partition if view == views.DB_VIEW else None
        ddoc = views.ddoc_for(partition)
        return self.patience(lambda: self.db.view(ddoc, view, partition=partition, **params))

    def placed(self, doc: Mapping[str, Any]) -> Mapping[str, Any]:
        """``doc`` as this database stores a new token: in a partitioned database, its id
        prefixed by its partition (``partitions.placed``); elsewhere unchanged."""
        return partitions.placed(doc) if self.partitioned else doc

    # -- reading -------------------------------------------------------------------------------

    def get(self, token_id: str) -> Optional[Document]:
        return self.patience(lambda: self.db.get_or_none(token_id))

    def docs(self, ids: Sequence[str]) -> Iterator[Dict[str, Any]]:
        return bulk.docs(self.db, ids)

    def ids(
        self, t_type: str, state: Optional[TokenState] = None, *, limit: Optional[int] = None
    ) -> List[str]:
        if state is None:
            start: List[Any] = [t_type]
            end: List[Any] = [t_type, {}]
        else:
            start, end = [t_type, state.value], [t_type, state.value, {}]
        self.ensure_views()
        if limit is not None:
            rows = self._query(startkey=start, endkey=end, reduce=False, limit=limit)["rows"]
            return sorted(str(row["id"]) for row in rows)
        # Only the ids are kept, page by page: a view row (its key, value and two copies of
        # the id) costs about 550 bytes, its id about 90 (bench/million.py).
        pages = self.db.iter_view(
            views.ddoc_for(self.partition), views.DB_VIEW, startkey=start, endkey=end,
            partition=self.partition,
        )  # fmt: skip
        return sorted(str(row["id"]) for row in pages)

    def counts(
        self, t_type: str, states: Optional[Iterable[TokenState]] = None
    ) -> Dict[TokenState, int]:
        wanted = None if states is None else sorted(s.value for s in states)
        if wanted:  # the states' rows lie together, between the first and the last of them
            start: List[Any] = [t_type, wanted[0]]
            end: List[Any] = [t_type, wanted[-1], {}]
        else:
            start, end = [t_type], [t_type, {}]
        rows = self._query(startkey=start, endkey=end, group_level=2)["rows"]
        counts = dict.fromkeys(TokenState, 0)
        for row in rows:
            state = TokenState(row["key"][1])
            if wanted is None or state.value in wanted:
                counts[state] = int(row["value"])
        return counts

    def types(self) -> Dict[str, Dict[TokenState, int]]:
        result: Dict[str, Dict[TokenState, int]] = {}
        for row in self._query(group_level=2)["rows"]:
            t_type, state = row["key"][0], TokenState(row["key"][1])
            result.setdefault(t_type, dict.fromkeys(TokenState, 0))[state] = int(row["value"])
        return result

    def _few_locked(self, t_type: str) -> Optional[List[Document]]:
        """The locked tokens of ``t_type`` (documents), or None when there are more than
        :data:`_FEW_LOCKED` (then the lease view, ordered by expiry, is the cheaper read)."""
        state = TokenState.LOCKED.value
        rows = self._query(
            startkey=[t_type, state],
            endkey=[t_type, state, {}],
            reduce=False,
            include_docs=True,
            limit=_FEW_LOCKED + 1,
        )["rows"]
        if len(rows) > _FEW_LOCKED:
            return None
        return [Document(r["doc"]) for r in rows if isinstance(r.get("doc"), dict)]

    def expired(self, t_type: str, now: float, limit: Optional[int] = None) -> List[str]:
        few = self._few_locked(t_type)
        if few is not None:
            gone = sorted((num(d.get("lease_expires")), d.id) for d in few if lease_expired(d, now))
            return [token_id for _, token_id in gone[:limit]]
        params: Dict[str, Any] = {
            "startkey": [t_type, 0],
            "endkey": [t_type, now],
            "inclusive_end": False,  # expired means lease_expires < now, as lease_expired() says
        }
        if limit is not None:
            params["limit"] = limit
        return [str(row["id"]) for row in self._query(views.LEASE_VIEW, **params)["rows"]]

    def running_leases(self, t_type: str, now: float) -> List[Lease]:
        """The leases of ``t_type`` still running at ``now``, the soonest to run out first
        (at most :data:`_LEASE_SCAN` of them)."""
        few = self._few_locked(t_type)
        if few is not None:
            leases = [
                Lease(d.id, num(d.get("lease_expires")), num(d.get("heartbeat")))
                for d in few
                if num(d.get("lease_expires")) >= now
            ]
            return sorted(leases, key=lambda lease: (lease.expires, lease.token_id))
        rows = self._query(
            views.LEASE_VIEW, startkey=[t_type, now], endkey=[t_type, {}], limit=_LEASE_SCAN
        )["rows"]
        leases = []
        for row in rows:
            value = row.get("value")
            heartbeat = float(value[1]) if isinstance(value, list) and len(value) > 1 else 0.0
            leases.append(Lease(str(row["id"]), float(row["key"][1]), heartbeat))
        return leases

    def attachment(self, token_id: str, name: str) -> bytes:
        return self.patience(lambda: self.db.get_attachment(token_id, name))

    # -- writing in bulk -----------------------------------------------------------------------

    def create(self, docs: Sequence[Mapping[str, Any]]) -> BulkResult:
        return bulk.create(self.db, [self.placed(doc) for doc in docs] if docs else docs)

    def update(self, ids: Iterable[str], mutate: Mutator) -> BulkResult:
        return bulk.update(self.db, ids, mutate)

    def delete(self, ids: Iterable[str]) -> BulkResult:
        return bulk.delete(self.db, ids)

    def delete_revisions(self, revisions: Mapping[str, str]) -> BulkResult:
        return bulk.delete_revisions(self.db, revisions)

    def update_one(
        self,
        doc_id: str,
        mutate: Mutator,
        *,
        doc: Optional[Document] = None,
        default: Optional[Callable[[], Dict[str, Any]]] = None,
    ) -> Optional[Document]:
        return update_one(self.db, doc_id, mutate, doc=doc, default=default)

    def attach(self, token_id: str, name: str, data: bytes, content_type: str) -> None:
        put_attachment(self.db, token_id, name, data, content_type)

    def requeue_expired(
        self,
        t_type: str,
        *,
        now: float,
        default_max_scrub: int,
        limit: Optional[int] = None,
    ) -> Dict[str, TokenState]:
        outcome: Dict[str, TokenState] = {}

        def take_back(doc: Dict[str, Any]) -> bool:
            if not lease_expired(doc, now):
                return False
            reason = (
                f"lease expired (attempt {doc.get('attempt')} "
                f"on {doc.get('hostname') or 'unknown host'})"
            )
            state = requeue(doc, now=now, reason=reason, default_max_scrub=default_max_scrub)
            outcome[str(doc["_id"])] = state
            return True

        for doc_id in self.expired(t_type, now, limit):
            if update_one(self.db, doc_id, take_back, patience=self.patience) is None:
                outcome.pop(doc_id, None)  # a conflict round recorded it; the write never landed
            else:
                log.info("token %s: lease expired, now %s", doc_id, outcome[doc_id].value)
        return outcome

    # -- the launcher's writes -----------------------------------------------------------------

    def claim(
        self,
        t_type: str,
        position: int,
        *,
        worker: Worker,
        lease: float,
        clock: Callable[[], float] = time.time,
        carry: Optional[FencedWrite] = None,
    ) -> ClaimAttempt:
        self.ensure_views()
        return claim_at(
            self.db,
            t_type,
            position,
            worker=worker,
            lease=lease,
            clock=clock,
            carry=carry,
            patience=self.patience,
            candidates=self.candidates,
            partition=self.partition,
        )

    def wait_for_todo(self, t_type: str, timeout: float, *, any_change: bool = False) -> bool:
        # The sequence first, then the count: a token made in between is counted, one made
        # later is a change after ``since``; none is missed.
        since = self.patience(lambda: self.db.info().get("update_seq"))
        if self.counts(t_type, [TokenState.TODO])[TokenState.TODO]:
            return True
        params = {
            "since": since,
            "filter": f"{views.DB_DDOC}/{views.TODO_FILTER}",
            "type": t_type,
            "limit": 1,
        }
        if any_change:
            params["any"] = "1"
        if self.partition is not None:
            params["partition"] = self.partition
        if self._feed is None:
            self._feed = ChangesFeed(self.db)
        answer = self._feed.wait(params, max(0.0, timeout))
        return bool(answer and answer.get("results"))

    def verdict(
        self, token_id: str, attempt: int, owner: str, *, patience: Optional[Patience] = None
    ) -> ClaimVerdict:
        wait = self.patience if patience is None else patience
        return wait(lambda: replicas.verdict(self.db, token_id, attempt, owner))

    def write(self, change: FencedWrite, *, patience: Optional[Patience] = None) -> None:
        write_fenced(self.db, change, patience=self.patience if patience is None else patience)
