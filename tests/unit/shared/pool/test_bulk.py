"""Bulk answers are paired with their documents by id, never by position."""

from __future__ import annotations

import pytest

from grid_lrt.shared.couch import CouchError
from grid_lrt.shared.pool.bulk import pair_by_id


def test_reordered_answers_are_paired_by_id() -> None:
    sent = [{"_id": "a"}, {"_id": "b"}, {"_id": "c"}]
    answers = [
        {"id": "c", "ok": True, "rev": "1-c"},
        {"id": "a", "error": "conflict"},
        {"id": "b", "ok": True, "rev": "1-b"},
    ]
    pairs = pair_by_id(sent, answers)
    assert [(doc["_id"], answer.get("rev", answer.get("error"))) for doc, answer in pairs] == [
        ("a", "conflict"),
        ("b", "1-b"),
        ("c", "1-c"),
    ]


def test_a_document_sent_twice_gets_its_answers_in_order() -> None:
    sent = [{"_id": "a", "n": 1}, {"_id": "a", "n": 2}]
    answers = [{"id": "a", "ok": True, "rev": "1-x"}, {"id": "a", "error": "conflict"}]
    pairs = pair_by_id(sent, answers)
    assert [answer.get("ok", False) for _, answer in pairs] == [True, False]


def test_a_missing_answer_is_no_answer_not_someone_elses() -> None:
    pairs = pair_by_id([{"_id": "a"}, {"_id": "b"}], [{"id": "b", "ok": True, "rev": "1"}])
    assert pairs[0][1] == {"error": "no_answer"}
    assert pairs[1][1]["ok"] is True


def test_an_answer_for_a_document_not_sent_is_an_error() -> None:
    with pytest.raises(CouchError, match="'z', which was not sent"):
        pair_by_id([{"_id": "a"}], [{"id": "z", "ok": True}])
