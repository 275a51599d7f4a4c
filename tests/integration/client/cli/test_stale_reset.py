"""``lrt tokens reset TYPE --stale`` through the CLI entry point, on the real server.

Tokens are claimed by the launcher's own :class:`~grid_lrt.launcher.claim.Claimer` (with a
short lease), or locked the way GRID_LRT's launcher did it (``lock`` only, no lease).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, List

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.launcher.claim import Claim, Claimer
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.lease import Worker
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, new_token, state_of
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.pools import pool_of

TYPE = "stale_obs"
DEAD = Worker("wn-dead.example", "slurm", "4242_7")


@pytest.fixture
def db(
    couchdb_server: CouchServer, couch_db_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> CouchDB:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PICAS_URL", couchdb_server.url)
    monkeypatch.setenv("PICAS_DB", couch_db_name)
    monkeypatch.setenv("PICAS_USR", couchdb_server.user)
    monkeypatch.setenv("PICAS_USR_PWD", couchdb_server.password)
    handle = couch(couchdb_server, couch_db_name)
    pool_of(handle)
    return handle


def _add(db: CouchDB, *names: str, **fields: Any) -> List[str]:
    docs = [new_token(TYPE, f"t_{name}", dict(fields)) for name in names]
    assert all(r.get("ok") for r in db.bulk_docs(docs))
    return [d["_id"] for d in docs]


def _claim(db: CouchDB, *, lease: float, clock: Callable[[], float] = time.time) -> Claim:
    claim = Claimer(CouchTokenPool(db), TYPE, worker=DEAD, lease=lease, clock=clock).next()
    assert claim is not None, "no token to claim"
    return claim


def _reset(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["tokens", "reset", TYPE, *args]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_expired_lease_is_taken_back_once(db: CouchDB, capsys: pytest.CaptureFixture[str]) -> None:
    (token_id,) = _add(db, "one")
    claim = _claim(db, lease=1)
    assert claim.token_id == token_id
    locked = db.get(token_id)
    assert locked["lease_expires"] - locked["heartbeat"] == pytest.approx(1)

    # Before expiry: the launcher may still be alive, nothing is stale.
    out = _reset(capsys, "--stale")
    assert time.time() < locked["lease_expires"], "the machine was too slow for a 1 s lease"
    assert out.strip() == f"{TYPE}: no stale tokens"
    assert db.get(token_id)["_rev"] == locked["_rev"]

    while time.time() <= locked["lease_expires"] + 0.05:
        time.sleep(0.05)

    # --dry-run names it and changes nothing.
    out = _reset(capsys, "--stale", "--dry-run")
    assert out.splitlines() == [token_id, f"would take back 1 stale tokens of type {TYPE}"]
    assert db.get(token_id)["_rev"] == locked["_rev"]

    out = _reset(capsys, "--stale")
    assert "took back 1 stale token(s) (1 with an expired lease, 0 locked too long" in out
    assert "1 back to todo" in out
    doc = db.get(token_id)
    assert state_of(doc) is TokenState.TODO
    assert (doc["scrub_count"], doc["attempt"], doc["lock"], doc["lease_expires"]) == (1, 1, 0, 0)
    assert doc["hostname"] == "" and doc["owner"] == ""
    (entry,) = doc["history"]
    assert entry["attempt"] == 1
    assert entry["hostname"] == DEAD.hostname
    assert entry["batch_job_id"] == DEAD.batch_job_id
    assert entry["locked"] == locked["lock"]
    assert "lease expired" in entry["reason"]

    # Exactly once: the second reset finds nothing; the token is claimable again (attempt 2).
    assert _reset(capsys, "--stale").strip() == f"{TYPE}: no stale tokens"
    assert _claim(db, lease=60).attempt == 2


def test_older_than_takes_back_leaseless_locks(
    db: CouchDB, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    old, recent = _add(db, "grid_lrt_old", "grid_lrt_recent")
    for token_id, age in ((old, 2 * 3600), (recent, 600)):
        doc = db.get(token_id)
        doc.update(lock=int(now - age), hostname="wn-old.example", status="running")
        db.save(doc)  # what GRID_LRT's launcher wrote: no lease_expires, no attempt
    (leased,) = _add(db, "leased")
    _claim(db, lease=3600)  # a live launcher with a lease: never taken back by age

    # Without --older-than lease-less tokens are never stale (no lease to expire).
    assert _reset(capsys, "--stale").strip() == f"{TYPE}: no stale tokens"
    out = _reset(capsys, "--stale", "--older-than", "1", "--dry-run")
    assert out.splitlines() == [old, f"would take back 1 stale tokens of type {TYPE}"]
    assert state_of(db.get(old)) is TokenState.LOCKED

    out = _reset(capsys, "--stale", "--older-than", "1")
    assert "took back 1 stale token(s) (0 with an expired lease, 1 locked too long" in out
    doc = db.get(old)
    assert state_of(doc) is TokenState.TODO
    assert doc["scrub_count"] == 1
    assert doc["history"][-1]["hostname"] == "wn-old.example"
    assert "without a lease" in doc["history"][-1]["reason"]
    assert state_of(db.get(recent)) is TokenState.LOCKED
    assert state_of(db.get(leased)) is TokenState.LOCKED


def test_max_scrub_exhausted_goes_to_error_5(
    db: CouchDB, capsys: pytest.CaptureFixture[str]
) -> None:
    (plain,) = _add(db, "plain")
    (patient,) = _add(db, "patient", max_scrub=5)  # the token's own limit wins over the flag
    past = lambda: time.time() - 120  # noqa: E731 - claims whose 1 s lease ran out long ago

    for _round in range(2):
        _claim(db, lease=1, clock=past)
        _claim(db, lease=1, clock=past)
        out = _reset(capsys, "--stale", "--max-scrub", "1")
    assert "took back 2 stale token(s)" in out
    assert "1 back to todo, 1 to error (requeued more than max_scrub times)" in out

    doc = db.get(plain)
    assert state_of(doc) is TokenState.ERROR
    assert doc["status"] == "error"
    assert doc["output"] == int(ErrorCode.ATTEMPTS_EXHAUSTED) == 5
    assert doc["done"] > 0
    assert "max_scrub 1" in doc["launcher_status"]
    assert len(doc["history"]) == 2
    assert (doc["attempt"], doc["scrub_count"]) == (2, 1)

    doc = db.get(patient)
    assert state_of(doc) is TokenState.TODO
    assert (doc["attempt"], doc["scrub_count"], doc["requeues"]) == (2, 2, 2)


def test_reset_without_view_or_stale_is_a_usage_error(
    db: CouchDB, capsys: pytest.CaptureFixture[str]
) -> None:
    (token_id,) = _add(db, "untouched")
    assert main(["tokens", "reset", TYPE]) == 2
    captured = capsys.readouterr()
    assert "error: lrt tokens reset needs a VIEW" in captured.err
    assert "hint:" in captured.err and "--stale" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert main(["tokens", "reset", TYPE, "error", "--stale"]) == 2
    assert "give no VIEW" in capsys.readouterr().err
    assert state_of(db.get(token_id)) is TokenState.TODO
