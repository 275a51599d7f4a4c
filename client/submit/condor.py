"""HTCondor: one cluster of ``queue N`` jobs (``condor_submit -terse``), pilots
``<cluster>.<proc>``.

The bootstrap, the launcher and the credentials file travel as input files (``getenv =
False``: the submitter's environment stays home). States come from ``condor_q`` and then
``condor_history`` (``-af ProcId JobStatus ExitCode``). The launcher records the job's
``GlobalJobId`` (``schedd#<cluster>.<proc>#time``); :meth:`CondorBackend.task_of` maps it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Mapping, Sequence

from .backend import Backend, Folder, JobState, PilotSpec, Submitted
from .tools import SubmitError, ToolFailedError, job_environment, run_tool

__all__ = ["CondorBackend"]

#: HTCondor's JobStatus numbers.
_STATES = {
    "1": JobState.PENDING,
    "2": JobState.RUNNING,
    "3": JobState.CANCELLED,
    "4": JobState.DONE,
    "5": JobState.HELD,
    "6": JobState.RUNNING,  # transferring output
    "7": JobState.HELD,  # suspended
}
_TERSE = re.compile(r"(\d+)\.(\d+)\s*-\s*(\d+)\.(\d+)")


class CondorBackend(Backend):
    name = "condor"
    submit_tool = "condor_submit"
    description_name = "pilots.sub"

    def values(self, spec: PilotSpec, folder: Folder) -> Dict[str, str]:
        commands = list(spec.options)  # e.g. "+AccountingGroup = \"lofar\"" (--option)
        return {
            "jobs": str(spec.jobs),
            "cpus": str(spec.cpus),
            "memory_mb": str(spec.memory_mb),
            "walltime_seconds": str(spec.walltime_minutes * 60),
            "bootstrap": str(folder.bootstrap),
            "launcher": str(folder.launcher),
            "credentials": str(folder.credentials),
            "token_type": spec.token_type,
            "log_dir": str(folder.logs),
            "condor_commands": "\n".join(commands),
        }

    def submit(self, spec: PilotSpec, folder: Folder, description: Path) -> Submitted:
        out = run_tool(
            ["condor_submit", "-terse", str(description)],
            env=job_environment(),
            cwd=str(folder.path),
        )
        found = _TERSE.search(out)
        if not found:
            raise SubmitError(f"condor_submit answered {out.strip()!r}, not a cluster id")
        cluster, first, _, last = found.groups()
        procs = range(int(first), int(last) + 1)
        return Submitted(cluster, [f"{cluster}.{p}" for p in procs])

    def states(self, job_id: str, tasks: Sequence[str]) -> Mapping[str, JobState]:
        found: Dict[str, JobState] = {}
        for tool in ("condor_q", "condor_history"):
            if set(tasks) <= set(found):
                break
            try:
                out = run_tool([tool, job_id, "-af", "ProcId", "JobStatus", "ExitCode"])
            except ToolFailedError:
                continue
            for line in out.splitlines():
                parts = line.split()
                if len(parts) < 2:
                    continue
                task = f"{job_id}.{parts[0]}"
                state = _STATES.get(parts[1], JobState.UNKNOWN)
                if state is JobState.DONE and len(parts) > 2 and parts[2] not in ("0", "undefined"):
                    state = JobState.FAILED
                found.setdefault(task, state)
        return {task: found.get(task, JobState.UNKNOWN) for task in tasks}

    @staticmethod
    def task_of(batch_job_id: str) -> str:
        """``schedd#45.3#1700000000`` (a GlobalJobId) → ``45.3``; other ids unchanged."""
        parts = batch_job_id.split("#")
        return parts[1] if len(parts) == 3 else batch_job_id
