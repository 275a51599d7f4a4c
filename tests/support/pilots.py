"""Stop the local pilots a test's ``lrt submit --backend local`` left running (a pilot whose
database was dropped at teardown would wait out its outage window)."""

from __future__ import annotations

import os
import signal

from grid_lrt.client.submit.ledger import Ledger
from grid_lrt.client.submit.local import _start_time
from grid_lrt.shared.pool import CouchTokenPool

__all__ = ["stop_local_pilots"]


def stop_local_pilots(pool: CouchTokenPool) -> int:
    """SIGKILL every recorded local pilot that still runs (same pid and start time); how many."""
    stopped = 0
    for record in Ledger(pool).records(backend="local"):
        for task in record.tasks:
            pid = int(task.rsplit("-", 1)[1])
            if record.starts.get(task) and _start_time(pid) == record.starts[task]:
                try:
                    os.killpg(os.getpgid(pid), signal.SIGKILL)  # its wrapper's own session
                except ProcessLookupError:
                    continue
                stopped += 1
    return stopped
