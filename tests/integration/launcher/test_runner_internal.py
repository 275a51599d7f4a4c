"""A bug inside the launcher ends the token with code 14 and its traceback, never lost or locked.

A ``storage_for`` that raises ``RuntimeError("boom")`` stands in for a launcher bug; the
:class:`~grid_lrt.launcher.runner.TokenRun` runs for real against the CouchDB-compatible server.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict

import pytest

from grid_lrt.launcher.claim import Claimer
from grid_lrt.launcher.runner import TokenRun
from grid_lrt.launcher.session import TokenSession
from grid_lrt.launcher.signals import StopSignals
from grid_lrt.launcher.storage import Storage
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.lease import Worker
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, new_token, state_of
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.launcher_kit import launcher_config

TYPE = "internal"


def broken_storage_for(url: str) -> Storage:
    """A launcher bug: the storage layer blows up with an exception nobody expects."""
    raise RuntimeError("boom")


PHASES: Dict[str, Dict[str, Any]] = {
    # The bug hits while fetching the sandbox: nothing ran yet.
    "sandbox": {"SBXloc": "https://127.0.0.1:9/sandbox.tar.gz"},
    # The bug hits while uploading: the pipeline ran and its logs must be attached.
    "upload": {
        "command": "echo pipeline-ran; echo result > Output/r.txt",
        "fetch_inputs": False,
        "RESULTS_DIR": "file:///nonexistent-results/",
    },
}


def _token_run(
    db: CouchDB, server: CouchServer, tmp_path: Path, token_id: str, fields: Dict[str, Any]
) -> TokenRun:
    """A claimed token and its TokenRun, whose every storage lookup raises RuntimeError."""
    pool = CouchTokenPool(db)
    pool.ensure_views()
    assert db.bulk_docs([new_token(TYPE, token_id, fields)])[0].get("ok")
    config = launcher_config(server, db, TYPE, tmp_path, lease=30, heartbeat=0.5)
    claim = Claimer(pool, TYPE, worker=Worker("wn-test"), lease=config.lease).next()
    assert claim is not None and claim.token_id == token_id
    session = TokenSession(pool, claim, lease=config.lease)
    return TokenRun(config, session, StopSignals(), broken_storage_for)


@pytest.mark.parametrize("phase", list(PHASES))
def test_launcher_bug_ends_the_token_with_code_14(
    phase: str, couchdb_server: CouchServer, couch_db_name: str, tmp_path: Path
) -> None:
    db: CouchDB = couch(couchdb_server, couch_db_name)
    token_id = f"t_{phase}"
    run = _token_run(db, couchdb_server, tmp_path, token_id, PHASES[phase])

    assert run.run() == "error"

    doc = db.get(token_id)
    assert state_of(doc) is TokenState.ERROR
    assert doc["output"] == int(ErrorCode.LAUNCHER_INTERNAL) == 14
    assert doc["status"] == "error"
    assert doc["done"] > 0
    status = doc["launcher_status"]
    assert status.startswith("launcher error: RuntimeError: boom\n"), status
    assert "Traceback (most recent call last)" in status  # the traceback tail
    assert "in broken_storage_for" in status and 'raise RuntimeError("boom")' in status
    # Not left locked: no lease that a reaper would have to wait for, nothing to take back.
    assert doc["lease_expires"] == 0
    pool = CouchTokenPool(db)
    assert pool.expired(TYPE, time.time() + 10**6) == []
    assert Claimer(pool, TYPE, worker=Worker("wn-other"), lease=30).next() is None
    assert (doc["attempt"], doc["scrub_count"]) == (1, 0)
    assert not run.jobdir.exists()
    if phase == "upload":
        assert "running" in doc["times"] and "uploading_results" in doc["times"]
        log = db.get_attachment(token_id, "attempt1_stdout.log")
        assert log.decode().strip() == "pipeline-ran"
    else:
        assert "running" not in doc["times"]
        assert "_attachments" not in doc


def test_job_folder_failure_ends_the_token_too(
    couchdb_server: CouchServer, couch_db_name: str, tmp_path: Path
) -> None:
    db: CouchDB = couch(couchdb_server, couch_db_name)
    run = _token_run(db, couchdb_server, tmp_path, "t_jobdir", {"command": "true"})
    # Something in the way of the job folder (as a full or read-only disk would be).
    run.jobdir.parent.mkdir(parents=True)
    run.jobdir.write_text("not a folder")

    assert run.run() == "error"
    doc = db.get("t_jobdir")
    assert state_of(doc) is TokenState.ERROR
    assert doc["output"] == int(ErrorCode.JOBDIR_MISSING)
    assert "cannot make the job directory" in doc["launcher_status"]
    assert "hint: check the launcher's working directory" in doc["launcher_status"]
