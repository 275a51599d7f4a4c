"""The ``slurm_cluster`` fixture against a real single-node Slurm (tools/slurm.sh): an array job's
tasks all run, a failing job's exit code is reported."""

from __future__ import annotations

from pathlib import Path

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


# The time limit (SIGTERM 60-90 s after the start of a --time=1 job: slurmctld checks limits
# every 30 s, compiled in) is tested once, with the launcher: test_slurm_submit.py.
