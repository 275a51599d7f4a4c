"""Input archives across one job, extraction limits, and the transfer threads (issue 9, findings
6 and 12).

Two input archives of one token (or the sandbox and an input archive) may each be harmless
and still, together, leave a link that leads out of the job; an archive may unpack to far more
than its size; a stop must not wait for the queued transfers.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any, List

import pytest

from grid_lrt.launcher import unpack_writer
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.inputs import fetch_inputs
from grid_lrt.launcher.inputs_threads import run_parallel
from grid_lrt.launcher.storage import storage_for
from grid_lrt.launcher.unpack import UnpackLimits
from grid_lrt.shared.errors import ErrorCode
from tests.unit.launcher.archive_kit import tar_bytes

BUILTIN = partial(storage_for, prefer="builtin")


def _source(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path.as_uri()


def _job(tmp_path: Path) -> Path:
    inputs = tmp_path / "job" / "Input"
    inputs.mkdir(parents=True)
    return inputs


def _fetch(tmp_path: Path, links: List[str], **kw: Any) -> List[Path]:
    return fetch_inputs(
        "".join(f"{link}\n" for link in links),
        tmp_path / "job" / "Input",
        storage_for=BUILTIN,
        sleep=lambda s: None,
        **kw,
    )


def test_two_input_archives_cannot_make_a_link_leave_the_job(tmp_path: Path) -> None:
    _job(tmp_path)
    first = _source(tmp_path, "a.tar", tar_bytes([("a", "sym", "b/c/b/c/../..", 0o777)]))
    second = _source(
        tmp_path, "b.tar", tar_bytes([("b", "dir", "", 0o755), ("b/c", "sym", "..", 0o777)])
    )
    with pytest.raises(TokenFailure) as info:
        _fetch(tmp_path, [first, second])
    assert info.value.code is ErrorCode.SANDBOX_UNSAFE
    assert "input archive b.tar refused: unsafe archive member 'a'" in info.value.message
    assert not (tmp_path / "job" / "Input" / "a").is_symlink()


def test_an_input_archive_cannot_turn_a_sandbox_link_outwards(tmp_path: Path) -> None:
    inputs = _job(tmp_path)
    (inputs.parent / "data").symlink_to("Input/b/c/../../..")  # from the sandbox: inside, now
    archive = _source(
        tmp_path, "b.tar", tar_bytes([("b", "dir", "", 0o755), ("b/c", "sym", "..", 0o777)])
    )
    with pytest.raises(TokenFailure) as info:
        _fetch(tmp_path, [archive])
    assert info.value.code is ErrorCode.SANDBOX_UNSAFE
    assert "'data': a link ('Input/b/c/../../..') that leads outside job" in info.value.message
    assert not (inputs.parent / "data").is_symlink()


def test_an_input_archive_over_the_limits_is_26(tmp_path: Path) -> None:
    _job(tmp_path)
    archive = _source(tmp_path, "big.tar", tar_bytes([("x", "file", "x" * 5000, 0o644)]))
    with pytest.raises(TokenFailure) as info:
        _fetch(tmp_path, [archive], limits=UnpackLimits(max_bytes=4096))
    assert info.value.code is ErrorCode.SANDBOX_UNSAFE
    assert "input archive big.tar refused: big.tar unpacks to more than" in info.value.message
    assert "LRT_UNPACK_MAX_BYTES" in info.value.hint


def test_a_full_disk_while_extracting_an_input_is_21(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _job(tmp_path)
    archive = _source(tmp_path, "in.tar", tar_bytes([("x", "file", "data", 0o644)]))

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(unpack_writer.MemberWriter, "_write_file", full)
    with pytest.raises(TokenFailure) as info:
        _fetch(tmp_path, [archive])
    assert info.value.code is ErrorCode.DOWNLOAD_FAILED
    assert "No space left on device" in info.value.message


# ---- run_parallel -------------------------------------------------------------------------------


def test_run_parallel_keeps_the_order() -> None:
    stop = threading.Event()
    assert run_parallel(lambda n: n * n, list(range(20)), parallel=4, stop=stop) == [
        n * n for n in range(20)
    ]
    assert run_parallel(lambda n: n, [], parallel=4, stop=stop) == []


def test_a_failure_starts_nothing_more_and_waits_for_the_calls_under_way() -> None:
    stop = threading.Event()
    started: List[int] = []
    ended: List[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 1:
            raise ValueError("item 1 failed")
        time.sleep(0.2)
        ended.append(n)
        return n

    with pytest.raises(ValueError, match="item 1 failed"):
        run_parallel(work, list(range(10)), parallel=2, stop=stop)
    assert stop.is_set()
    assert sorted(started) == [0, 1] and ended == [0]  # item 0 was under way: it finished


class Stop(BaseException):
    """Stands in for Interrupted."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise Stop


def test_an_exception_in_the_caller_abandons_the_calls_under_way() -> None:
    """What SIGTERM does (Interrupted in the waiting thread), with a timer instead."""
    stop = threading.Event()
    release = threading.Event()
    started: List[int] = []

    def work(n: int) -> int:
        started.append(n)
        release.wait(10)
        return n

    previous = signal.signal(signal.SIGUSR1, _raise_stop)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        timer.start()
        began = time.monotonic()
        with pytest.raises(Stop):
            run_parallel(work, list(range(6)), parallel=2, stop=stop, name="t")
        assert time.monotonic() - began < 1.0
        assert stop.is_set() and sorted(started) == [0, 1]
        workers = [t for t in threading.enumerate() if t.name.startswith("t-")]
        assert workers and all(t.daemon for t in workers)  # never joined at exit
    finally:
        release.set()
        signal.signal(signal.SIGUSR1, previous)
        timer.join()
    time.sleep(0.3)
    assert sorted(started) == [0, 1]  # released, they take no further item
