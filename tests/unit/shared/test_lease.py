"""The lease rules (shared/lease.py): claim, ownership, heartbeat, requeue, max_scrub."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.lease import (
    HISTORY_LIMIT,
    Worker,
    apply_claim,
    finish,
    lease_expired,
    max_scrub_of,
    owns,
    renew,
    requeue,
)
from grid_lrt.shared.schema import TokenState, new_token, reset_for_retry, state_of

WORKER = Worker("wn01.example.org", "slurm", "123_4")


def _token() -> Dict[str, Any]:
    return new_token("demo", "t_demo_1")


def test_claim_locks_a_todo_token_with_a_lease() -> None:
    doc = _token()
    attempt = apply_claim(doc, now=1000.5, lease=600, worker=WORKER, owner="n1")
    assert attempt == 1
    assert state_of(doc) is TokenState.LOCKED
    assert doc["lock"] == 1000
    assert doc["lease_expires"] == 1600.5
    assert doc["heartbeat"] == 1000.5
    assert (doc["hostname"], doc["batch_system"], doc["batch_job_id"]) == (
        "wn01.example.org",
        "slurm",
        "123_4",
    )
    assert doc["times"]["locked"] == 1000.5
    assert owns(doc, 1, "n1")
    assert not owns(doc, 1, "other nonce")
    assert not owns(doc, 2, "n1")


@pytest.mark.parametrize("field", ["lock", "done"])
def test_claim_refuses_a_token_that_is_not_todo(field: str) -> None:
    doc = _token()
    doc[field] = 5
    with pytest.raises(ValueError, match="not todo"):
        apply_claim(doc, now=1, lease=1, worker=WORKER, owner="n")


def test_held_token_cannot_be_claimed() -> None:
    doc = _token()
    doc["held"] = "staging"
    with pytest.raises(ValueError, match="waiting"):
        apply_claim(doc, now=1, lease=1, worker=WORKER, owner="n")


def test_heartbeat_moves_the_lease() -> None:
    doc = _token()
    apply_claim(doc, now=100, lease=10, worker=WORKER, owner="n")
    assert lease_expired(doc, 111)
    renew(doc, now=105, lease=10)
    assert not lease_expired(doc, 111)
    assert lease_expired(doc, 115.5)


def test_a_token_locked_without_lease_never_expires() -> None:
    doc = _token()
    doc["lock"] = 1  # GRID_LRT/picas launchers set only lock
    assert not lease_expired(doc, 10**10)


def test_requeue_goes_back_to_todo_and_keeps_history_and_attempt() -> None:
    doc = _token()
    doc["_attachments"] = {"attempt1_stdout.log": {"stub": True}}
    apply_claim(doc, now=100, lease=10, worker=WORKER, owner="n")
    state = requeue(doc, now=200, reason="lease expired", default_max_scrub=3)
    assert state is TokenState.TODO
    assert state_of(doc) is TokenState.TODO
    assert doc["scrub_count"] == 1
    assert doc["requeues"] == 1
    assert doc["attempt"] == 1  # never decreases: the fencing number
    assert doc["lease_expires"] == 0
    assert doc["owner"] == ""
    assert doc["_attachments"]  # the dead attempt's logs stay
    assert doc["history"][-1]["attempt"] == 1
    assert doc["history"][-1]["hostname"] == "wn01.example.org"
    assert doc["history"][-1]["reason"] == "lease expired"
    assert apply_claim(doc, now=300, lease=10, worker=WORKER, owner="m") == 2


def test_requeue_after_max_scrub_goes_to_error_with_code_5() -> None:
    doc = _token()
    states = []
    for n in range(4):
        apply_claim(doc, now=100 + n, lease=10, worker=WORKER, owner=f"n{n}")
        states.append(requeue(doc, now=200 + n, reason="lost", default_max_scrub=3))
    assert states == [TokenState.TODO] * 3 + [TokenState.ERROR]
    assert state_of(doc) is TokenState.ERROR
    assert doc["output"] == ErrorCode.ATTEMPTS_EXHAUSTED == 5
    assert "max_scrub 3" in doc["launcher_status"]
    assert len(doc["history"]) == 4


def test_a_manual_reset_gives_a_token_its_requeues_back() -> None:
    doc = _token()
    for n in range(3):
        apply_claim(doc, now=n, lease=10, worker=WORKER, owner="n")
        requeue(doc, now=n, reason="lost", default_max_scrub=3)
    apply_claim(doc, now=10, lease=10, worker=WORKER, owner="n")
    finish(doc, now=11, code=21)
    assert reset_for_retry(doc)
    assert doc["requeues"] == 0
    assert doc["scrub_count"] == 4
    apply_claim(doc, now=12, lease=10, worker=WORKER, owner="n")
    assert requeue(doc, now=13, reason="lost", default_max_scrub=3) is TokenState.TODO


def test_token_field_max_scrub_overrides_the_default() -> None:
    doc = _token()
    doc["max_scrub"] = 0
    apply_claim(doc, now=1, lease=10, worker=WORKER, owner="n")
    assert requeue(doc, now=2, reason="lost", default_max_scrub=3) is TokenState.ERROR
    assert max_scrub_of({"max_scrub": "2"}, 9) == 2
    assert max_scrub_of({"max_scrub": "x"}, 9) == 9
    assert max_scrub_of({"max_scrub": True}, 9) == 9
    assert max_scrub_of({"max_scrub": -1}, 9) == 9


def test_history_is_bounded() -> None:
    doc = _token()
    doc["max_scrub"] = 1000
    for n in range(HISTORY_LIMIT + 5):
        apply_claim(doc, now=n, lease=10, worker=WORKER, owner="n")
        requeue(doc, now=n, reason=f"lost {n}", default_max_scrub=3)
    assert len(doc["history"]) == HISTORY_LIMIT
    assert doc["history"][-1]["reason"] == f"lost {HISTORY_LIMIT + 4}"


@pytest.mark.parametrize(("code", "state"), [(0, TokenState.DONE), (21, TokenState.ERROR)])
def test_finish(code: int, state: TokenState) -> None:
    doc = _token()
    apply_claim(doc, now=1, lease=10, worker=WORKER, owner="n")
    finish(doc, now=50, code=code)
    assert state_of(doc) is state
    assert doc["status"] == state.value
    assert doc["times"][state.value] == 50
    assert doc["lease_expires"] == 0
    assert not lease_expired(doc, 10**10)
