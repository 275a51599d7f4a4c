"""`lrt submit --backend local --auto` drains a pool on a machine without a batch system
(issue 10), and `lrt jobs status` shows its pilots with the tokens they ran."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any, Dict, List

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.submit.ledger import PREFIX, JobRecord, Ledger
from grid_lrt.client.submit.local import LocalBackend, _start_time
from grid_lrt.client.submit.submission import auto_jobs
from grid_lrt.shared.schema import TokenState
from tests.integration.client.conftest import CliEnv
from tests.support.launcher_kit import make_inputs, make_sandbox, save_tokens, token_doc, wait_for
from tests.support.zipapp_kit import worker_python

T_TYPE = "local_drain"
MASTER = """#!/bin/bash
set -eu
echo "ran $TOKEN on $(hostname)" > "Output/$TOKEN.txt"
"""


@pytest.fixture(scope="module")
def python39() -> str:
    """The worker floor's Python, found before ``cli_env`` moves HOME (pyenv lives there)."""
    return worker_python()


def _tokens(env: CliEnv, tmp_path: Path, count: int) -> List[str]:
    sandbox = make_sandbox(
        tmp_path / "sbx.tar.gz", {"master.sh": MASTER, "tokvar.cfg": "_id: $TOKEN\n"}
    )
    results = tmp_path / "results"
    results.mkdir()
    inputs = make_inputs(tmp_path / "data", [f"SB{n:03d}.dat" for n in range(count)])
    docs = [
        token_doc(
            T_TYPE,
            f"{T_TYPE}_{n}",
            srm=inputs[n] + "\n",
            SBXloc=sandbox.as_uri(),
            RESULTS_DIR=results.as_uri(),
        )
        for n in range(count)
    ]
    save_tokens(env.db, docs)
    return [d["_id"] for d in docs]


def _submit(capsys: pytest.CaptureFixture[str], *args: str) -> Dict[str, Any]:
    assert main(["submit", "--backend", "local", "--type", T_TYPE, "--json", *args]) == 0
    out, err = capsys.readouterr()
    # what it is doing, on stderr (nothing to submit: it says so and stops before)
    assert f"local pilot(s) of {T_TYPE} ..." in err or "submitting 0" in err
    return dict(json.loads(out))


def test_local_auto_drains_the_pool_and_jobs_status_joins_the_tokens(
    python39: str,
    cli_env: CliEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LRT_HEARTBEAT", "1")
    monkeypatch.setenv("LRT_LEASE", "15")
    ids = _tokens(cli_env, tmp_path, 6)
    folder = tmp_path / "submission"
    result = _submit(
        capsys,
        "--auto",
        "--max-queued",
        "2",
        "--folder",
        str(folder),
        "--worker-python",
        python39,
    )
    record = result["submitted"]
    assert len(record["tasks"]) == 2 and record["backend"] == "local"

    # the folder: the credentials only in the 0600 file, nowhere else
    creds = folder / "lrt-credentials"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert f"password={cli_env.server.password}" in creds.read_text()
    for path in folder.rglob("*"):
        if path.is_file() and path != creds and path.suffix != ".pyz":
            assert cli_env.server.password not in path.read_text(errors="replace"), path

    def drained() -> bool:
        counts = cli_env.pool.counts(T_TYPE)
        exits = [p.read_text() for p in (folder / "logs").glob("*.exit")]
        assert len(exits) < 2 or counts[TokenState.DONE] == len(ids), (
            folder / "logs" / "pilot-1.log"
        ).read_text()
        return counts[TokenState.DONE] == len(ids)

    wait_for(drained, timeout=120, what="the local pilots to drain the pool")
    docs = {d["_id"]: d for d in cli_env.pool.docs(ids)}
    assert {d["output"] for d in docs.values()} == {0}
    assert {d["batch_job_id"] for d in docs.values()} <= set(record["tasks"])
    assert (tmp_path / "results").is_dir()

    ledger = Ledger(cli_env.pool)
    (found,) = ledger.records(T_TYPE)
    assert found.doc_id.startswith(PREFIX) and found.tasks == record["tasks"]

    def pilots_gone() -> bool:
        assert main(["jobs", "status", T_TYPE, "--json"]) == 0
        (job,) = json.loads(capsys.readouterr().out)
        return all(p["state"] == "done" for p in job["pilots"])

    wait_for(pilots_gone, timeout=60, what="the pilots to exit 0")
    assert main(["jobs", "status", T_TYPE]) == 0
    table = capsys.readouterr().out
    assert "local" in table and all(task in table for task in record["tasks"])
    done_column = sum(int(line.split()[-2]) for line in table.splitlines()[2:])
    assert done_column == len(ids)

    # the job records are no tokens: no view counts them
    assert sum(cli_env.pool.counts(T_TYPE).values()) == len(ids)

    # no work left: --auto submits nothing
    again = _submit(capsys, "--auto", "--folder", str(tmp_path / "second"))
    assert again["submitted"] is None and again["jobs"] == 0 and again["work"] == 0
    assert not (tmp_path / "second").exists()
    assert len(ledger.records(T_TYPE)) == 1


def test_a_failed_submit_leaves_nothing_behind(
    cli_env: CliEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _tokens(cli_env, tmp_path, 1)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    folder = tmp_path / "sub"
    code = main(
        ["submit", "--backend", "slurm", "--type", T_TYPE, "--jobs", "2", "--folder", str(folder)]
    )
    err = capsys.readouterr().err
    assert code == 3 and "sbatch is not installed" in err and "hint:" in err
    assert "Traceback" not in err and not folder.exists()
    assert Ledger(cli_env.pool).records() == []


def test_auto_counts_the_pilots_still_queued(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--auto: min(todo + waiting, cap) minus this type's pilots still pending or running."""
    ids = _tokens(cli_env, tmp_path, 6)
    cli_env.pool.update(ids[:2], lambda doc: bool(doc.update(held="staging")) or True)
    assert cli_env.pool.counts(T_TYPE)[TokenState.WAITING] == 2
    me = f"local-{socket.gethostname()}-{os.getpid()}"
    gone = f"local-{socket.gethostname()}-999999999"
    Ledger(cli_env.pool).add(
        JobRecord(
            backend="local",
            job_id="earlier",
            token_type=T_TYPE,
            tasks=[me, gone],
            folder=str(tmp_path / "earlier"),
            starts={me: _start_time(os.getpid()) or "", gone: "1"},
        )
    )
    sizing = auto_jobs(cli_env.pool, LocalBackend(), T_TYPE, cap=4)
    assert sizing == {"work": 6, "queued": 1, "cap": 4, "jobs": 3}
    (record,) = Ledger(cli_env.pool).records(T_TYPE)
    assert record.states == {me: "running", gone: "unknown"}  # the poll is kept for others
    assert auto_jobs(cli_env.pool, LocalBackend(), "no_such_type", cap=4)["jobs"] == 0
