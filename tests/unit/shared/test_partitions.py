"""Partition keys and ids, and the design documents of a partitioned database (no server)."""

from __future__ import annotations

import pytest

from grid_lrt.shared import views
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.partitions import (
    is_partitioned,
    partition_key,
    partition_of,
    placed,
    require_partition,
)
from grid_lrt.shared.schema import new_token


def test_a_tokens_partition_is_its_obsid_else_its_type() -> None:
    assert partition_key(new_token("cal", "t_cal_1", {"OBSID": "L654321"})) == "L654321"
    assert partition_key(new_token("cal", "t_cal_1")) == "cal"
    assert partition_key(new_token("cal", "t_cal_1", {"OBSID": ""})) == "cal"


@pytest.mark.parametrize(
    ("obsid", "key"),
    [
        ("L65 43/21", "L65_43_21"),
        ("a:b", "a_b"),  # a colon would end the partition early
        ("_users", "p_users"),  # a leading _ is CouchDB's
        (654321, "654321"),
        ("ÿ", "_"),
    ],
)
def test_a_partition_key_is_safe_for_an_id(obsid: object, key: str) -> None:
    got = partition_key({"_id": "x", "type": "t", "OBSID": obsid})
    assert got == key or got == "p" + key
    assert ":" not in got and not got.startswith("_")


def test_placing_prefixes_the_id_once_and_leaves_the_document_alone() -> None:
    doc = new_token("cal", "t_cal_L1_SB000", {"OBSID": "L1"})
    first = placed(doc)
    assert first["_id"] == "L1:t_cal_L1_SB000"
    assert doc["_id"] == "t_cal_L1_SB000"  # a copy, not the caller's document
    assert placed(first) is first
    assert placed({"_id": "L9:own", "OBSID": "L1"})["_id"] == "L9:own"  # the user's choice
    assert placed({"_id": "_design/x"})["_id"] == "_design/x"


def test_partition_of_an_id() -> None:
    assert partition_of("L1:t_cal_1") == "L1"
    assert partition_of("L1:a:b") == "L1"
    assert partition_of("t_cal_1") is None
    assert partition_of(":x") is None


def test_database_info_tells_whether_it_is_partitioned() -> None:
    assert is_partitioned({"db_name": "d", "props": {"partitioned": True}})
    assert not is_partitioned({"db_name": "d", "props": {}})
    assert not is_partitioned({"db_name": "d"})  # pouchdb-server, CouchDB 2
    assert not is_partitioned({"props": {"partitioned": "true"}})


@pytest.mark.parametrize("bad", ["", "_x", "a:b", "a b", "L1/2"])
def test_a_bad_partition_name_is_a_usage_error_with_an_example(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        require_partition(bad)
    assert "--db-partition L654321" in str(caught.value.hint)


def test_design_documents_are_unchanged_on_a_plain_database() -> None:
    assert "options" not in views.database_design_doc()
    assert "options" not in views.type_design_doc("cal")


def test_design_documents_of_a_partitioned_database() -> None:
    assert views.database_design_doc(partitioned_db=True)["options"] == {"partitioned": False}
    assert views.type_design_doc("cal", partitioned_db=True)["options"] == {"partitioned": False}
    twin = views.partitioned_design_doc()
    assert twin["_id"] == f"_design/{views.PART_DDOC}"
    assert twin["options"] == {"partitioned": True}
    tokens = views.database_design_doc()["views"][views.DB_VIEW]
    assert twin["views"] == {views.DB_VIEW: tokens}
    # partitioned views take built-in reduces only (CouchDB refuses JavaScript ones)
    assert all(v.get("reduce", "_").startswith("_") for v in twin["views"].values())
