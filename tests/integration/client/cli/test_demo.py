"""`lrt demo`, the README's main-job command, on its embedded default (issue 12): the on-disk
server, the StageIT simulator and its tape folder, a staged two-step campaign run with the
public commands, every result checked against its input, the report; twice in a row, the
second run making nothing new; and a run that cannot finish exits non-zero."""

from __future__ import annotations

import contextlib
import os
import re
import signal
from pathlib import Path
from typing import Iterator, List

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.serverctl import server_status, stop_server
from tests.support.pouchdb import ensure_pouchdb_installed


def _pilots(folder: Path) -> List[int]:
    """Processes of the demo's pilots (their command line names the demo's launcher)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(folder).encode() in arg and b"launcher" in arg for arg in argv):
            found.append(int(proc.name))
    return found


def released(pattern: str, text: str) -> int:
    return sum(int(n) for n in re.findall(pattern, text))


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    ensure_pouchdb_installed()
    yield tmp_path / "demo"
    for pid in _pilots(tmp_path / "demo"):  # a failed run may leave some
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    stop_server(tmp_path / "demo" / "server")


def test_the_demo_runs_the_staged_campaign_twice_and_ends_the_same_way(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = os.environ.get("HOME")
    assert main(["demo", "--dir", str(folder), "--subbands", "24"]) == 0
    first = capsys.readouterr()
    text = first.out + first.err
    steps = ["server start", "campaign sample", "launcher build", "campaign run", "report",
             "stage status", "server stop"]  # fmt: skip
    for step in steps:
        assert f"$ lrt {step}" in text, step
    assert "24 input files, 21 of them on tape" in text
    assert "cal: 6 tokens created" in text and "target: 12 tokens created" in text
    # released as their files come online and as cal tokens finish: in one pass or in several
    assert released(r"cal: (\d+) tokens released \(staged\)", text) == 6
    assert released(r"target: released (\d+) tokens \(cal done\)", text) == 12
    assert "24 subbands checked, 0 problems" in text
    assert "campaign L654321_sample: every token done" in text
    assert "report.html: 18 tokens of 2 type(s)" in text  # lrt report CAMPAIGN: every step
    assert (folder / "report.html").stat().st_size > 10_000
    assert os.environ.get("HOME") == home  # the demo's own HOME was only its own
    assert server_status(folder / "server") is None  # it stopped the server it started
    assert _pilots(folder) == []  # its pilots exited before the server stopped
    assert not list((folder / "home").rglob(".picasrc"))  # the server's picasrc was used

    assert main(["demo", "--dir", str(folder), "--subbands", "24"]) == 0
    second = capsys.readouterr()
    again = second.out + second.err
    assert "the sample observation from the last run" in again
    assert "cal: 0 tokens created, 6 already existed" in again
    assert "submitted" not in again and "stage request" not in again
    assert "24 subbands checked, 0 problems" in again
    assert "unknown to the service (forgotten)" in again  # a new simulator: the old request
    assert "every token done" in again


def test_a_demo_that_cannot_finish_exits_non_zero(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(folder), "--subbands", "8"]) == 0
    capsys.readouterr()
    result = sorted((folder / "campaign").rglob("results/target/*.tar"))[0]
    result.write_bytes(b"not the result")  # a result that no longer matches its input
    assert main(["demo", "--dir", str(folder), "--subbands", "8"]) == 1
    out = capsys.readouterr().out
    assert "6 subbands checked, 1 problems" in out and "NOT done" in out
