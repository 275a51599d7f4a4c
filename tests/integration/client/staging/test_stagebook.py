"""Issue 11: the local staging book against a real stager (the XML-RPC simulator): requests
submitted while they fit under the in-flight limit, the rest queued and fed as requests
finish; records keep what was asked for."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.client.staging.lta import LtaStager
from grid_lrt.client.staging.planning import plan_requests
from grid_lrt.client.staging.stagebook import StageBook

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc/{o}/L{o}_SB{i:04d}.tar"


@pytest.fixture
def stager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LtaStager]:
    monkeypatch.setenv("HOME", str(tmp_path))
    with LtaSimulator(user="alice", password="pw-1234567", delay=0.3, linger=60) as sim:
        yield LtaStager(sim.url, user="alice", password="pw-1234567", timeout=10)


def test_feed_submits_within_the_in_flight_limit_then_the_rest_as_requests_finish(
    stager: LtaStager, tmp_path: Path
) -> None:
    links = [SARA.format(o=7, i=i) for i in range(2400)]
    batches = plan_requests(links, source="srm.txt")
    assert [len(b) for b in batches] == [1000, 1000, 400]
    book = StageBook(tmp_path / "book")
    book.enqueue(batches)
    first = book.feed(stager, limit=1500)
    assert [len(b) for b, _ in first.submitted] == [1000]
    assert (first.waiting, first.waiting_files, first.in_flight) == (2, 1400, 1000)
    assert stager.active_files() == 1000
    again = book.feed(stager, limit=1500)  # still in flight: nothing more goes
    assert again.submitted == [] and again.waiting == 2

    deadline = time.monotonic() + 30
    while stager.active_files() and time.monotonic() < deadline:
        time.sleep(0.2)
    later = book.feed(stager, limit=1500)
    assert [len(b) for b, _ in later.submitted] == [1000, 400]  # 1,400 files fit under 1,500
    assert later.waiting == 0 and later.in_flight == 1400

    records = book.records()
    assert [r["files"] for r in records] == [1000, 1000, 400]
    assert records[0]["surls"] == links[:1000] and records[0]["service"] == "lta"
    assert records[2]["surls"] == links[2000:] and records[0]["file"] == "srm.txt"
    assert book.queued() == []


def test_two_feeds_at_once_never_submit_a_batch_twice(stager: LtaStager, tmp_path: Path) -> None:
    import threading

    book = StageBook(tmp_path / "book")
    book.enqueue(plan_requests([SARA.format(o=8, i=i) for i in range(300)], max_files=100))
    threads = [threading.Thread(target=book.feed, args=(stager,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    ids = [r["id"] for r in book.records()]
    assert len(ids) == 3 == len(set(ids)) and book.queued() == []


def test_forget_drops_only_the_named_records(stager: LtaStager, tmp_path: Path) -> None:
    """Requests the service no longer knows are forgotten, so their files can be asked again."""
    book = StageBook(tmp_path / "book")
    book.enqueue(plan_requests([SARA.format(o=o, i=1) for o in (7, 8, 9)], source="s.txt"))
    fed = book.feed(stager)
    ids = [r.request_id for _b, r in fed.submitted]
    assert len(ids) == 3
    assert book.forget([ids[1], "no-such-id"]) == 1
    assert [str(r["id"]) for r in book.records()] == [str(ids[0]), str(ids[2])]
    assert book.forget([]) == 0
