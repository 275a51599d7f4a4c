"""Partition support on a server without partitions (pouchdb-server; any plain database):
nothing changes for a plain database, a partition asked of one is a clear error, and the
``_changes`` filter narrows to a partition by id prefix (its JavaScript, on the real server)."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import requests

from grid_lrt.shared import views
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, new_token
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch


@pytest.fixture
def db(couchdb_server: CouchServer, couch_db_name: str) -> CouchDB:
    return couch(couchdb_server, couch_db_name)


def counting(db: CouchDB) -> List[str]:
    """The method and path of every request ``db`` sends from now on."""
    seen: List[str] = []
    send = db.session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        seen.append(f"{method} {url.split(db.name, 1)[-1]}")
        return send(method, url, *args, **kwargs)

    db.session.request = request  # type: ignore[method-assign,assignment]
    return seen


def test_a_plain_database_keeps_its_ids_and_its_design_document(db: CouchDB) -> None:
    pool = CouchTokenPool(db)
    pool.ensure_views()
    assert pool.partitioned is False
    assert "options" not in db.get(f"_design/{views.DB_DDOC}")
    assert db.get_or_none(f"_design/{views.PART_DDOC}") is None
    result = pool.create([new_token("cal", "t_cal_SB000", {"OBSID": "L1"})])
    assert result.changed == ["t_cal_SB000"]
    assert pool.ids("cal") == ["t_cal_SB000"]


def test_a_current_design_document_tells_a_new_pool_without_another_request(
    db: CouchDB,
) -> None:
    CouchTokenPool(db).ensure_views()
    seen = counting(db)
    pool = CouchTokenPool(db)
    pool.ensure_views()
    assert pool.partitioned is False
    assert seen == [f"GET /_design/{views.DB_DDOC}"]


def test_a_partition_asked_of_a_plain_database_is_refused_with_a_hint(db: CouchDB) -> None:
    pool = CouchTokenPool(db, partition="L1")
    with pytest.raises(LrtError) as caught:
        pool.counts("cal")
    assert "is not partitioned" in caught.value.message
    assert "--partitioned" in str(caught.value.hint)


def test_the_todo_filter_narrows_to_a_partition(db: CouchDB) -> None:
    # A plain database takes ids with colons too: the filter's prefix test is the same.
    docs: List[Dict[str, Any]] = [
        new_token("cal", "L1:t_cal_SB000"),
        new_token("cal", "L2:t_cal_SB000"),
        new_token("cal", "L12:t_cal_SB000"),  # "L1" must not match "L12"
        new_token("cal", "L1:t_cal_SB010", {"done": 5, "lock": 4}),
        new_token("tgt", "L1:t_tgt_SB000"),
    ]
    CouchTokenPool(db).ensure_views()
    assert all(answer.get("ok") for answer in db.bulk_docs(docs))
    flt = f"{views.DB_DDOC}/{views.TODO_FILTER}"

    def passed(**params: str) -> List[str]:
        answer = db.request("GET", "_changes", params={"filter": flt, **params}).json()
        return sorted(row["id"] for row in answer["results"])

    assert passed(type="cal", partition="L1") == ["L1:t_cal_SB000"]
    assert passed(type="cal", partition="L1", any="1") == ["L1:t_cal_SB000", "L1:t_cal_SB010"]
    assert passed(type="cal") == ["L12:t_cal_SB000", "L1:t_cal_SB000", "L2:t_cal_SB000"]
    assert CouchTokenPool(db).counts("cal")[TokenState.TODO] == 3
