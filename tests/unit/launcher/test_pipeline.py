"""The pipeline child: exit codes, logs, wall time, stop with grace, process groups, OOM."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.pipeline import (
    PipelineResult,
    find_memory_events,
    oom_kill_count,
    pipeline_command,
    run_pipeline,
    tail,
)
from grid_lrt.shared.errors import ErrorCode


def _run(
    tmp_path: Path,
    argv: List[str],
    *,
    walltime: Optional[float] = None,
    stop: Optional[threading.Event] = None,
    grace: float = 0.5,
    env: Optional[Dict[str, str]] = None,
    memory_events: Optional[Path] = None,
    on_start: Optional[List[int]] = None,
) -> PipelineResult:
    return run_pipeline(
        argv,
        cwd=tmp_path,
        env=env if env is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        stdout=tmp_path / "logs" / "stdout.log",
        stderr=tmp_path / "logs" / "stderr.log",
        walltime=walltime,
        stop=stop if stop is not None else threading.Event(),
        grace=grace,
        on_start=None if on_start is None else on_start.append,
        memory_events=memory_events if memory_events is not None else tmp_path / "no-cgroup",
    )


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _ended(pid: int, timeout: float = 2.0) -> bool:
    """True once ``pid`` is gone (a SIGKILLed process takes a moment to leave, under load)."""
    end = time.monotonic() + timeout
    while _running(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def _wait_for_file(path: Path, timeout: float = 3.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def test_exit_code_and_logs(tmp_path: Path) -> None:
    started: List[int] = []
    result = _run(
        tmp_path,
        ["/bin/sh", "-c", 'echo "out $FOO"; echo err >&2; exit 7'],
        env={"FOO": "bar", "PATH": "/usr/bin:/bin"},
        on_start=started,
    )
    assert result.returncode == 7
    assert result.exit_status == 7
    assert result.error_code() is None
    assert not (result.walltime_exceeded or result.stopped or result.oom_killed)
    assert (tmp_path / "logs" / "stdout.log").read_text() == "out bar\n"
    assert (tmp_path / "logs" / "stderr.log").read_text() == "err\n"
    assert len(started) == 1 and started[0] > 0
    assert 0 <= result.duration < 3


def test_success_and_working_directory(tmp_path: Path) -> None:
    result = _run(tmp_path, ["/bin/sh", "-c", "pwd"])
    assert result.exit_status == 0
    assert (tmp_path / "logs" / "stdout.log").read_text().strip() == str(tmp_path)


def test_signal_death_is_128_plus_n(tmp_path: Path) -> None:
    result = _run(tmp_path, ["/bin/sh", "-c", "kill -SEGV $$"])
    assert result.returncode == -signal.SIGSEGV
    assert result.exit_status == 128 + signal.SIGSEGV
    assert result.error_code() is None


def test_child_has_its_own_process_group(tmp_path: Path) -> None:
    started: List[int] = []
    code = "import os; open('pgid', 'w').write(str(os.getpgrp()))"
    _run(tmp_path, [sys.executable, "-c", code], on_start=started)
    pgid = int((tmp_path / "pgid").read_text())
    assert pgid == started[0]
    assert pgid != os.getpgrp()


def test_walltime_kills_the_group(tmp_path: Path) -> None:
    script = "sleep 30 & echo $! > grandchild; wait"
    result = _run(tmp_path, ["/bin/sh", "-c", script], walltime=0.3, grace=0.5)
    assert result.walltime_exceeded
    assert result.error_code() is ErrorCode.PIPELINE_WALLTIME
    assert result.returncode == -signal.SIGTERM  # the shell did not trap TERM
    assert result.exit_status == 128 + signal.SIGTERM
    assert 0.3 <= result.duration < 3
    assert _ended(int((tmp_path / "grandchild").read_text()))


def test_stop_terms_then_kills_after_grace(tmp_path: Path) -> None:
    # The child ignores SIGTERM (and so do its children): only SIGKILL after the grace ends it.
    script = "trap '' TERM; sleep 30 & echo $! > grandchild; while :; do sleep 0.05; done"
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    try:
        result = _run(tmp_path, ["/bin/sh", "-c", script], stop=stop, grace=0.5)
    finally:
        timer.cancel()
    assert result.stopped and not result.walltime_exceeded
    assert result.returncode == -signal.SIGKILL
    assert result.exit_status == 137
    assert not result.oom_killed  # the launcher sent that SIGKILL itself
    assert result.error_code() is None
    assert 0.8 <= result.duration < 3
    assert _ended(int((tmp_path / "grandchild").read_text()))


def test_stop_when_the_child_obeys_sigterm(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    start = time.monotonic()
    result = _run(tmp_path, ["/bin/sh", "-c", "sleep 30"], stop=stop, grace=5)
    assert result.stopped
    assert result.exit_status == 143
    assert time.monotonic() - start < 2  # no need to wait for the grace period


def test_leftover_background_processes_are_ended(tmp_path: Path) -> None:
    script = "sleep 30 & echo $! > grandchild; exit 3"
    result = _run(tmp_path, ["/bin/sh", "-c", script], grace=0.5)
    assert result.exit_status == 3
    assert _ended(int((tmp_path / "grandchild").read_text()))


OOM_CHILD = (
    "import os, signal, sys\n"
    "path = sys.argv[1]\n"
    "text = open(path).read().replace('oom_kill 0', 'oom_kill 1')\n"
    "open(path, 'w').write(text)\n"
    "os.kill(os.getpid(), signal.SIGKILL)\n"
)


def _memory_events(tmp_path: Path) -> Path:
    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 5\noom 1\noom_kill 0\noom_group_kill 0\n")
    return events


def test_oom_kill_detected_from_the_cgroup_counter(tmp_path: Path) -> None:
    events = _memory_events(tmp_path)
    result = _run(tmp_path, [sys.executable, "-c", OOM_CHILD, str(events)], memory_events=events)
    assert result.returncode == -signal.SIGKILL
    assert result.oom_killed
    assert result.error_code() is ErrorCode.PIPELINE_KILLED_OOM


def test_oom_kill_of_a_grandchild_reported_by_the_shell(tmp_path: Path) -> None:
    events = _memory_events(tmp_path)
    script = f'"{sys.executable}" -c "$OOM" "{events}"; exit $?'
    result = _run(
        tmp_path,
        ["/bin/sh", "-c", script],
        env={"OOM": OOM_CHILD, "PATH": "/usr/bin:/bin"},
        memory_events=events,
    )
    assert result.returncode == 137
    assert result.oom_killed


def test_sigkill_without_oom_counter_growth_is_not_oom(tmp_path: Path) -> None:
    events = _memory_events(tmp_path)
    result = _run(tmp_path, ["/bin/sh", "-c", "kill -KILL $$"], memory_events=events)
    assert result.exit_status == 137
    assert not result.oom_killed
    assert result.error_code() is None


def test_counter_growth_without_sigkill_is_not_oom(tmp_path: Path) -> None:
    events = _memory_events(tmp_path)
    script = f"sed -i 's/oom_kill 0/oom_kill 4/' '{events}'; exit 1"
    result = _run(tmp_path, ["/bin/sh", "-c", script], memory_events=events)
    assert oom_kill_count(events) == 4
    assert not result.oom_killed
    assert result.exit_status == 1


def test_missing_executable(tmp_path: Path) -> None:
    with pytest.raises(TokenFailure) as info:
        _run(tmp_path, [str(tmp_path / "nothing.sh")])
    assert info.value.code is ErrorCode.PIPELINE_MISSING
    assert "not found" in info.value.message


def test_not_executable(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    with pytest.raises(TokenFailure) as info:
        _run(tmp_path, [str(script)])
    assert info.value.code is ErrorCode.PIPELINE_MISSING
    assert "permission denied" in info.value.message


def test_missing_job_folder(tmp_path: Path) -> None:
    with pytest.raises(TokenFailure) as info:
        run_pipeline(
            ["/bin/true"],
            cwd=tmp_path / "gone",
            env={},
            stdout=tmp_path / "o",
            stderr=tmp_path / "e",
            walltime=None,
            stop=threading.Event(),
        )
    assert info.value.code is ErrorCode.JOBDIR_MISSING


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"".join(b"line %d\n" % i for i in range(1000)))
    assert tail(log, 16) == b"ne 998\nline 999\n"
    assert tail(log, 10_000_000) == log.read_bytes()
    assert tail(tmp_path / "missing", 100) == b""
    (tmp_path / "empty").write_bytes(b"")
    assert tail(tmp_path / "empty", 100) == b""


# -- pipeline_command ----------------------------------------------------------------------


def test_command_string_runs_in_a_shell(tmp_path: Path) -> None:
    assert pipeline_command({"command": "echo hi && exit 2"}, tmp_path) == [
        "/bin/sh",
        "-c",
        "echo hi && exit 2",
    ]


def test_command_list_is_argv(tmp_path: Path) -> None:
    assert pipeline_command({"command": ["python3", "-c", ""]}, tmp_path) == [
        "python3",
        "-c",
        "",
    ]


def test_master_sh_made_executable(tmp_path: Path) -> None:
    script = tmp_path / "master.sh"
    script.write_text("#!/bin/sh\necho from master\nexit 5\n")
    script.chmod(0o644)
    argv = pipeline_command({"_id": "t"}, tmp_path)
    assert argv == [str(script)]
    assert script.stat().st_mode & 0o111 == 0o111
    assert _run(tmp_path, argv).exit_status == 5


def test_master_sh_without_shebang_runs_with_sh(tmp_path: Path) -> None:
    (tmp_path / "master.sh").write_text("echo plain\nexit 4\n")
    argv = pipeline_command({}, tmp_path)
    assert argv == ["/bin/sh", str(tmp_path / "master.sh")]
    assert _run(tmp_path, argv).exit_status == 4


def test_command_wins_over_master_sh(tmp_path: Path) -> None:
    (tmp_path / "master.sh").write_text("#!/bin/sh\n")
    assert pipeline_command({"command": "true"}, tmp_path)[0] == "/bin/sh"


@pytest.mark.parametrize("token", [{}, {"command": ""}, {"command": []}, {"command": "  "}])
def test_nothing_to_run(tmp_path: Path, token: Dict[str, object]) -> None:
    with pytest.raises(TokenFailure) as info:
        pipeline_command(token, tmp_path)
    assert info.value.code is ErrorCode.PIPELINE_MISSING
    assert "master.sh" in info.value.message


@pytest.mark.parametrize("command", [42, {"sh": 1}, ["ok", 3], [""]])
def test_bad_command_field(tmp_path: Path, command: object) -> None:
    with pytest.raises(TokenFailure) as info:
        pipeline_command({"command": command}, tmp_path)
    assert info.value.code is ErrorCode.PIPELINE_MISSING
    assert "'command'" in info.value.message


# -- finding the cgroup counter ------------------------------------------------------------


def test_find_memory_events_cgroup_v2(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    (root / "user.slice" / "job_1").mkdir(parents=True)
    (root / "user.slice" / "job_1" / "memory.events").write_text("oom_kill 3\n")
    proc = tmp_path / "self-cgroup"
    proc.write_text("0::/user.slice/job_1\n")
    found = find_memory_events(proc, root)
    assert found == root / "user.slice" / "job_1" / "memory.events"
    assert oom_kill_count(found) == 3


def test_find_memory_events_cgroup_v1(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    folder = root / "memory" / "slurm" / "uid_1" / "job_2"
    folder.mkdir(parents=True)
    (folder / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    proc = tmp_path / "self-cgroup"
    proc.write_text("5:cpuacct,cpu:/x\n4:memory:/slurm/uid_1/job_2\n0::/\n")
    found = find_memory_events(proc, root)
    assert found == folder / "memory.oom_control"
    assert oom_kill_count(found) == 2


def test_no_cgroup_counter(tmp_path: Path) -> None:
    assert find_memory_events(tmp_path / "missing", tmp_path) is None
    assert oom_kill_count(None) is None
    assert oom_kill_count(tmp_path / "missing") is None
    (tmp_path / "events").write_text("low 0\n")
    assert oom_kill_count(tmp_path / "events") is None


@pytest.mark.parametrize("with_pidfd", [True, False])
def test_the_childs_exit_is_seen_with_and_without_a_pidfd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_pidfd: bool
) -> None:
    """pidfd (Linux >= 5.3) wakes the launcher at the exit; without it, Popen.wait polls."""
    from grid_lrt.launcher import pipeline

    opened: List[int] = []
    real = pipeline.open_pidfd

    def spy(pid: int) -> Optional[int]:
        fd = real(pid) if with_pidfd else None
        opened.extend([fd] if fd is not None else [])
        return fd

    monkeypatch.setattr(pipeline, "open_pidfd", spy)
    result = _run(tmp_path, ["sh", "-c", "exit 3"])
    assert (result.exit_status, result.stopped, result.walltime_exceeded) == (3, False, False)
    if with_pidfd and hasattr(os, "pidfd_open"):
        assert len(opened) == 1
        with pytest.raises(OSError):
            os.fstat(opened[0])  # closed again: no descriptor leaks per token
    stopped = threading.Event()
    threading.Timer(0.2, stopped.set).start()
    result = _run(tmp_path, ["sleep", "30"], stop=stopped)
    assert result.stopped and result.duration < 10
