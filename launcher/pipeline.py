"""Run the pipeline as a child process: own process group, wall time, stop, OOM detection.

The child starts in a new session (its own process group), so everything it starts can be
signalled at once and the launcher is never hit by signals meant for the pipeline. Ending it
(wall time reached, or the launcher is stopping) is SIGTERM to the group, ``grace`` seconds,
then SIGKILL to the group. After the child exits, whatever it left running in its group
(background helpers) is ended the same way, so nothing outlives the token's run.

Out-of-memory kills are recognised from the cgroup's ``oom_kill`` counter: the child died of
a SIGKILL the launcher did not send (or, as a shell reports its own child's death, exited with
137 = 128 + SIGKILL) **and** the counter of the launcher's cgroup (v2 ``memory.events``, v1
``memory.oom_control``) grew during the run.

A batch system that ends a job (a time limit, ``scancel``, a pre-emption) signals *every*
process of it at once, so the pipeline may die of that SIGTERM before the launcher's own
handler has run. A pipeline that ends by SIGTERM, SIGINT or SIGHUP (or a shell's 128 + N for
them) therefore waits up to :data:`SIGNAL_SETTLE` seconds for the launcher's stop: if it
comes, the run counts as stopped (the token goes back to todo), not as the pipeline's failure.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import select
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional, Sequence

from grid_lrt.shared.errors import ErrorCode

from .failure import TokenFailure
from .oom import find_memory_events, oom_kill_count

__all__ = [
    "PipelineResult",
    "find_memory_events",
    "oom_kill_count",
    "open_pidfd",
    "pipeline_command",
    "run_pipeline",
    "tail",
]

log = logging.getLogger(__name__)

_POLL = 0.05
_SIGKILL_STATUS = 128 + signal.SIGKILL
#: Seconds a pipeline that died of a stop signal waits for the launcher's own stop signal.
SIGNAL_SETTLE = 2.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_STOP_CODES = frozenset([-s for s in _STOP_SIGNALS] + [128 + s for s in _STOP_SIGNALS])


@dataclasses.dataclass(frozen=True)
class PipelineResult:
    """How the pipeline ended."""

    #: As :class:`subprocess.Popen` reports it: the exit code, or ``-N`` for signal N.
    returncode: int
    #: What goes into the token's ``output``: the exit code, or ``128 + N`` for signal N.
    exit_status: int
    #: Killed because the wall-time limit was reached.
    walltime_exceeded: bool = False
    #: Ended because the launcher is stopping (SIGTERM/SIGINT to the launcher).
    stopped: bool = False
    #: Killed by the kernel's OOM killer (see the module docstring).
    oom_killed: bool = False
    #: Seconds from start to exit.
    duration: float = 0.0

    def error_code(self) -> Optional[ErrorCode]:
        """91 for a wall-time kill, 92 for an OOM kill; None when ``exit_status`` is the result."""
        if self.walltime_exceeded:
            return ErrorCode.PIPELINE_WALLTIME
        if self.oom_killed:
            return ErrorCode.PIPELINE_KILLED_OOM
        return None


# -- the command -------------------------------------------------------------------------------


def _all_strings(items: List[Any]) -> bool:
    return bool(items) and all(isinstance(item, str) for item in items)


def _absent(command: Any) -> bool:
    return command is None or command == [] or (isinstance(command, str) and not command.strip())


def pipeline_command(token: Mapping[str, Any], jobdir: Path) -> List[str]:
    """The argv of the pipeline for ``token``.

    * ``command`` field, a string: run by ``/bin/sh -c``; a list of strings: the argv.
    * else ``jobdir/master.sh`` (made executable; a script without ``#!`` line is run by
      ``/bin/sh``, as a shell would).

    Raises:
        TokenFailure: 6 (``PIPELINE_MISSING``): no usable command and no ``master.sh``.
    """
    command = token.get("command")
    if isinstance(command, str) and command.strip():
        return ["/bin/sh", "-c", command]
    if isinstance(command, list) and command[:1] != [""] and _all_strings(command):
        return list(command)
    if not _absent(command):
        raise TokenFailure(
            ErrorCode.PIPELINE_MISSING,
            f"token field 'command' must be a string or a list of strings, not {command!r}",
        )
    script = jobdir / "master.sh"
    if not script.is_file():
        raise TokenFailure(
            ErrorCode.PIPELINE_MISSING,
            "nothing to run: the token has no 'command' and the sandbox has no master.sh",
            hint="set the token's 'command' or ship master.sh in the sandbox (SBXloc)",
        )
    mode = script.stat().st_mode
    script.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    with script.open("rb") as handle:
        shebang = handle.read(2) == b"#!"
    return [str(script)] if shebang else ["/bin/sh", str(script)]


# -- running -----------------------------------------------------------------------------------


def _signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to the group; False when no process of the group is left."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member changed user (setuid helper)
        return True
    return True


def _group_alive(pgid: int, proc_root: Path = Path("/proc")) -> bool:
    """True while a process of the group runs (zombies waiting for their reaper do not count)."""
    if not _signal_group(pgid, 0):
        return False
    try:
        entries = [e for e in proc_root.iterdir() if e.name.isdigit()]
    except OSError:  # pragma: no cover - no /proc: trust kill(0)
        return True
    for entry in entries:
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def open_pidfd(pid: int) -> Optional[int]:
    """A file descriptor that becomes readable when ``pid`` exits (Linux >= 5.3), or None
    (then the exit is waited for by polling, as ``Popen.wait`` does)."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:  # an older kernel, or a sandbox that forbids it
        return None


