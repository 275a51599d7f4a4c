"""Running a batch system's own command, and what its failures mean.

Every command runs from an argv list (never a shell) with an environment that holds no secret:
``sbatch`` and ``condor_submit -spool`` copy the submitter's environment into the job (Slurm's
default ``--export=ALL``), so a ``PICAS_USR_PWD`` in the user's shell would otherwise end up in
every job's environment block. :func:`job_environment` drops every variable that holds one.

A missing tool and a failing one become :class:`ToolMissingError` / :class:`ToolFailedError`
with the tool's own message and what to do; nothing else here raises.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.redact import redact

__all__ = [
    "SECRET_VARIABLES",
    "SubmitError",
    "ToolFailedError",
    "ToolMissingError",
    "job_environment",
    "require",
    "run_tool",
]

#: Variables that hold a secret; never passed to a batch tool (nor so to a job).
SECRET_VARIABLES = frozenset(
    {
        "PICAS_USR_PWD",
        "PICAS_PASSWORD",
        "LOFAR_LTA_TOKEN",
        "LTA_API_TOKEN",
        "STAGEIT_API_TOKEN",
        "LRT_MACAROON",
    }
)
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "MACAROON", "_PWD")

#: What to do when a tool fails, by the tool's name.
_HINTS = {
    "sbatch": "check the partition, time and memory against `sinfo -s`; the message above is "
    "Slurm's own",
    "squeue": "is Slurm reachable from this node (`sinfo`)?",
    "condor_submit": "check `condor_q` works on this node; the message above is HTCondor's own",
    "dirac-wms-job-submit": "is your DIRAC proxy valid? run `dirac-proxy-init -g <group>` and "
    "try again",
    "glite-wms-job-submit": "is your VOMS proxy valid? run "
    "`voms-proxy-init --voms lofar:/lofar/user` and try again",
}
_INSTALL = {
    "sbatch": "run this on a login node of a Slurm cluster (or load its module)",
    "condor_submit": "run this on an HTCondor submit node (or install the HTCondor client)",
    "dirac-wms-job-submit": "install and configure the DIRAC client (`dirac-configure`), "
    "then `dirac-proxy-init`",
    "glite-wms-job-submit": "use a gLite UI machine with the WMS client installed",
}


class SubmitError(LrtError):
    """Pilot jobs could not be submitted or polled as asked."""


class ToolMissingError(SubmitError):
    """The batch system's command is not installed on this machine."""

    exit_status = 3


class ToolFailedError(SubmitError):
    """The batch system's command exited non-zero; ``output`` is its message."""

    def __init__(self, message: str, *, output: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.output = output


def _holds_secret(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_VARIABLES or any(word in upper for word in _SECRET_WORDS)


def job_environment(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """This process's environment without any secret-holding variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not _holds_secret(k)}
    env.update(extra or {})
    return env


def require(tool: str, env: Optional[Mapping[str, str]] = None) -> None:
    """Raise :class:`ToolMissingError` unless ``tool`` is on PATH."""
    if shutil.which(tool, path=(env or os.environ).get("PATH")) is None:
        name = Path(tool).name
        raise ToolMissingError(
            f"{name} is not installed here (not on PATH)",
            hint=_INSTALL.get(name, f"install {name} or run this where it is available"),
        )


def run_tool(
    argv: Sequence[str],
    *,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    timeout: float = 120.0,
    ok_codes: Sequence[int] = (0,),
) -> str:
    """Run ``argv`` and return its standard output.

    Raises:
        ToolMissingError: ``argv[0]`` is not on PATH.
        ToolFailedError: it exited with a code not in ``ok_codes``, or ran past ``timeout``.
    """
    tool = Path(argv[0]).name
    require(argv[0], env)
    try:
        done = subprocess.run(
            list(argv),
            env=dict(env) if env is not None else job_environment(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolFailedError(
            f"{tool} did not answer within {timeout:.0f} s",
            hint="the batch system may be overloaded; try again later",
        ) from None
    except OSError as exc:
        raise ToolFailedError(f"{tool} could not be run: {exc.strerror}") from None
    if done.returncode not in ok_codes:
        said = redact((done.stderr or done.stdout).strip()) or "(no message)"
        raise ToolFailedError(
            f"{tool} failed (exit {done.returncode}): {said}",
            output=said,
            hint=_HINTS.get(tool, ""),
        )
    return done.stdout
