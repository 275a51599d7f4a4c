"""``LRT_VIEW_TIMEOUT``: how long a view query's answer is waited for (issue 13)."""

from __future__ import annotations

import pytest

from grid_lrt.shared.couch import CouchDB, view_read_timeout
from grid_lrt.shared.errors import LrtError


def test_the_default_is_600_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LRT_VIEW_TIMEOUT", raising=False)
    assert view_read_timeout() == 600.0
    assert CouchDB("http://127.0.0.1:5984", "db").timeout == (10.0, 600.0)


def test_the_variable_sets_the_read_timeout_of_view_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LRT_VIEW_TIMEOUT", " 3600 ")
    db = CouchDB("http://127.0.0.1:5984", "db")
    assert db.timeout == (10.0, 3600.0)
    assert db.doc_timeout == (10.0, 120.0), "documents keep their own timeout"
    assert CouchDB("http://127.0.0.1:5984", "db", timeout=(1.0, 2.0)).timeout == (1.0, 2.0)


@pytest.mark.parametrize("text", ["abc", "0", "-5", "inf", "nan"])
def test_a_bad_value_names_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("LRT_VIEW_TIMEOUT", text)
    with pytest.raises(LrtError) as caught:
        CouchDB("http://127.0.0.1:5984", "db")
    assert f"LRT_VIEW_TIMEOUT={text!r} is not a number of seconds" in str(caught.value)
    assert "LRT_VIEW_TIMEOUT=3600" in caught.value.hint
