"""Issue 9, finding 2: a run whose token was taken over never uploads its results.

The token is requeued and claimed by another launcher while the pipeline runs, and this
launcher's heartbeat has not noticed yet (its next beat is far away). The run must ask the
database before results leave the node, and drop them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from grid_lrt.launcher.claim import Claimer
from grid_lrt.launcher.runner import RunOutcome, TokenRun
from grid_lrt.launcher.session import TokenSession
from grid_lrt.launcher.signals import StopSignals
from grid_lrt.launcher.storage import storage_for
from grid_lrt.shared.couch import ConflictError
from grid_lrt.shared.lease import Worker, apply_claim, requeue
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, new_token, state_of
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.launcher_kit import launcher_config
from tests.support.pools import pool_of

TYPE = "zombie"


def test_a_taken_over_token_uploads_nothing(
    couchdb_server: CouchServer, couch_db_name: str, tmp_path: Path
) -> None:
    db = couch(couchdb_server, couch_db_name)
    pool = pool_of(db)
    results = tmp_path / "results"
    results.mkdir()
    fields = {
        "command": "sleep 5; echo result > Output/r.txt",
        "fetch_inputs": False,
        "RESULTS_DIR": results.as_uri(),
    }
    assert db.bulk_docs([new_token(TYPE, "t_z", fields)])[0].get("ok")
    config = launcher_config(couchdb_server, db, TYPE, tmp_path, lease=600, heartbeat=300)
    claim = Claimer(pool, TYPE, worker=Worker("wn-zombie"), lease=config.lease).next()
    assert claim is not None
    run = TokenRun(
        config, TokenSession(pool, claim, lease=config.lease), StopSignals(), storage_for
    )

    def take_over() -> None:
        """While the pipeline sleeps: the token is requeued and claimed by another launcher."""
        while db.get("t_z").get("status") != "running":
            time.sleep(0.05)
        for _ in range(50):  # the launcher writes its status meanwhile: retry on a conflict
            doc = db.get("t_z")
            requeue(doc, now=time.time(), reason="lease expired (test)")
            apply_claim(doc, now=time.time(), lease=600, worker=Worker("wn-new"), owner="other")
            try:
                db.save(doc)
                return
            except ConflictError:
                time.sleep(0.05)

    rival = threading.Thread(target=take_over)
    time.sleep(0.1)
    rival.start()
    outcome = run.run()
    rival.join(timeout=30)
    assert outcome is RunOutcome.LOST
    assert list(results.iterdir()) == []  # nothing uploaded, not even a temporary
    stored = db.get("t_z")
    assert (state_of(stored), stored["attempt"], stored["owner"]) == (
        TokenState.LOCKED,
        2,
        "other",
    )
    assert stored.get("Results_location", "") == ""
    assert CouchTokenPool(db).get("t_z") is not None
