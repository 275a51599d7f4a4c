"""Issue 10's "done when" on a real single-node Slurm: a token set made by ``TokenSet`` from a
seed YAML, a sandbox built from two git repositories and uploaded with ``lrt sandbox upload
--tokens``, and ``lrt submit --backend slurm --jobs 4`` drain the pool; ``lrt jobs status``
reads squeue/scontrol and joins the tokens. While the jobs run, the PiCaS password is in no
process's argv and in no job's environment. A pilot killed by Slurm's time limit puts its
token back (the launcher's SIGTERM path)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.compat.tokenset import TokenSet
from grid_lrt.client.token import TokenHandler
from grid_lrt.shared.schema import TokenState
from tests.integration.client.conftest import CliEnv
from tests.support.gitkit import git_env, make_repo, write_config
from tests.support.launcher_kit import make_inputs, make_sandbox, save_tokens, token_doc
from tests.support.procscan import scan_jobs
from tests.support.secret_user import SECRET, secret_admin
from tests.support.slurm import SlurmCluster
from tests.support.zipapp_kit import worker_python

T_TYPE = "slurm_drain"
OBSID = "L654321"

MASTER_SH = """#!/bin/bash
set -euo pipefail
source bin/functions.sh
for f in Input/*; do summarize "$f"; done > "Output/${OBSID}_SB${STARTSB}.txt"
"""
FUNCTIONS_SH = (
    'summarize() { printf "%s %s\\n" "$(basename "$1")" "$(bash counter/count.sh "$1")"; }\n'
)
COUNT_SH = "wc -c < \"$1\" | tr -d ' '\n"


@pytest.fixture(scope="module")
def python39() -> str:
    """The workers' Python (the 3.9 floor), found before ``cli_env`` moves HOME."""
    return worker_python()


@pytest.fixture
def job_env(
    cli_env: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slurm_cluster: SlurmCluster
) -> Iterator[CliEnv]:
    """The environment `lrt submit` passes on to the jobs: Slurm's, short leases, and a login
    whose password is no user name (the server's admin/admin would match its user name)."""
    with secret_admin(cli_env.server) as user:
        monkeypatch.setenv("PICAS_USR", user)
        monkeypatch.setenv("PICAS_USR_PWD", SECRET)
        yield _job_env(cli_env, tmp_path, monkeypatch, slurm_cluster)


def _job_env(
    cli_env: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slurm_cluster: SlurmCluster
) -> CliEnv:
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    monkeypatch.setenv("LRT_HEARTBEAT", "1")
    monkeypatch.setenv("LRT_LEASE", "15")
    monkeypatch.setenv("LRT_WORKDIR", str(tmp_path / "scratch"))
    return cli_env


def _wait_gone(cluster: SlurmCluster, job_id: str, timeout: float, password: str) -> Dict[str, int]:
    seen = {"jobs": 0, "argv": 0, "environ": 0}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key, value in scan_jobs(password, "SLURM_JOB_ID=").items():
            seen[key] += value
        if not cluster.run(["squeue", "-h", "-j", job_id]).stdout.strip():
            return seen
        time.sleep(0.2)
    raise AssertionError(f"slurm job {job_id} still queued after {timeout} s")


def _submit(capsys: pytest.CaptureFixture[str], *args: str) -> Dict[str, Any]:
    assert main(["submit", "--backend", "slurm", "--json", *args]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    return dict(json.loads(out)["submitted"])


def test_token_set_sandbox_and_slurm_pilots_drain_the_pool(
    python39: str,
    job_env: CliEnv,
    slurm_cluster: SlurmCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = SECRET
    git_env(monkeypatch, tmp_path / "home")  # also HOME: no ~/.picasrc, env credentials only
    base = make_repo(
        tmp_path / "repos" / "pipeline",
        {"master.sh": MASTER_SH, "bin/functions.sh": FUNCTIONS_SH},
        executable=["master.sh"],
    )
    counter = make_repo(tmp_path / "repos" / "counter", {"count.sh": COUNT_SH}, branch="master")
    results = tmp_path / "results"
    results.mkdir()
    config = write_config(
        tmp_path / "pipeline.cfg",
        base,
        scripts={"counter": {"git_url": counter, "branch": "master"}},
        shell={"_id": "$TOKEN", "OBSID": "$OBSID", "STARTSB": "$STARTSB"},
        token={"status": "queued", "OBSID": OBSID, "RESULTS_DIR": results.as_uri()},
        name="pipeline",
        loc="sandboxes",
    )

    # the token set, as a GRID_LRT notebook makes it: one token per subband, srm.txt attached
    inputs = make_inputs(tmp_path / "data", [f"{OBSID}_SB{sb:03d}.dat" for sb in range(100, 108)])
    chunks = {100 + n: [url] for n, url in enumerate(inputs)}
    token_set = TokenSet(TokenHandler(T_TYPE), tok_config=str(config))
    assert len(token_set.create_dict_tokens(chunks, id_append=OBSID, file_upload="srm.txt")) == 8
    ids = token_set.tokens

    store = tmp_path / "store"
    assert main(["sandbox", "upload", str(config), "--to", store.as_uri(), "--tokens", T_TYPE]) == 0
    capsys.readouterr()
    docs = list(job_env.pool.docs(ids))
    assert all(d["SBXloc"].startswith(store.as_uri()) and d["SBXchecksum"] for d in docs)

    record = _submit(
        capsys,
        "--type",
        T_TYPE,
        "--jobs",
        "4",
        "--memory",
        "200",
        "--time",
        "10",
        "--worker-python",
        python39,
        "--folder",
        str(slurm_cluster.jobs_dir / "drain"),
    )
    assert record["tasks"] == [f"{record['job_id']}_{n}" for n in range(1, 5)]
    seen = _wait_gone(slurm_cluster, record["job_id"], timeout=240, password=password)
    assert seen["jobs"] > 0, "no job process was seen: the scan proved nothing"
    assert seen["argv"] == 0 and seen["environ"] == 0, seen

    docs = list(job_env.pool.docs(ids))
    logs = slurm_cluster.jobs_dir / "drain" / "logs"
    shown = "\n".join(p.read_text() for p in sorted(logs.glob("*.err")))[-4000:]
    assert [d["output"] for d in docs] == [0] * 8, shown
    assert job_env.pool.counts(T_TYPE)[TokenState.DONE] == 8
    assert {d["batch_job_id"] for d in docs} <= set(record["tasks"])
    for doc in docs:
        sb, url = doc["STARTSB"], inputs[int(doc["STARTSB"]) - 100]
        size = Path(url[len("file://") :]).stat().st_size
        assert (results / f"{OBSID}_SB{sb}.txt").read_text() == f"{OBSID}_SB{sb}.dat {size}\n"

    assert main(["jobs", "status", T_TYPE, "--json"]) == 0
    (job,) = json.loads(capsys.readouterr().out)
    states = {p["pilot"]: p["state"] for p in job["pilots"]}
    assert states == dict.fromkeys(record["tasks"], "done")
    ran: Set[str] = set()
    for pilot in job["pilots"]:
        ran.update(pilot["tokens"].get("done", []))
    assert ran == set(ids)
    assert main(["jobs", "status", T_TYPE]) == 0
    table = capsys.readouterr().out
    assert all(task in table for task in record["tasks"]) and "slurm" in table


def test_slurm_time_limit_puts_the_token_back(
    python39: str,
    job_env: CliEnv,
    slurm_cluster: SlurmCluster,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Slow: 60-90 s. slurmctld checks time limits every 30 s (compiled in), so SIGTERM comes
    # 60-90 s after the start of a --time=1 job.
    sandbox = make_sandbox(
        tmp_path / "sleepy.tar.gz",
        {"master.sh": "#!/bin/bash\nsleep 600\n", "tokvar.cfg": "_id: $TOKEN\n"},
    )
    (data,) = make_inputs(tmp_path / "data", ["in.dat"])
    save_tokens(
        job_env.db,
        [token_doc("slurm_slow", "slurm_slow_1", srm=data + "\n", SBXloc=sandbox.as_uri())],
    )
    record = _submit(
        capsys,
        "--type",
        "slurm_slow",
        "--jobs",
        "1",
        "--time",
        "1",
        "--memory",
        "200",
        "--worker-python",
        python39,
        "--folder",
        str(slurm_cluster.jobs_dir / "slow"),
    )
    started = time.monotonic()
    _wait_gone(slurm_cluster, record["job_id"], timeout=180, password=SECRET)
    took = time.monotonic() - started
    doc: Dict[str, Any] = job_env.db.get("slurm_slow_1")
    log = (slurm_cluster.jobs_dir / "slow" / "logs").glob("*.err")
    shown: List[str] = [p.read_text()[-3000:] for p in log]
    assert doc["lock"] == 0 and doc["done"] == 0, shown  # back in todo, not failed
    assert job_env.pool.counts("slurm_slow")[TokenState.TODO] == 1
    assert main(["jobs", "status", "slurm_slow", "--json"]) == 0
    (job,) = json.loads(capsys.readouterr().out)
    assert [p["state"] for p in job["pilots"]] == ["failed"], (took, job)
