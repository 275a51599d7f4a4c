"""The archive's ledger (issue 13: archive a type of 10^6 tokens in bounded memory): every
archived token's revision and state, outside Python's heap, read back in batches."""

from __future__ import annotations

import tracemalloc

from grid_lrt.client.archive_ledger import ArchiveLedger
from grid_lrt.shared.schema import TokenState


def filled(n: int) -> ArchiveLedger:
    ledger = ArchiveLedger()
    for i in range(n):
        state = TokenState.DONE if i % 3 else TokenState.TODO
        ledger.add(f"t_{i:05d}", f"1-{i:032x}", state)
    return ledger


def test_revisions_and_states_read_like_mappings() -> None:
    ledger = filled(5)
    assert len(ledger) == 5 and "t_00003" in ledger and "nope" not in ledger
    assert ledger.revisions["t_00004"] == f"1-{4:032x}"
    assert ledger.states["t_00000"] is TokenState.TODO
    assert dict(ledger.states)["t_00001"] is TokenState.DONE
    assert list(ledger.revisions) == [f"t_{i:05d}" for i in range(5)], "archive order"
    try:
        ledger.revisions["nope"]
    except KeyError:
        pass
    else:
        raise AssertionError("a token that was not archived has no revision")


def test_archiving_a_token_again_keeps_one_entry_with_the_last_revision() -> None:
    ledger = filled(2)
    ledger.add("t_00000", "2-b", TokenState.ERROR)
    assert len(ledger) == 2
    assert ledger.revisions["t_00000"] == "2-b" and ledger.states["t_00000"] is TokenState.ERROR


def test_batches_cover_every_chosen_token_once_and_are_bounded() -> None:
    ledger = filled(2500)
    batches = list(ledger.batches(1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    done = [i for b in ledger.batches(400, states={TokenState.DONE}) for i in b]
    assert len(done) == len(set(done)) == sum(1 for i in range(2500) if i % 3)
    assert all(len(b) <= 400 for b in ledger.batches(400, states={TokenState.DONE}))
    todo = dict(ledger.states_of({TokenState.DONE}, inside=False))
    assert len(todo) == 834 and set(todo.values()) == {TokenState.TODO}
    assert not set(todo) & set(done)


def test_the_ledger_is_not_held_on_pythons_heap() -> None:
    """20,000 entries as a dict of revisions and one of states take ~4 MB of Python objects;
    the ledger's growth of the traced heap stays under 0.5 MB (SQLite keeps its own pages)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        ledger = filled(20_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(ledger) == 20_000
    assert grown < 500_000, f"the ledger grew the heap by {grown:,} bytes"
