"""Bulk token operations on the database-wide views: the engine under the seed API and the CLI.

Everything here works in batches: reads through ``_all_docs``/view key ranges, writes through
``_bulk_docs``. A write that loses a race (409) is re-read and re-applied, a bounded number of
times; what still fails is reported, never silently dropped.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

from grid_lrt.shared import tokendb, views
from grid_lrt.shared.couch import CouchDB, CouchError
from grid_lrt.shared.schema import TokenState

__all__ = ["BulkResult", "TokenPool", "inline_attachment"]

log = logging.getLogger(__name__)

#: Documents per ``_bulk_docs`` request (CouchDB's sweet spot is 500-2,000 small docs).
BATCH = 1000
#: Rounds of re-reading and re-applying an update after conflicts.
CONFLICT_ROUNDS = 5

Mutator = Callable[[Dict[str, Any]], bool]


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


def inline_attachment(data: bytes, content_type: str) -> Dict[str, str]:
    """An ``_attachments`` entry carrying ``data`` inline (base64), for ``_bulk_docs``."""
    return {"content_type": content_type, "data": base64.b64encode(data).decode("ascii")}


class TokenPool:
    """The tokens of one database, addressed through ``_design/grid_lrt``."""

    def __init__(self, db: CouchDB) -> None:
        self.db = db
        self._views_ready = False

    # -- design document ---------------------------------------------------------------------

    def ensure_views(self) -> None:
        """Create or upgrade ``_design/grid_lrt`` (one GET when it is current)."""
        if self._views_ready:
            return
        tokendb.ensure_views(self.db)
        self._views_ready = True

    def _query(self, **params: Any) -> Dict[str, Any]:
        self.ensure_views()
        return self.db.view(views.DB_DDOC, views.DB_VIEW, **params)

    # -- reading -----------------------------------------------------------------------------

    def counts(self, t_type: str) -> Dict[TokenState, int]:
        """Tokens of ``t_type`` per state, in one request. Every state is present."""
        rows = self._query(startkey=[t_type], endkey=[t_type, {}], group_level=2)["rows"]
        counts = dict.fromkeys(TokenState, 0)
        for row in rows:
            counts[TokenState(row["key"][1])] = int(row["value"])
        return counts

    def types(self) -> Dict[str, Dict[TokenState, int]]:
        """Every token type in the database with its per-state counts (one request)."""
        result: Dict[str, Dict[TokenState, int]] = {}
        for row in self._query(group_level=2)["rows"]:
            t_type, state = row["key"][0], TokenState(row["key"][1])
            result.setdefault(t_type, dict.fromkeys(TokenState, 0))[state] = int(row["value"])
        return result

    def ids(self, t_type: str, state: Optional[TokenState] = None) -> List[str]:
        """Ids of the tokens of ``t_type`` (in ``state``, if given), sorted."""
        if state is None:
            start: List[Any] = [t_type]
            end: List[Any] = [t_type, {}]
        else:
            start, end = [t_type, state.value], [t_type, state.value, {}]
        self.ensure_views()
        rows = self.db.iter_view(views.DB_DDOC, views.DB_VIEW, startkey=start, endkey=end)
        return sorted(str(row["id"]) for row in rows)

    def docs(self, ids: Sequence[str]) -> Iterator[Dict[str, Any]]:
        """The current documents for ``ids`` (missing ones are skipped), batch by batch."""
        for start in range(0, len(ids), BATCH):
            chunk = list(ids[start : start + BATCH])
            for row in self.db.all_docs(keys=chunk, include_docs=True)["rows"]:
                if row.get("doc"):
                    yield dict(row["doc"])

    # -- writing -----------------------------------------------------------------------------

    def create(self, docs: Sequence[Mapping[str, Any]]) -> BulkResult:
        """Write new tokens in ``_bulk_docs`` batches; existing ids are reported, not touched."""
        result = BulkResult()
        for doc, outcome in zip(docs, self.db.bulk_docs(docs, batch_size=BATCH)):
            doc_id = str(doc["_id"])
            if outcome.get("ok"):
                result.changed.append(doc_id)
            elif outcome.get("error") == "conflict":
                result.existing.append(doc_id)
            else:
                result.failed[doc_id] = f"{outcome.get('error')}: {outcome.get('reason')}"
        return result

    def update(self, ids: Iterable[str], mutate: Mutator) -> BulkResult:
        """Apply ``mutate(doc) -> changed?`` to each document and write the changed ones.

        Conflicting writes are re-read and re-applied up to ``CONFLICT_ROUNDS`` times.
        """
        result = BulkResult()
        pending = list(dict.fromkeys(ids))
        for _ in range(CONFLICT_ROUNDS):
            if not pending:
                break
            found = {doc["_id"]: doc for doc in self.docs(pending)}
            result.missing.extend(i for i in pending if i not in found)
            batch = []
            for doc_id in pending:
                doc = found.get(doc_id)
                if doc is None:
                    continue
                if mutate(doc):
                    batch.append(doc)
                else:
                    result.unchanged.append(doc_id)
            pending = []
            for doc, outcome in zip(batch, self.db.bulk_docs(batch, batch_size=BATCH)):
                if outcome.get("ok"):
                    result.changed.append(doc["_id"])
                elif outcome.get("error") == "conflict":
                    pending.append(doc["_id"])
                else:
                    result.failed[doc["_id"]] = f"{outcome.get('error')}: {outcome.get('reason')}"
        for doc_id in pending:
            result.failed[doc_id] = f"still conflicting after {CONFLICT_ROUNDS} attempts"
        return result

    def delete(self, ids: Iterable[str]) -> BulkResult:
        """Delete documents for real (``_deleted``), in bulk. Never ``_purge``."""

        def mark(doc: Dict[str, Any]) -> bool:
            for key in list(doc):
                if key not in ("_id", "_rev"):
                    del doc[key]
            doc["_deleted"] = True
            return True

        return self.update(ids, mark)

    def put_attachment(self, doc_id: str, name: str, data: bytes, content_type: str) -> None:
        """Add or replace one attachment, retrying on conflicting writes."""
        for attempt in range(CONFLICT_ROUNDS):
            rev = self.db.get(doc_id)["_rev"]
            try:
                self.db.put_attachment(doc_id, rev, name, data, content_type)
                return
            except CouchError as exc:
                if exc.status != 409 or attempt == CONFLICT_ROUNDS - 1:
                    raise
