"""The simulators' wait for Ctrl-C: SIGINT and SIGTERM both end it at once, whatever thread
is busy (the stop no longer depends on where a KeyboardInterrupt lands)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

CODE = (
    "import threading, time\n"
    "from grid_lrt.client.devtools.service import run_until_stopped\n"
    "threading.Thread(target=lambda: time.sleep(3600), daemon=True).start()\n"
    "print('ready', flush=True)\n"
    "print(run_until_stopped(), flush=True)\n"
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_wait(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == str(int(sig))
