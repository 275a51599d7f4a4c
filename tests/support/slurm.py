"""A real single-node Slurm for the tests (imported into tests/conftest.py to register the fixture).

The session fixture :func:`slurm_cluster` finds or starts a cluster, in this order:

1. ``SLURM_CONF`` is set and ``sinfo`` answers: that cluster, used as is (never stopped here).
2. slurmctld, slurmd and the client commands are installed and we are root: ``tools/slurm.sh up``
   in a fresh directory under the pytest basetemp (a short one under /tmp if that path is too long
   for slurmd's sockets), on the first free port pair from 6817/6818 up, and ``down`` at the end
   of the session (no daemon or job step is left behind).
3. Otherwise the test is skipped, or fails when ``CI=true``.

It returns a :class:`SlurmCluster`. Jobs run as the submitting user (root on CI); submit them with
:meth:`SlurmCluster.sbatch` (``--parsable --chdir=<jobs_dir>``) or pass ``cluster.env`` and
``--chdir`` yourself. Without accounting, ``sacct`` does not work: finished jobs stay visible to
``scontrol show job`` for ``MinJobAge=600`` s, which is what :meth:`SlurmCluster.job_states` reads.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterator, Mapping, NoReturn, Sequence, Union

import pytest

from tests.support.helpers import in_ci

__all__ = ["SlurmCluster", "TaskState", "slurm_cluster"]

REPO = Path(__file__).resolve().parents[2]
SLURM_SH = REPO / "tools" / "slurm.sh"
#: Seconds any one Slurm client command may take.
CMD_TIMEOUT = 30.0
#: Seconds ``tools/slurm.sh up`` / ``down`` may take (each polls for at most 30 s).
SCRIPT_TIMEOUT = 120.0
DAEMONS = ("slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel")
INSTALL_HINT = "apt-get install --no-install-recommends slurmctld slurmd slurm-client"
#: slurmd's job-step sockets live in the state dir; a unix socket path has at most 107 bytes.
MAX_DIR_CHARS = 60
#: Port pairs tried (slurmctld, slurmd); 6819 is slurmdbd's default, so steps of 10.
PORT_PAIRS = tuple((6817 + 10 * k, 6818 + 10 * k) for k in range(20))

JobId = Union[str, int]


@dataclass(frozen=True)
class TaskState:
    """One job (or array task) as ``scontrol show job`` reports it."""

    state: str  #: JobState: PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
    exit_code: int  #: the first half of ExitCode=N:S
    signal: int  #: the second half (the signal that ended it, 0 if none)
    reason: str  #: Reason=..., e.g. None, NonZeroExitCode, TimeLimit, Resources


@dataclass(frozen=True)
class SlurmCluster:
    """A running Slurm cluster that answers ``sinfo``."""

    conf: Path  #: its slurm.conf
    env: Mapping[str, str]  #: os.environ at session start plus SLURM_CONF: pass to subprocesses
    jobs_dir: Path  #: a directory jobs can write to (sbatch's default --chdir)
    managed: bool  #: True if this session started it (and stops it)
    up_seconds: float  #: how long ``tools/slurm.sh up`` took (0.0 if not started here)

    def run(
        self, argv: Sequence[str], *, timeout: float = CMD_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a Slurm command with :attr:`env`; fail the test on a non-zero exit if ``check``."""
        proc = subprocess.run(
            list(argv),
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}", pytrace=False
            )
        return proc

    def sbatch(self, *args: str, chdir: Path | None = None, timeout: float = CMD_TIMEOUT) -> str:
        """``sbatch --parsable --chdir=<chdir or jobs_dir> *args``; returns the job id."""
        where = self.jobs_dir if chdir is None else chdir
        proc = self.run(["sbatch", "--parsable", f"--chdir={where}", *args], timeout=timeout)
        job_id = proc.stdout.strip().split(";", 1)[0]
        if not job_id.isdigit():
            pytest.fail(f"sbatch printed {proc.stdout!r}, not a job id", pytrace=False)
        return job_id

    def wait_gone(self, job_id: JobId, timeout: float = 60.0) -> float:
        """Poll ``squeue -h -j ID`` until it lists nothing (every task finished); returns the
        seconds waited. Raises TimeoutError after ``timeout`` seconds."""
        started = time.monotonic()
        deadline = started + timeout
        listed = ""
        while True:
            proc = self.run(["squeue", "-h", "-j", str(job_id)], check=False)
            listed = proc.stdout.strip()
            if proc.returncode == 0 and not listed:
                return time.monotonic() - started
            if proc.returncode != 0 and "Invalid job id" in proc.stderr:  # purged already
                return time.monotonic() - started
            if proc.returncode != 0:
                listed = proc.stderr.strip()
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Slurm job {job_id} still in squeue after {timeout} s:\n{listed}"
                )
            time.sleep(0.2)

    def job_states(self, job_id: JobId) -> dict[str, TaskState]:
        """``scontrol show job -o ID``, by array task id (pending ranges such as ``3-4`` are
        expanded); a job that is no array is keyed by its job id. Empty if Slurm does not know
        the job (never submitted, or purged MinJobAge after it ended)."""
        proc = self.run(["scontrol", "show", "job", "-o", str(job_id)], check=False)
        if proc.returncode != 0:
            if "Invalid job id" in proc.stderr:
                return {}
            pytest.fail(f"scontrol show job {job_id}: {proc.stderr.strip()}", pytrace=False)
        states: dict[str, TaskState] = {}
        for line in proc.stdout.splitlines():
            fields = _fields(line)
            if "JobId" not in fields:
                continue
            code, _, sig = fields.get("ExitCode", "0:0").partition(":")
            task = TaskState(
                state=fields.get("JobState", "UNKNOWN"),
                exit_code=int(code) if code.isdigit() else -1,
                signal=int(sig) if sig.isdigit() else -1,
                reason=fields.get("Reason", ""),
            )
            task_ids = fields.get("ArrayTaskId")
            for key in _expand(task_ids) if task_ids else [fields["JobId"]]:
                states[key] = task
        return states


