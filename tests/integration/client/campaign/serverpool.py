"""The campaign tests' pool: a real :class:`CouchTokenPool` on the test server, which also
records the ids of every bulk update and their results, and reads and writes single documents
for setting a scene (``put``, ``patch``, ``doc``, ``snapshot``)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

from grid_lrt.shared.pool import BulkResult, CouchTokenPool, Mutator

__all__ = ["ServerPool"]


class ServerPool(CouchTokenPool):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updates: List[List[str]] = []
        self.results: List[BulkResult] = []

    def update(self, ids: Iterable[str], mutate: Mutator) -> BulkResult:
        wanted = list(ids)
        self.updates.append(wanted)
        result = super().update(wanted, mutate)
        self.results.append(result)
        return result

    def put(self, doc: Mapping[str, Any]) -> str:
        """Write ``doc`` as it is (a new document)."""
        self.db.save(dict(doc))
        return str(doc["_id"])

    def patch(self, doc_id: str, fields: Mapping[str, Any]) -> None:
        """Change some fields of a stored document (as another client would)."""
        doc = dict(self.db.get(doc_id))
        doc.update(fields)
        self.db.save(doc)

    def doc(self, doc_id: str) -> Dict[str, Any]:
        return dict(self.db.get(doc_id))

    def snapshot(self) -> Dict[str, Dict[str, Any]]:
        """Every non-design document, revisions included."""
        rows = self.db.all_docs(include_docs=True)["rows"]
        return {r["id"]: r["doc"] for r in rows if not r["id"].startswith("_design/")}
