"""The ``slurm_cluster`` fixture against a real single-node Slurm (tools/slurm.sh): an array job's
tasks all run, a failing job's exit code is reported, and a time limit ends a job with SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.slurm import SlurmCluster, TaskState


def _fresh_dir(cluster: SlurmCluster, name: str) -> Path:
    path = cluster.jobs_dir / name
    path.mkdir()
    return path


def test_array_job_runs_every_task(slurm_cluster: SlurmCluster) -> None:
    where = _fresh_dir(slurm_cluster, "array")
    job = slurm_cluster.sbatch(
        "--array=1-4",
        "--wrap",
        'echo "task $SLURM_ARRAY_TASK_ID" > "out.$SLURM_ARRAY_TASK_ID"',
        chdir=where,
    )
    waited = slurm_cluster.wait_gone(job, timeout=60)  # ~3-4 s: two waves of 2 on 2 cores

    for task in range(1, 5):
        assert (where / f"out.{task}").read_text() == f"task {task}\n"
    states = slurm_cluster.job_states(job)
    assert states == {str(t): TaskState("COMPLETED", 0, 0, "None") for t in range(1, 5)}, waited


def test_failing_job_reports_its_exit_code(slurm_cluster: SlurmCluster) -> None:
    job = slurm_cluster.sbatch("--wrap", "exit 3", chdir=_fresh_dir(slurm_cluster, "exit3"))
    slurm_cluster.wait_gone(job, timeout=60)

    state = slurm_cluster.job_states(job)[job]
    assert (state.state, state.exit_code, state.signal) == ("FAILED", 3, 0)
    assert state.reason == "NonZeroExitCode"


# Slow: measured 60-90 s. slurmctld checks time limits every 30 s (PERIODIC_TIMEOUT, compiled in:
# no slurm.conf option shortens it), so SIGTERM comes 60-90 s after the start of a --time=1 job.
@pytest.mark.slow
def test_time_limit_sends_sigterm(slurm_cluster: SlurmCluster) -> None:
    where = _fresh_dir(slurm_cluster, "timelimit")
    script = where / "job.sh"
    script.write_text(
        "#!/bin/bash\n"
        "trap 'date +%s.%N > term.at; echo got TERM > term; exit 143' TERM\n"
        "date +%s.%N > start.at\n"
        "sleep 600 &\n"
        "wait\n"
    )
    job = slurm_cluster.sbatch("--time=1", str(script), chdir=where)
    slurm_cluster.wait_gone(job, timeout=180)

    assert (where / "term").read_text() == "got TERM\n"
    to_term = float((where / "term.at").read_text()) - float((where / "start.at").read_text())
    assert 55 <= to_term <= 120, f"SIGTERM came {to_term:.1f} s after the job started"
    state = slurm_cluster.job_states(job)[job]
    assert (state.state, state.reason) == ("TIMEOUT", "TimeLimit"), state
    print(f"time limit: SIGTERM {to_term:.1f} s after the start of a --time=1 job")


def test_started_cluster_reports_status(slurm_cluster: SlurmCluster) -> None:
    if not slurm_cluster.managed:
        pytest.skip("SLURM_CONF was given: not started by tools/slurm.sh")
    assert slurm_cluster.conf.is_file()
    answer = slurm_cluster.run(["sinfo", "-h", "-o", "%T"])
    assert answer.stdout.split() in (["idle"], ["mixed"], ["allocated"])
    assert slurm_cluster.up_seconds < 30