_FIELD = re.compile(r"(?:^|\s)(JobId|ArrayTaskId|JobState|Reason|ExitCode)=(\S*)")


def _fields(line: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _FIELD.finditer(line)}


def _expand(task_ids: str) -> list[str]:
    """``1-3,7,9-13:2%4`` -> ['1', '2', '3', '7', '9', '11', '13']."""
    out: list[str] = []
    for part in task_ids.split("%", 1)[0].split(","):
        span, _, step = part.partition(":")
        first, _, last = span.partition("-")
        if first.isdigit() and (not last or last.isdigit()) and (not step or step.isdigit()):
            out.extend(str(i) for i in range(int(first), int(last or first) + 1, int(step or 1)))
        elif part:
            out.append(part)
    return out


def _which(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])
    return shutil.which(name, path=path)


def _sinfo_answers(env: Mapping[str, str]) -> bool:
    if _which("sinfo") is None:
        return False
    try:
        proc = subprocess.run(
            ["sinfo", "-h", "-o", "%T"],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def _cannot_start_reason() -> str | None:
    missing = [name for name in DAEMONS + CLIENTS if _which(name) is None]
    if missing:
        return f"not installed: {', '.join(missing)} ({INSTALL_HINT})"
    if os.geteuid() != 0:
        return "not root (tools/slurm.sh runs slurmctld and slurmd as root)"
    return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _free_port_pair() -> tuple[int, int]:
    for ctld, slurmd in PORT_PAIRS:
        if _port_free(ctld) and _port_free(slurmd):
            return ctld, slurmd
    pytest.fail(f"no free port pair for Slurm among {PORT_PAIRS}", pytrace=False)


def _unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing Slurm fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _script(action: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["bash", str(SLURM_SH), action],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"tools/slurm.sh {action} did not finish in {exc.timeout} s", pytrace=False)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A running single-node Slurm: SLURM_CONF if it answers, else one started here with
    tools/slurm.sh (root, packages installed), else skip (fail under CI=true)."""
    given = os.environ.get("SLURM_CONF", "").strip()
    if given and _sinfo_answers(os.environ):
        yield SlurmCluster(
            conf=Path(given),
            env=MappingProxyType(dict(os.environ)),
            jobs_dir=tmp_path_factory.mktemp("slurm-jobs"),
            managed=False,
            up_seconds=0.0,
        )
        return

    reason = _cannot_start_reason()
    if reason is not None:
        what = f"SLURM_CONF={given} does not answer" if given else "SLURM_CONF unset"
        _unavailable(f"no Slurm: {what}, and {reason}")

    state_dir = tmp_path_factory.mktemp("slurm")
    scratch: str | None = None
    if len(str(state_dir)) > MAX_DIR_CHARS:
        scratch = tempfile.mkdtemp(prefix="lrt-slurm-", dir="/tmp")
        state_dir = Path(scratch)
    ctld_port, slurmd_port = _free_port_pair()
    script_env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    script_env["LRT_SLURM_DIR"] = str(state_dir)
    script_env["LRT_SLURM_PORTS"] = f"{ctld_port} {slurmd_port}"
    conf = state_dir / "slurm.conf"

    started = time.monotonic()
    up = _script("up", script_env)
    up_seconds = time.monotonic() - started
    if up.returncode != 0:  # installed but broken: a failure, not a missing component
        _script("down", script_env)
        pytest.fail(f"tools/slurm.sh up failed ({up.returncode}):\n{up.stderr}", pytrace=False)
    try:
        yield SlurmCluster(
            conf=conf,
            env=MappingProxyType({**os.environ, "SLURM_CONF": str(conf)}),
            jobs_dir=tmp_path_factory.mktemp("slurm-jobs"),
            managed=True,
            up_seconds=up_seconds,
        )
    finally:
        down = _script("down", script_env)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        if down.returncode != 0:
            pytest.fail(f"tools/slurm.sh down failed ({down.returncode}):\n{down.stderr}")
