"""A partitioned database on Apache CouchDB 3 (the only server with partitions): ids placed
by OBSID, claims and counts in one partition, the global views still answering.

Skipped (also under CI=true) unless the server is real Apache CouchDB (``COUCHDB_URL`` or
Docker): pouchdb-server has no partitions (``test_partitions_plain.py`` covers it)."""

from __future__ import annotations

import uuid
from typing import Iterator, List

import pytest

from grid_lrt.client.token import TokenHandler
from grid_lrt.client.tokendocs import create_tokens
from grid_lrt.client.typeviews import TypeViews
from grid_lrt.shared import views
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.lease import Worker
from grid_lrt.shared.partitions import is_partitioned
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.pool.base import ClaimOutcome
from grid_lrt.shared.schema import TokenState, new_token
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch

pytestmark = pytest.mark.couchdb3

WORKER = Worker("node1", "slurm", "42")


@pytest.fixture
def db(require_real_couchdb: CouchServer) -> Iterator[CouchDB]:
    handle = couch(require_real_couchdb, f"test_part_{uuid.uuid4().hex[:10]}")
    assert handle.create(partitioned=True)
    try:
        yield handle
    finally:
        handle.drop()


def fill(db: CouchDB) -> CouchTokenPool:
    """Five cal tokens (three of L1, two of L2) and one tgt token of L1, as `lrt` makes them."""
    docs = [
        new_token("cal", f"t_cal_{obsid}_SB{n:03d}", {"OBSID": obsid})
        for obsid, count in (("L1", 3), ("L2", 2))
        for n in range(count)
    ]
    docs.append(new_token("tgt", "t_tgt_L1_SB000", {"OBSID": "L1"}))
    pool = CouchTokenPool(db)
    pool.ensure_views()
    create_tokens(pool, docs, progress=None)
    return pool


def test_tokens_are_placed_in_their_obsids_partition(db: CouchDB) -> None:
    assert is_partitioned(db.info())
    pool = fill(db)
    assert pool.partitioned
    assert pool.ids("cal") == [
        "L1:t_cal_L1_SB000", "L1:t_cal_L1_SB001", "L1:t_cal_L1_SB002",
        "L2:t_cal_L2_SB000", "L2:t_cal_L2_SB001",
    ]  # fmt: skip
    part = db.request("GET", "_partition/L2").json()
    assert part["doc_count"] == 2
    assert db.get(f"_design/{views.DB_DDOC}")["options"] == {"partitioned": False}
    assert db.get(f"_design/{views.PART_DDOC}")["options"] == {"partitioned": True}


def test_creating_again_reports_the_placed_ids_as_existing(db: CouchDB) -> None:
    pool = fill(db)
    again = create_tokens(pool, [new_token("cal", "t_cal_L1_SB000", {"OBSID": "L1"})])
    assert again.existing == ["L1:t_cal_L1_SB000"] and not again.changed


def test_counts_and_ids_of_one_partition(db: CouchDB) -> None:
    fill(db)
    assert CouchTokenPool(db).counts("cal")[TokenState.TODO] == 5
    l1 = CouchTokenPool(db, partition="L1")
    assert l1.counts("cal")[TokenState.TODO] == 3
    assert l1.types() == {
        "cal": {**dict.fromkeys(TokenState, 0), TokenState.TODO: 3},
        "tgt": {**dict.fromkeys(TokenState, 0), TokenState.TODO: 1},
    }
    assert CouchTokenPool(db, partition="L2").ids("cal", TokenState.TODO) == [
        "L2:t_cal_L2_SB000",
        "L2:t_cal_L2_SB001",
    ]
    assert CouchTokenPool(db, partition="L3").counts("cal")[TokenState.TODO] == 0


def test_claims_in_a_partition_take_its_tokens_only(db: CouchDB) -> None:
    fill(db)
    l2 = CouchTokenPool(db, partition="L2")
    claimed: List[str] = []
    for _ in range(3):
        attempt = l2.claim("cal", 0, worker=WORKER, lease=600)
        if attempt.outcome is ClaimOutcome.NO_ROW:
            break
        assert attempt.claim is not None
        claimed.append(attempt.claim.token_id)
    assert sorted(claimed) == ["L2:t_cal_L2_SB000", "L2:t_cal_L2_SB001"]
    assert CouchTokenPool(db).counts("cal")[TokenState.TODO] == 3  # L1's, untouched


def test_an_idle_partition_waits_for_its_own_todo_tokens(db: CouchDB) -> None:
    pool = fill(db)
    l3 = CouchTokenPool(db, partition="L3")
    assert l3.wait_for_todo("cal", 0.5) is False
    pool.create([new_token("cal", "t_cal_L4_SB000", {"OBSID": "L4"})])
    assert l3.wait_for_todo("cal", 0.5) is False  # another partition's token
    pool.create([new_token("cal", "t_cal_L3_SB000", {"OBSID": "L3"})])
    assert l3.wait_for_todo("cal", 5.0) is True


def test_the_seeds_per_type_views_answer_across_partitions(db: CouchDB) -> None:
    pool = fill(db)
    type_views = TypeViews(pool, "cal")
    type_views.add_status_views()
    type_views.add_overview()
    assert db.get("_design/cal")["options"] == {"partitioned": False}
    assert len(type_views.rows("todo")) == 5


def test_the_seeds_create_token_returns_the_stored_id(
    db: CouchDB, require_real_couchdb: CouchServer
) -> None:
    server = require_real_couchdb
    handler = TokenHandler(
        "cal", srv=server.url, uname=server.user, pwd=server.password, dbn=db.name
    )
    token_id = handler.create_token(keys={"OBSID": "L7"}, append="L7_SB000")
    assert token_id == "L7:t_cal_L7_SB000"
    assert handler.get(token_id)["OBSID"] == "L7"
