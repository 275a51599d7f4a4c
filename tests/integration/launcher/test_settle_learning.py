"""A launcher learns its settle time (issue 13, replicated setups): a confirmed claim that is
lost afterwards means replication lagged more than the settle time, so it doubles (up to
30 s) for the next claims; on a single copy (no settle) nothing changes."""

from __future__ import annotations

from pathlib import Path

from grid_lrt.launcher.loop import MAX_SETTLE, Launcher
from grid_lrt.launcher.runner import RunOutcome
from grid_lrt.shared.couch import CouchDB
from tests.support.couchdb import CouchServer
from tests.support.launcher_kit import launcher_config


def test_a_claim_lost_after_its_confirmation_doubles_the_settle_time(
    db: CouchDB, couchdb_server: CouchServer, tmp_path: Path
) -> None:
    launcher = Launcher(launcher_config(couchdb_server, db, "settle", tmp_path))
    launcher.settle = 1.0
    launcher._learn_settle(RunOutcome.DONE)
    launcher._learn_settle(RunOutcome.ERROR)
    assert launcher.settle == 1.0
    launcher._learn_settle(RunOutcome.LOST)
    assert launcher.settle == 2.0
    for _ in range(10):
        launcher._learn_settle(RunOutcome.LOST)
    assert launcher.settle == MAX_SETTLE
    launcher.settle = None
    launcher._learn_settle(RunOutcome.LOST)
    assert launcher.settle is None, "one copy: claims are not confirmed, nothing to learn"
