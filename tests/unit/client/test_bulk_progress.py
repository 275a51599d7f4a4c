"""Bulk writes of many tokens show a progress bar, one step per batch, and add the batches'
results up; one batch (or no label) is one write, as before, without a bar."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import pytest

from grid_lrt.client import tokendocs
from grid_lrt.client.tokendocs import bulk_update, create_tokens, in_batches
from grid_lrt.shared.pool import BulkResult


class Bar:
    def __init__(self, total: int, desc: str, unit: str) -> None:
        self.total, self.desc, self.unit, self.steps = total, desc, unit, []

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def update(self, n: int) -> None:
        self.steps.append(n)


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch) -> List[Bar]:
    made: List[Bar] = []

    def progress_bar(total: int, desc: str, unit: str = "it", **options: Any) -> Bar:
        made.append(Bar(total, desc, unit))
        return made[-1]

    monkeypatch.setattr(tokendocs, "progress_bar", progress_bar)
    return made


class Pool:
    """Records each write; ids starting with "old" exist already, "bad" ones fail."""

    def __init__(self) -> None:
        self.writes: List[int] = []

    def placed(self, doc: Mapping[str, Any]) -> Mapping[str, Any]:
        return doc  # not partitioned

    def create(self, docs: Sequence[Mapping[str, Any]]) -> BulkResult:
        self.writes.append(len(docs))
        result = BulkResult()
        for doc in docs:
            token_id = str(doc["_id"])
            if token_id.startswith("old"):
                result.existing.append(token_id)
            else:
                result.changed.append(token_id)
        return result

    def update(self, ids: Sequence[str], mutate: Any) -> BulkResult:
        self.writes.append(len(ids))
        result = BulkResult()
        for token_id in ids:
            if token_id.startswith("bad"):
                result.failed[token_id] = "conflict"
            elif mutate({"_id": token_id}):
                result.changed.append(token_id)
            else:
                result.unchanged.append(token_id)
        return result

    def docs(self, ids: Sequence[str]) -> List[Dict[str, Any]]:
        return [{"_id": i, "type": "demo"} for i in ids]


def test_more_than_one_batch_shows_a_bar_and_adds_up(bars: List[Bar]) -> None:
    pool = Pool()
    docs = [{"_id": f"t_{n:04d}", "type": "demo"} for n in range(2500)]
    docs[1500]["_id"] = "old_1500"
    result = create_tokens(pool, docs, progress="creating tokens")  # type: ignore[arg-type]
    assert pool.writes == [1000, 1000, 500]
    assert len(result.changed) == 2499 and result.existing == ["old_1500"]
    assert result.changed[:2] == ["t_0000", "t_0001"] and result.changed[-1] == "t_2499"
    [bar] = bars
    assert (bar.total, bar.desc, bar.unit, bar.steps) == (
        2500,
        "creating tokens",
        "token",
        [1000, 1000, 500],
    )


def test_one_batch_or_no_label_is_one_write_without_a_bar(bars: List[Bar]) -> None:
    pool = Pool()
    docs = [{"_id": f"t_{n}", "type": "demo"} for n in range(1000)]
    assert len(create_tokens(pool, docs, progress="creating tokens")) == 1000  # type: ignore[arg-type]
    assert len(create_tokens(pool, docs * 3, progress=None)) == 3000  # type: ignore[arg-type]
    assert pool.writes == [1000, 1000, 1000, 1000] and bars == []  # a batch per request


def test_bulk_update_never_repeats_an_id_across_batches(bars: List[Bar]) -> None:
    pool = Pool()
    ids = [f"t_{n}" for n in range(1200)] * 2 + ["bad_1"]
    seen: List[str] = []

    def mutate(doc: Dict[str, Any]) -> bool:
        seen.append(doc["_id"])
        return not doc["_id"].endswith("7")

    result = bulk_update(pool, ids, mutate, progress="resetting tokens")  # type: ignore[arg-type]
    assert pool.writes == [1000, 201] and len(seen) == len(set(seen)) == 1200
    assert len(result.changed) + len(result.unchanged) == 1200 and result.failed == {
        "bad_1": "conflict"
    }
    assert [bar.steps for bar in bars] == [[1000, 201]]


def test_in_batches_of_a_given_size(bars: List[Bar]) -> None:
    calls: List[Sequence[int]] = []

    def write(batch: Sequence[int]) -> BulkResult:
        calls.append(batch)
        return BulkResult(changed=[str(i) for i in batch], missing=["gone"] if 0 in batch else [])

    result = in_batches(list(range(7)), write, "x", size=3)
    assert [list(c) for c in calls] == [[0, 1, 2], [3, 4, 5], [6]]
    assert result.changed == [str(i) for i in range(7)] and result.missing == ["gone"]
    assert bars[0].steps == [3, 3, 1]
