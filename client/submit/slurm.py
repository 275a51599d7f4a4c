"""Slurm: one job array per submission (``sbatch --parsable``), pilots ``<array>_<n>``.

States come from ``squeue -r`` while pilots are queued or running, then from
``scontrol show job`` (finished jobs stay there for the cluster's ``MinJobAge``), then from
``sacct`` where the cluster keeps accounting. The launcher records ``<array>_<n>`` in each
token's ``batch_job_id`` (``SLURM_ARRAY_JOB_ID``/``SLURM_ARRAY_TASK_ID``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

from .backend import Backend, Folder, JobState, PilotSpec, Submitted
from .templates import shell_word
from .tools import SubmitError, ToolFailedError, job_environment, run_tool

__all__ = ["SlurmBackend"]

_STATES = {
    "PENDING": JobState.PENDING,
    "CONFIGURING": JobState.PENDING,
    "REQUEUED": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "SUSPENDED": JobState.HELD,
    "STOPPED": JobState.HELD,
    "COMPLETED": JobState.DONE,
    "FAILED": JobState.FAILED,
    "TIMEOUT": JobState.FAILED,
    "NODE_FAIL": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED,
    "BOOT_FAIL": JobState.FAILED,
    "DEADLINE": JobState.FAILED,
    "PREEMPTED": JobState.CANCELLED,
    "CANCELLED": JobState.CANCELLED,
}
_JOB_ID = re.compile(r"\d+\Z")
_FIELD = re.compile(r"(\w+)=(\S*)")


def _state(word: str) -> JobState:
    first = word.split("+", maxsplit=1)[0].split(" ", maxsplit=1)[0]
    return _STATES.get(first.upper(), JobState.UNKNOWN)


def _expand(job_id: str, spec: str) -> List[str]:
    """``1-3,5`` (an ArrayTaskId, ``%K`` stripped) → ``[job_1, job_2, job_3, job_5]``."""
    tasks: List[str] = []
    for part in spec.split("%", maxsplit=1)[0].strip("[]").split(","):
        low, _, high = part.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            tasks.extend(f"{job_id}_{n}" for n in range(int(low), int(high or low) + 1))
    return tasks


class SlurmBackend(Backend):
    name = "slurm"
    submit_tool = "sbatch"
    default_cap = 10  # the LoTSS production scripts cap Spider at 10 pilots
    description_name = "pilots.slurm"

    def values(self, spec: PilotSpec, folder: Folder) -> Dict[str, str]:
        directives = []
        if spec.partition:
            directives.append(f"#SBATCH --partition={spec.partition}")
        if spec.whole_nodes:
            directives.append("#SBATCH --exclusive")
        directives.extend(f"#SBATCH {option}" for option in spec.options)
        args = "".join(" " + shell_word(a) for a in spec.launcher_args)
        return {
            "job_name": f"lrt-{spec.token_type}",
            "jobs": str(spec.jobs),
            "max_parallel": str(spec.max_parallel or spec.jobs),
            "cpus": str(spec.cpus),
            "memory_mb": str(spec.memory_mb),
            "walltime_minutes": str(spec.walltime_minutes),
            "log_dir": str(folder.logs),
            "slurm_directives": "\n".join(directives),
            "credentials": shell_word(str(folder.credentials)),
            "worker_python": shell_word(spec.worker_python),
            "launcher": shell_word(str(folder.launcher)),
            "token_type": spec.token_type,
            "launcher_args": args,
        }

    def submit(self, spec: PilotSpec, folder: Folder, description: Path) -> Submitted:
        out = run_tool(
            ["sbatch", "--parsable", "--chdir", str(folder.path), str(description)],
            env=job_environment(),
            cwd=str(folder.path),
        )
        job_id = out.strip().split(";")[0]
        if not _JOB_ID.match(job_id):
            raise SubmitError(f"sbatch answered {out.strip()!r}, not a job id")
        return Submitted(job_id, [f"{job_id}_{n}" for n in range(1, spec.jobs + 1)])

    def states(self, job_id: str, tasks: Sequence[str]) -> Mapping[str, JobState]:
        found: Dict[str, JobState] = {}
        for line in run_tool(["squeue", "-h", "-r", "-j", job_id, "-o", "%i|%T"]).splitlines():
            task, _, word = line.strip().partition("|")
            if "_" in task:
                base, _, spec = task.partition("_")
                for one in _expand(base, spec):
                    found[one] = _state(word)
        if set(tasks) - set(found):
            found.update({k: v for k, v in self._finished(job_id).items() if k not in found})
        return {task: found.get(task, JobState.UNKNOWN) for task in tasks}

    def _finished(self, job_id: str) -> Dict[str, JobState]:
        try:
            out = run_tool(["scontrol", "show", "job", "-o", job_id])
        except ToolFailedError:
            out = ""  # "Invalid job id specified": older than MinJobAge
        found: Dict[str, JobState] = {}
        for line in out.splitlines():
            fields = dict(_FIELD.findall(line))
            task = fields.get("ArrayTaskId")
            if fields.get("ArrayJobId") == job_id and task:
                for one in _expand(job_id, task):
                    found[one] = _state(fields.get("JobState", ""))
        if found:
            return found
        try:
            out = run_tool(["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "JobID,State"])
        except ToolFailedError:
            return found  # no accounting on this cluster
        for line in out.splitlines():
            task, _, word = line.partition("|")
            if task.startswith(f"{job_id}_"):
                for one in _expand(job_id, task.partition("_")[2]):
                    found[one] = _state(word)
        return found
