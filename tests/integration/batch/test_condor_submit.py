"""``lrt submit --backend condor`` on a real personal HTCondor pool (tests/support/condor.py:
trixie's condor 23.9 in a chroot). Two pilots of one cluster drain the tokens of a type against
the real CouchDB-compatible server, which the jobs reach on 127.0.0.1 (the chroot shares the
host's network namespace); the bootstrap, the launcher and the 0600 credentials file travel as
input files; each token's ``batch_job_id`` is its pilot's ``GlobalJobId`` (from
``$_CONDOR_JOB_AD``), and ``lrt jobs status`` reads condor_q/condor_history and joins the
tokens. While the jobs run, the PiCaS password is in no process's argv and in no job's
environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator
from urllib.parse import urlsplit

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.submit.condor import CondorBackend
from grid_lrt.shared.schema import TokenState
from tests.integration.client.conftest import CliEnv
from tests.support.condor import TESTER_UID, CondorPool
from tests.support.launcher_kit import make_inputs, make_sandbox, save_tokens, token_doc
from tests.support.procscan import scan_jobs
from tests.support.secret_user import SECRET, secret_admin

T_TYPE = "condor_drain"
OBSID = "L765432"
TOKENS = 5
#: trixie's Python (3.13) inside the chroot, where the pilots run. The condor backend does not
#: use --worker-python (jdl/README.md: slurm only): the bootstrap takes python3 from PATH.
WORKER_PYTHON = "/usr/bin/python3"

BOOTSTRAP_PATH = "/usr/local/bin:/usr/bin:/bin"
JOB_ENVIRONMENT = "LRT_HEARTBEAT=1 LRT_LEASE=15"

#: What the submission folder holds after the run (`when_to_transfer_output = ON_EXIT`
#: brings back new top-level files of a job's scratch dir: the launcher leaves none).
SUBMISSION_FILES = [
    "grid-lrt-launcher.pyz",
    "logs",
    "lrt-bootstrap.sh",
    "lrt-credentials",
    "pilots.sub",
    "submission.json",
]

MASTER_SH = """#!/bin/bash
set -euo pipefail
for f in Input/*; do
    printf '%s %s %s\\n' "$(basename "$f")" "$(wc -c < "$f" | tr -d ' ')" "$(id -u)"
done > "Output/${OBSID}_SB${STARTSB}.txt"
printenv PATH >> "Output/${OBSID}_SB${STARTSB}.txt"
"""
TOKVAR_CFG = "_id: $TOKEN\nOBSID: $OBSID\nSTARTSB: $STARTSB\n"


@pytest.fixture
def job_env(
    cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch, condor_pool: CondorPool
) -> Iterator[CliEnv]:
    """The condor wrappers first on PATH, and a login whose password is no user name."""
    with secret_admin(cli_env.server) as user:
        monkeypatch.setenv("PICAS_USR", user)
        monkeypatch.setenv("PICAS_USR_PWD", SECRET)
        monkeypatch.setenv("PATH", condor_pool.path())
        yield cli_env


def _wait_gone(pool: CondorPool, cluster: str, timeout: float, password: str) -> Dict[str, int]:
    seen = {"jobs": 0, "argv": 0, "environ": 0}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key, value in scan_jobs(password, "_CONDOR_JOB_AD=").items():
            seen[key] += value
        if not pool.run(["condor_q", cluster, "-af", "ProcId"]).stdout.strip():
            return seen
        time.sleep(0.2)
    queue = pool.run(["condor_q", cluster, "-nobatch", "-hold"], check=False).stdout
    raise AssertionError(f"condor cluster {cluster} still queued after {timeout} s:\n{queue}")


def _submit(capsys: pytest.CaptureFixture[str], *args: str) -> Dict[str, Any]:
    assert main(["submit", "--backend", "condor", "--json", *args]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    return dict(json.loads(out[out.index("{") :])["submitted"])


def test_condor_pilots_drain_the_pool(
    job_env: CliEnv, condor_pool: CondorPool, capsys: pytest.CaptureFixture[str]
) -> None:
    # The pilots share the host's network namespace: they reach the server on loopback.
    assert urlsplit(job_env.server.url).hostname in ("127.0.0.1", "localhost", "::1")
    floor = subprocess.run(
        [
            "chroot",
            str(condor_pool.root),
            WORKER_PYTHON,
            "-c",
            "import sys; print(sys.version_info >= (3, 9))",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert floor.stdout.strip() == "True", floor.stderr
    # Everything the pilots read or write lies in the work dir: the same path in the chroot.
    base = condor_pool.folder("drain-")
    base.chmod(0o755)
    sandbox = make_sandbox(
        base / "sandbox.tar.gz", {"master.sh": MASTER_SH, "tokvar.cfg": TOKVAR_CFG}
    )
    inputs = make_inputs(base / "data", [f"{OBSID}_SB{sb:03d}.dat" for sb in range(TOKENS)])
    results = base / "results"
    results.mkdir()
    os.chown(results, TESTER_UID, TESTER_UID)  # the pilots run as tester
    ids = [f"{T_TYPE}_{OBSID}_SB{sb:03d}" for sb in range(TOKENS)]
    save_tokens(
        job_env.db,
        [
            token_doc(
                T_TYPE,
                token_id,
                srm=url + "\n",
                OBSID=OBSID,
                STARTSB=f"{sb:03d}",
                SBXloc=sandbox.as_uri(),
                RESULTS_DIR=results.as_uri(),
            )
            for sb, (token_id, url) in enumerate(zip(ids, inputs))
        ],
    )

    folder = base / "sub"
    record = _submit(
        capsys,
        "--type",
        T_TYPE,
        "--jobs",
        "2",
        "--memory",
        "200",
        "--time",
        "10",
        "--worker-python",
        WORKER_PYTHON,
        # getenv = False: the job's environment comes from the description. Short heartbeats
        # and leases, or a pilot that finds no todo token while its sibling holds the last
        # one waits three default heartbeats (3 min) for that lease.
        f'--option=environment = "{JOB_ENVIRONMENT}"',
        "--folder",
        str(folder),
    )
    cluster = record["job_id"]
    assert cluster.isdigit() and record["tasks"] == [f"{cluster}.0", f"{cluster}.1"], record
    seen = _wait_gone(condor_pool, cluster, timeout=120, password=SECRET)
    assert seen["jobs"] > 0, "no job process was seen: the scan proved nothing"
    assert seen["argv"] == 0 and seen["environ"] == 0, seen

    logs = folder / "logs"
    shown = "\n".join(p.read_text() for p in sorted(logs.glob("pilot-*.err")))[-4000:]
    docs = list(job_env.pool.docs(ids))
    assert [d["output"] for d in docs] == [0] * TOKENS, shown
    assert job_env.pool.counts(T_TYPE)[TokenState.DONE] == TOKENS
    for doc in docs:  # the job ad's GlobalJobId: <schedd>#<cluster>.<proc>#<time>
        assert doc["batch_job_id"].count("#") == 2, doc["batch_job_id"]
        assert CondorBackend.task_of(doc["batch_job_id"]) in record["tasks"], doc["batch_job_id"]
    for sb, url in enumerate(inputs):  # written by the pipeline as tester, uploaded by the launcher
        size = Path(url[len("file://") :]).stat().st_size
        got = (results / f"{OBSID}_SB{sb:03d}.txt").read_text()
        # the job starts with no PATH (getenv = False): the bootstrap exports the usual one
        assert got == f"{OBSID}_SB{sb:03d}.dat {size} {TESTER_UID}\n{BOOTSTRAP_PATH}\n", got

    assert main(["jobs", "status", T_TYPE, "--json"]) == 0
    (job,) = json.loads(capsys.readouterr().out)
    assert job["record"]["backend"] == "condor" and job["record"]["job_id"] == cluster, job
    states = {p["pilot"]: p["state"] for p in job["pilots"]}
    assert states == dict.fromkeys(record["tasks"], "done"), job
    ran = set()
    for pilot in job["pilots"]:
        ran.update(pilot["tokens"].get("done", []))
    assert ran == set(ids)
    assert sorted(p.name for p in folder.iterdir()) == SUBMISSION_FILES  # no output came back
    shutil.rmtree(base)  # the work dir outlives the session; a failed test leaves its folder
