"""The simulators' wait for Ctrl-C: SIGINT and SIGTERM both end it at once, whatever thread
is busy, also where SIGINT was ignored (a shell's background job: CI ran there, and the
simulator never stopped), and from the moment it says it is ready."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

CODE = (
    "import signal, threading, time\n"
    "from grid_lrt.client.devtools.service import StopSignal\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a shell's background job\n"
    "threading.Thread(target=lambda: time.sleep(3600), daemon=True).start()\n"
    "with StopSignal() as stop:\n"
    "    print('ready', flush=True)  # the handlers are in place from here\n"
    "    print(stop.wait(), flush=True)\n"
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