class _Child:
    """The running child and what was done to it."""

    def __init__(self, proc: subprocess.Popen[bytes], grace: float) -> None:
        self.proc = proc
        self.pgid = proc.pid  # start_new_session: the child leads its own group
        self.grace = grace
        self.sent_kill = False
        # Woken by the child's exit instead of polling (Popen.wait with a timeout sleeps in
        # growing steps, which would add milliseconds to every short pipeline).
        self._pidfd = open_pidfd(proc.pid)

    def wait(self, timeout: float) -> Optional[int]:
        if self._pidfd is not None and self.proc.returncode is None:
            poller = select.poll()
            poller.register(self._pidfd, select.POLLIN)
            if not poller.poll(max(0, int(timeout * 1000))):
                return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def end(self) -> int:
        """SIGTERM to the group, up to ``grace`` s for it to exit, then SIGKILL."""
        _signal_group(self.pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        code = self.wait(max(0.0, self.grace))
        if code is None:
            self.sent_kill = True
            _signal_group(self.pgid, signal.SIGKILL)
            code = self.proc.wait()
        self.reap_group(deadline)
        return code

    def reap_group(self, deadline: Optional[float] = None) -> None:
        """End what is left of the group after the child exited (TERM, then KILL)."""
        if not _group_alive(self.pgid):
            return
        log.info("pipeline left processes behind in group %d; ending them", self.pgid)
        _signal_group(self.pgid, signal.SIGTERM)
        end = deadline if deadline is not None else time.monotonic() + self.grace
        while _group_alive(self.pgid) and time.monotonic() < end:
            time.sleep(_POLL)
        _signal_group(self.pgid, signal.SIGKILL)


def _start(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], stdout: Path, stderr: Path
) -> subprocess.Popen[bytes]:
    if not cwd.is_dir():
        raise TokenFailure(ErrorCode.JOBDIR_MISSING, f"job folder {cwd} does not exist")
    if not argv:
        raise TokenFailure(ErrorCode.PIPELINE_MISSING, "empty pipeline command")
    stdout.parent.mkdir(parents=True, exist_ok=True)
    stderr.parent.mkdir(parents=True, exist_ok=True)
    with stdout.open("wb") as out, stderr.open("wb") as err:
        try:
            return subprocess.Popen(
                list(argv),
                cwd=str(cwd),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            reason = {
                errno.ENOENT: "not found",
                errno.EACCES: "not executable (permission denied)",
                errno.ENOEXEC: "not an executable format (no #! line?)",
            }.get(exc.errno or 0, exc.strerror or str(exc))
            raise TokenFailure(
                ErrorCode.PIPELINE_MISSING, f"cannot start the pipeline {argv[0]!r}: {reason}"
            ) from exc


def run_pipeline(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdout: Path,
    stderr: Path,
    walltime: Optional[float],
    stop: threading.Event,
    grace: float = 30.0,
    on_start: Optional[Callable[[int], None]] = None,
    memory_events: Optional[Path] = None,
) -> PipelineResult:
    """Run ``argv`` to its end (or until wall time / ``stop``) and say how it ended.

    Args:
        argv: The command (see :func:`pipeline_command`).
        cwd: Working folder (the job folder).
        env: The complete environment of the child.
        stdout, stderr: Files receiving the child's output (replaced).
        walltime: Seconds before the child is ended (code 91); None for no limit.
        stop: When set (the launcher got SIGTERM/SIGINT), the child is ended; ``stopped``.
        grace: Seconds between SIGTERM and SIGKILL.
        on_start: Called with the child's pid once it runs.
        memory_events: The cgroup file with the ``oom_kill`` counter; default: found from
            ``/proc/self/cgroup`` (:func:`find_memory_events`).

    Raises:
        TokenFailure: 6 (``PIPELINE_MISSING``) when the command cannot be started; 4
            (``JOBDIR_MISSING``) when ``cwd`` does not exist.
    """
    events = memory_events if memory_events is not None else find_memory_events()
    oom_before = oom_kill_count(events)
    started = time.monotonic()
    proc = _start(argv, cwd, env, stdout, stderr)
    child = _Child(proc, grace)
    log.debug("pipeline started: pid %d", proc.pid)
    deadline = None if walltime is None else started + walltime
    walltime_exceeded = stopped = False
    try:
        if on_start is not None:
            on_start(proc.pid)
        while True:
            code = child.wait(_POLL)
            if code is not None:
                child.reap_group()
                break
            if stop.is_set():
                stopped = True
                log.warning("stopping the pipeline (pid %d): the launcher is stopping", proc.pid)
                code = child.end()
                break
            if deadline is not None and time.monotonic() >= deadline:
                walltime_exceeded = True
                log.warning("pipeline (pid %d) reached its wall time of %s s", proc.pid, walltime)
                code = child.end()
                break
    except BaseException:
        # An exception in the launcher itself (KeyboardInterrupt...): never leave the child.
        child.grace = min(grace, 5.0)
        child.end()
        raise
    finally:
        child.close()
    if not stopped and code in _STOP_CODES and stop.wait(SIGNAL_SETTLE):
        stopped = True
        log.warning(
            "pipeline (pid %d) ended by a stop signal that reached the launcher too: the "
            "batch system is ending the job",
            proc.pid,
        )
    duration = time.monotonic() - started
    oom_after = oom_kill_count(events)
    killed = code in (-signal.SIGKILL, _SIGKILL_STATUS)
    oom = (
        killed
        and not child.sent_kill
        and oom_before is not None
        and oom_after is not None
        and oom_after > oom_before
    )
    return PipelineResult(
        returncode=code,
        exit_status=code if code >= 0 else 128 - code,
        walltime_exceeded=walltime_exceeded,
        stopped=stopped,
        oom_killed=oom,
        duration=duration,
    )


def tail(path: Path, max_bytes: int) -> bytes:
    """The last ``max_bytes`` bytes of ``path`` (all of it if shorter; b"" if missing)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            return handle.read(max_bytes)
    except OSError:
        return b""
