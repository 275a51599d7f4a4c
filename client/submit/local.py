"""The local backend: N launcher processes on this machine, detached, with their logs kept.

For a workstation, a login node that may run work, or a machine without a batch system.
Each pilot is ``/bin/sh -c '"$@"; echo $? > EXIT'`` around the launcher (argv, no shell
text from the user), in a new session so that it outlives ``lrt submit`` and a closed
terminal; stdout and stderr go to ``logs/pilot-<n>.log``. A pilot's id is
``local-<host>-<pid>``: the launcher records it in ``batch_job_id``
(``LRT_LOCAL_JOB_ID``). Its state is read from ``/proc`` (alive, same start time) and from
its exit file.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from .backend import Backend, Folder, JobState, PilotSpec, Submitted
from .tools import SubmitError, job_environment

__all__ = ["LocalBackend"]

_DETACH = '/bin/sh -c "$0" lrt-local-pilot "$@" >>"$LRT_LOG" 2>&1 </dev/null & echo $!'
_WRAPPER = (
    'export LRT_LOCAL_JOB_ID="$LRT_LOCAL_JOB_ID$$"; '
    'code=0; "$@" || code=$?; echo "$code" > "$LRT_EXIT_FILE"; exit "$code"'
)


def _start_time(pid: int) -> Optional[str]:
    """Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


class LocalBackend(Backend):
    name = "local"
    submit_tool = "sh"
    description_name = "pilots.json"

    @property
    def default_cap(self) -> int:  # type: ignore[override]
        return max(1, os.cpu_count() or 1)

    def template(self) -> str:
        return ""

    def values(self, spec: PilotSpec, folder: Folder) -> Dict[str, str]:
        return {}

    def render(self, spec: PilotSpec, folder: Folder) -> str:
        lines = [
            f"# {spec.jobs} local launcher processes (no batch system), logs in {folder.logs}",
            *(
                " ".join(self._argv(spec, folder, n)) + f" > {folder.logs}/pilot-{n}.log"
                for n in range(1, spec.jobs + 1)
            ),
        ]
        return "\n".join(lines) + "\n"

    def _argv(self, spec: PilotSpec, folder: Folder, n: int) -> List[str]:
        return [
            spec.worker_python,
            str(folder.launcher),
            "run",
            spec.token_type,
            *spec.launcher_args,
        ]

    def submit(self, spec: PilotSpec, folder: Folder, description: Path) -> Submitted:
        host = socket.gethostname().split(".")[0]
        tasks: List[str] = []
        starts: Dict[str, str] = {}
        work = folder.path / "work"
        work.mkdir(exist_ok=True)
        for n in range(1, spec.jobs + 1):
            exit_file = folder.logs / f"pilot-{n}.exit"
            exit_file.unlink(missing_ok=True)
            env = job_environment(
                {
                    "PICASRC": str(folder.credentials),
                    "LRT_WORKDIR": os.environ.get("LRT_WORKDIR", str(work)),
                    "LRT_EXIT_FILE": str(exit_file),
                }
            )
            try:
                # The outer shell starts the pilot in the background and exits, printing its
                # pid: the pilot is nobody's child here (no zombie, no wait owed).
                started = subprocess.run(
                    ["/bin/sh", "-c", _DETACH, _WRAPPER, *self._argv(spec, folder, n)],
                    env={
                        **env,
                        "LRT_LOCAL_JOB_ID": f"local-{host}-",
                        "LRT_LOG": str(folder.logs / f"pilot-{n}.log"),
                    },
                    cwd=str(folder.path),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=30,
                    start_new_session=True,
                    check=True,
                )
                pid = int(started.stdout.strip())
            except (OSError, ValueError, subprocess.SubprocessError) as exc:
                raise SubmitError(f"cannot start a local pilot: {exc}") from None
            task = f"local-{host}-{pid}"
            (folder.logs / f"pilot-{n}.id").write_text(task + "\n")
            tasks.append(task)
            starts[task] = _start_time(pid) or ""
        return Submitted(f"local-{host}-{folder.path.name}", tasks, {"starts": starts})

    def states(self, job_id: str, tasks: Sequence[str]) -> Mapping[str, JobState]:
        raise NotImplementedError("LocalBackend.states needs the submission folder")

    def local_states(
        self, tasks: Sequence[str], folder: Path, starts: Mapping[str, str]
    ) -> Dict[str, JobState]:
        """Alive with the same start time: running; else the exit file's code (0: done)."""
        found: Dict[str, JobState] = {}
        for n, task in enumerate(tasks, start=1):
            pid = int(task.rsplit("-", 1)[1])
            if starts.get(task) and _start_time(pid) == starts[task]:
                found[task] = JobState.RUNNING
                continue
            try:
                code = int((folder / "logs" / f"pilot-{n}.exit").read_text().strip())
            except (OSError, ValueError):
                found[task] = JobState.UNKNOWN
                continue
            found[task] = JobState.DONE if code == 0 else JobState.FAILED
        return found
