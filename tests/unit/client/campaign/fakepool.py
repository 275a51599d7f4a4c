"""An in-memory stand-in for the few pool methods the campaign code uses."""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

from grid_lrt.shared.pool import BulkResult, Mutator
from grid_lrt.shared.schema import TokenState, state_of


class FakePool:
    """The four pool methods a release pass uses, over a dict of documents."""

    name = "fake"

    def __init__(self) -> None:
        self.store: Dict[str, Dict[str, Any]] = {}
        self.updates: List[List[str]] = []
        self.results: List[BulkResult] = []

    def ids(
        self, t_type: str, state: Optional[TokenState] = None, *, limit: Optional[int] = None
    ) -> List[str]:
        return sorted(
            i
            for i, d in self.store.items()
            if d["type"] == t_type and (state is None or state_of(d) is state)
        )

    def docs(self, ids: Sequence[str]) -> Iterator[Dict[str, Any]]:
        return (copy.deepcopy(self.store[i]) for i in ids if i in self.store)

    def update(self, ids: Iterable[str], mutate: Mutator) -> BulkResult:
        result = BulkResult()
        wanted = list(ids)
        self.updates.append(wanted)
        for i in wanted:
            doc = copy.deepcopy(self.store[i])
            if mutate(doc):
                self.store[i] = doc
                result.changed.append(i)
            else:
                result.unchanged.append(i)
        self.results.append(result)
        return result

    def counts(self, t_type: str) -> Dict[TokenState, int]:
        found = dict.fromkeys(TokenState, 0)
        for doc in self.store.values():
            if doc["type"] == t_type:
                found[state_of(doc)] += 1
        return found

    def create(self, docs: Sequence[Mapping[str, Any]]) -> BulkResult:
        result = BulkResult()
        for doc in docs:
            token_id = str(doc["_id"])
            if token_id in self.store:
                result.existing.append(token_id)
            else:
                self.store[token_id] = copy.deepcopy(dict(doc))
                result.changed.append(token_id)
        return result

    def ensure_views(self) -> None:
        """Nothing to do in memory."""
