"""StageIT's status words and its per-file answer, without a server (issue 11)."""

from __future__ import annotations

import datetime
import logging

import pytest

from grid_lrt.client.staging.base import StageStatus
from grid_lrt.client.staging.stageit import (
    StageItMacaroon,
    StageItNotOfferedError,
    StageItStager,
    parse_stageit_status,
)
from grid_lrt.client.staging.stageit_http import StageItServiceError


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("new", StageStatus.NEW),
        ("scheduled", StageStatus.SCHEDULED),
        ("in progress", StageStatus.IN_PROGRESS),
        ("success", StageStatus.SUCCESS),
        ("partial success", StageStatus.PARTIAL),
        ("failed", StageStatus.FAILED),
        ("aborted", StageStatus.ABORTED),
        ("on hold", StageStatus.ON_HOLD),
        (" In Progress ", StageStatus.IN_PROGRESS),
        ("partial_success", StageStatus.PARTIAL),
        ("ON_HOLD", StageStatus.ON_HOLD),
    ],
)
def test_known_words(word: str, status: StageStatus) -> None:
    assert parse_stageit_status(word) is status


@pytest.mark.parametrize("word", ["defrosting", "", None, "succes"])
def test_unknown_word_is_scheduled_and_logged(
    word: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert parse_stageit_status(word) is StageStatus.SCHEDULED
    assert "unknown StageIT status" in caplog.text


def test_finished_states() -> None:
    finished = {"success", "partial success", "failed", "aborted"}
    for word in ("new", "scheduled", "in progress", "on hold", *finished):
        assert parse_stageit_status(word).finished == (word in finished)


def test_macaroon_repr_hides_the_secret() -> None:
    until = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    m = StageItMacaroon(site="sara", content="MDAxY2xvY2F0aW9uIHNlY3JldA", valid_until=until)
    assert "MDAxY2xv" not in repr(m) and "sara" in repr(m)
    with pytest.raises(AttributeError):
        m.site = "juelich"  # type: ignore[misc]


def test_deprecated_functions_raise_without_a_call() -> None:
    stager = StageItStager(token="t", host="127.0.0.1:9")
    for call in (
        stager.storage_info,
        stager.stuck_requests,
        stager.reschedule_on_status,
        stager.reschedule_on_hold,
        stager.print_on_hold,
        stager.reschedule_aborted,
    ):
        with pytest.raises(StageItNotOfferedError, match="not offered by StageIT"):
            call()
    with pytest.raises(NotImplementedError):
        stager.storage_info()


def test_a_request_id_must_be_a_whole_number() -> None:
    stager = StageItStager(token="t", host="127.0.0.1:9")
    with pytest.raises(StageItServiceError, match="not a StageIT request id"):
        stager.status("abc")
    with pytest.raises(StageItServiceError, match="empty"):
        stager.submit(["", "  "])
