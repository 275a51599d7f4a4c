"""The grid: DIRAC (``dirac-wms-job-submit``) and the gLite WMS (``glite-wms-job-submit -d
$USER``), both with one parametric JDL of N pilots.

Neither service can be reached from a test machine; what is tested is the rendered JDL and the
command seam (the tools' documented answers parsed). A proxy that has expired makes the tool
fail: its own message is shown, with ``dirac-proxy-init`` / ``voms-proxy-init`` as the hint.
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

from .backend import Backend, Folder, JobState, PilotSpec, Submitted
from .templates import jdl_string
from .tools import SubmitError, job_environment, run_tool

__all__ = ["DiracBackend", "GliteBackend"]

_DIRAC_STATES = {
    "received": JobState.PENDING,
    "checking": JobState.PENDING,
    "waiting": JobState.PENDING,
    "staging": JobState.PENDING,
    "matched": JobState.PENDING,
    "rescheduled": JobState.PENDING,
    "running": JobState.RUNNING,
    "completing": JobState.RUNNING,
    "stalled": JobState.RUNNING,
    "done": JobState.DONE,
    "completed": JobState.DONE,
    "failed": JobState.FAILED,
    "killed": JobState.CANCELLED,
    "deleted": JobState.CANCELLED,
}
_GLITE_STATES = {
    "submitted": JobState.PENDING,
    "waiting": JobState.PENDING,
    "ready": JobState.PENDING,
    "scheduled": JobState.PENDING,
    "running": JobState.RUNNING,
    "done": JobState.DONE,
    "cleared": JobState.DONE,
    "aborted": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}


def _jdl_values(spec: PilotSpec, folder: Folder) -> Dict[str, str]:
    return {
        "job_name": jdl_string(f"lrt-{spec.token_type}"),
        "jobs": str(spec.jobs),
        "cpus": str(spec.cpus),
        "walltime_seconds": str(spec.walltime_minutes * 60),
        "token_type": spec.token_type,
        "bootstrap": jdl_string(str(folder.bootstrap)),
        "launcher": jdl_string(str(folder.launcher)),
        "credentials": jdl_string(str(folder.credentials)),
    }


class DiracBackend(Backend):
    name = "dirac"
    submit_tool = "dirac-wms-job-submit"
    description_name = "pilots.jdl"

    def values(self, spec: PilotSpec, folder: Folder) -> Dict[str, str]:
        values = _jdl_values(spec, folder)
        extra = [f"  {option.rstrip(';')};" for option in spec.options]
        if spec.partition:
            extra.append(f'  Site = "{jdl_string(spec.partition)}";')
        values["dirac_attributes"] = "\n".join(extra)
        return values

    def submit(self, spec: PilotSpec, folder: Folder, description: Path) -> Submitted:
        out = run_tool(
            ["dirac-wms-job-submit", str(description)], env=job_environment(), cwd=str(folder.path)
        )
        # "JobID = [123, 124, 125]" (parametric) or "JobID = 123"
        found = re.search(r"JobID\s*=\s*\[?([\d,\s]+)\]?", out)
        if not found:
            raise SubmitError(f"dirac-wms-job-submit answered {out.strip()!r}, no JobID")
        ids = [i for i in re.split(r"[,\s]+", found.group(1)) if i]
        return Submitted(ids[0], ids)

    def states(self, job_id: str, tasks: Sequence[str]) -> Mapping[str, JobState]:
        out = run_tool(["dirac-wms-job-status", *tasks])
        found: Dict[str, JobState] = {}
        for line in out.splitlines():
            job = re.search(r"JobID=(\d+)", line)
            status = re.search(r"\bStatus=([^;]+)", line)
            if job and status:
                word = status.group(1).strip().lower()
                found[job.group(1)] = _DIRAC_STATES.get(word, JobState.UNKNOWN)
        return {task: found.get(task, JobState.UNKNOWN) for task in tasks}


class GliteBackend(Backend):
    name = "glite"
    submit_tool = "glite-wms-job-submit"
    description_name = "pilots.jdl"

    def values(self, spec: PilotSpec, folder: Folder) -> Dict[str, str]:
        values = _jdl_values(spec, folder)
        requirements = spec.requirements
        if spec.partition:
            queue = jdl_string(spec.partition)
            requirements = f'(RegExp("{queue}", other.GlueCEUniqueID)) && ({requirements})'
        values["whole_nodes"] = "true" if spec.whole_nodes else "false"
        values["requirements"] = requirements
        return values

    def submit(self, spec: PilotSpec, folder: Folder, description: Path) -> Submitted:
        out = run_tool(
            ["glite-wms-job-submit", "-d", getpass.getuser(), str(description)],
            env=job_environment(),
            cwd=str(folder.path),
        )
        found = re.search(r"(https://\S+)", out.split("Your job identifier is:")[-1])
        if "Your job identifier is:" not in out or not found:
            raise SubmitError(f"glite-wms-job-submit answered without a job identifier: {out!r}")
        return Submitted(found.group(1), [found.group(1)])

    def task_ids(self, submitted: Submitted, jobs: int) -> List[str]:
        return [submitted.job_id]

    def states(self, job_id: str, tasks: Sequence[str]) -> Mapping[str, JobState]:
        out = run_tool(["glite-wms-job-status", job_id])
        words = re.findall(r"Current Status:\s*(\w+)", out)
        state = _GLITE_STATES.get(words[0].lower(), JobState.UNKNOWN) if words else JobState.UNKNOWN
        return dict.fromkeys(tasks, state)
