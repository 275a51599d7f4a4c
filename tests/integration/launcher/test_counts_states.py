"""``TokenPool.counts(type, states)`` (issue 13): a launcher out of work asks for the todo and
locked counts only. pouchdb-server reduces row by row, so counting a type of 10^6 tokens took
75 s (bench/million.py); the range of the asked states holds only their rows."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, new_token

FIELDS: Dict[str, Dict[str, Any]] = {
    "todo": {},
    "locked": {"lock": 5},
    "done": {"lock": 5, "done": 6, "output": 0},
    "error": {"lock": 5, "done": 6, "output": 3},
}


def test_only_the_asked_states_are_counted_and_read(
    db: CouchDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [
        new_token("cnt", f"{state}_{n}", FIELDS[state])
        for state, many in (("todo", 2), ("locked", 3), ("done", 5), ("error", 1))
        for n in range(many)
    ]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    pool = CouchTokenPool(db)
    full = pool.counts("cnt")
    assert full[TokenState.DONE] == 5 and full[TokenState.TODO] == 2
    asked: List[Dict[str, Any]] = []
    real = CouchDB.view

    def recording(self: CouchDB, ddoc: str, name: str, **params: Any) -> Any:
        asked.append(params)
        return real(self, ddoc, name, **params)

    monkeypatch.setattr(CouchDB, "view", recording)
    some = pool.counts("cnt", [TokenState.TODO, TokenState.LOCKED])
    assert some == {**dict.fromkeys(TokenState, 0), TokenState.TODO: 2, TokenState.LOCKED: 3}
    assert asked[-1]["startkey"] == ["cnt", "locked"]
    assert asked[-1]["endkey"] == ["cnt", "todo", {}]
    assert pool.counts("cnt", [TokenState.ERROR])[TokenState.ERROR] == 1
    assert pool.counts("cnt", [TokenState.WAITING]) == dict.fromkeys(TokenState, 0)
