"""Bulk writes through ``_bulk_docs``: create, update and delete many documents at once.

Each document of a bulk request has its own compare-and-set: the answer lists, per document,
``{"ok": true, "id", "rev"}`` or ``{"id", "error": "conflict", ...}``. A CouchDB-compatible
server does not promise to answer in the order of the request, so answers are paired with
their documents by ``id`` (:func:`pair_by_id`), never by position. An update that loses a race
is read again and re-applied, a bounded number of rounds; what still fails is reported.
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Deque, Dict, Iterable, Iterator, List, Mapping, Sequence, Tuple

from grid_lrt.shared.couch import CouchDB, CouchError

from .base import CONFLICT_ROUNDS, BulkResult, Mutator

__all__ = ["BATCH", "create", "delete", "delete_revisions", "docs", "pair_by_id", "update"]

log = logging.getLogger(__name__)

#: Documents per ``_bulk_docs`` request (CouchDB's sweet spot is 500-2,000 small docs).
BATCH = 1000


def pair_by_id(
    sent: Sequence[Mapping[str, Any]], answers: Sequence[Mapping[str, Any]]
) -> List[Tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """``(document, its answer)`` for each document sent, matched by ``id``.

    A document that appears twice in one request is matched with the answers for its id in
    order. A document without an answer gets ``{"error": "no_answer"}``.

    Raises:
        CouchError: an answer names an id that was not sent.
    """
    by_id: Dict[str, Deque[Mapping[str, Any]]] = collections.defaultdict(collections.deque)
    sent_ids = {str(doc["_id"]) for doc in sent}
    for answer in answers:
        answer_id = str(answer.get("id", ""))
        if answer_id not in sent_ids:
            raise CouchError(f"_bulk_docs answered for {answer_id!r}, which was not sent")
        by_id[answer_id].append(answer)
    pairs = []
    for doc in sent:
        queue = by_id.get(str(doc["_id"]))
        pairs.append((doc, queue.popleft() if queue else {"error": "no_answer"}))
    return pairs


def _write(
    db: CouchDB, batch: Sequence[Mapping[str, Any]]
) -> Iterator[Tuple[str, Mapping[str, Any]]]:
    """``(id, answer)`` for every document of ``batch``, written ``BATCH`` per request."""
    for start in range(0, len(batch), BATCH):
        chunk = batch[start : start + BATCH]
        for doc, answer in pair_by_id(chunk, db.bulk_docs(chunk, batch_size=BATCH)):
            yield str(doc["_id"]), answer


def _failure(answer: Mapping[str, Any]) -> str:
    return f"{answer.get('error')}: {answer.get('reason')}"


def docs(db: CouchDB, ids: Sequence[str]) -> Iterator[Dict[str, Any]]:
    """The current documents for ``ids`` (missing ones are skipped), batch by batch."""
    for start in range(0, len(ids), BATCH):
        chunk = list(ids[start : start + BATCH])
        for row in db.all_docs(keys=chunk, include_docs=True)["rows"]:
            if row.get("doc"):
                yield dict(row["doc"])


def create(db: CouchDB, new: Sequence[Mapping[str, Any]]) -> BulkResult:
    """Write new documents; existing ids are reported (``existing``), not touched."""
    result = BulkResult()
    for doc_id, answer in _write(db, new):
        if answer.get("ok"):
            result.changed.append(doc_id)
        elif answer.get("error") == "conflict":
            result.existing.append(doc_id)
        else:
            result.failed[doc_id] = _failure(answer)
    return result


def update(db: CouchDB, ids: Iterable[str], mutate: Mutator) -> BulkResult:
    """Apply ``mutate(doc) -> changed?`` to each document and write the changed ones.

    The ids are taken :data:`BATCH` at a time: at most one batch of documents is in memory,
    whatever the number of tokens (a million tokens are reset in the memory of a thousand).
    Conflicting writes are re-read and re-applied up to :data:`CONFLICT_ROUNDS` times.
    """
    result = BulkResult()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), BATCH):
        _update_batch(db, unique[start : start + BATCH], mutate, result)
    return result


def _update_batch(db: CouchDB, ids: List[str], mutate: Mutator, result: BulkResult) -> None:
    pending = ids
    for _ in range(CONFLICT_ROUNDS):
        if not pending:
            break
        found = {doc["_id"]: doc for doc in docs(db, pending)}
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
        for doc_id, answer in _write(db, batch):
            if answer.get("ok"):
                result.changed.append(doc_id)
            elif answer.get("error") == "conflict":
                pending.append(doc_id)
            else:
                result.failed[doc_id] = _failure(answer)
    for doc_id in pending:
        result.failed[doc_id] = f"still conflicting after {CONFLICT_ROUNDS} attempts"


def _mark_deleted(doc: Dict[str, Any]) -> bool:
    for key in list(doc):
        if key not in ("_id", "_rev"):
            del doc[key]
    doc["_deleted"] = True
    return True


def delete(db: CouchDB, ids: Iterable[str]) -> BulkResult:
    """Delete documents for real (``_deleted``), in bulk. Never ``_purge``."""
    return update(db, ids, _mark_deleted)


def delete_revisions(db: CouchDB, revisions: Mapping[str, str]) -> BulkResult:
    """Delete each document only at the revision given (``{id: rev}``), in bulk, one round.

    Unlike :func:`delete`, a conflict is not read again and re-applied: the document changed
    since that revision was read, so it is left as it is and listed in ``unchanged``.
    Other refusals are ``failed``.
    """
    result = BulkResult()
    tombstones = [
        {"_id": doc_id, "_rev": rev, "_deleted": True} for doc_id, rev in revisions.items()
    ]
    for doc_id, answer in _write(db, tombstones):
        if answer.get("ok"):
            result.changed.append(doc_id)
        elif answer.get("error") == "conflict":
            result.unchanged.append(doc_id)
        else:
            result.failed[doc_id] = _failure(answer)
    return result
