"""``LRT_VIEW_TIMEOUT``: how long a view query's answer is waited for (issue 13)."""

from __future__ import annotations

import pytest
import requests

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


def test_a_connect_timeout_is_a_connection_that_failed_not_a_late_answer() -> None:
    """``requests.ConnectTimeout`` is both a ``ConnectionError`` and a ``Timeout``: no request
    reached the server, so the read wait and the read attempts do not apply."""
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

    from grid_lrt.shared.couch_errors import unreachable

    exc = requests.ConnectTimeout(MaxRetryError(None, "/db", ConnectTimeoutError()))  # type: ignore[arg-type]
    error = unreachable(
        exc, "http://127.0.0.1:5984", connect_attempts=5, read_attempts=3, wait=600, view=True
    )
    assert "cannot reach the CouchDB server http://127.0.0.1:5984 after 5 attempts" in str(error)
    assert "view" not in str(error) and "600" not in str(error)
