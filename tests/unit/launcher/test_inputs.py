"""Input downloads (``fetch_inputs``): copies, retries, tape states, checksums, tars.

(Reading ``srm.txt`` into links: test_inputs_links.py.)

Real storages only: file:// through LocalStorage (builtin) and, where the bindings exist,
through Gfal2Storage (the same tests run on both), and gfal2's mock:// plugin for tape states
and storage-reported checksums. Failures come from real sources: a missing file, procfs files
that fail to read (``/proc/self/mem``: EIO) or differ on every read (``.../random/uuid``).
"""

from __future__ import annotations

import io
import logging
import re
import tarfile
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.inputs import fetch_inputs
from grid_lrt.launcher.storage import Storage, storage_for
from grid_lrt.shared.errors import ErrorCode

StorageFor = Callable[[str], Storage]

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc0_012/229507"
SURL = f"{SARA}/L229507_SB100_uv.MS_f5baa3f0.tar"
EIO_SOURCE = "/proc/self/mem"  # open works, read fails with EIO: a transient storage error
CHANGING_SOURCE = "/proc/sys/kernel/random/uuid"  # new content on every read


def _no_sleep(seconds: float) -> None:
    del seconds


@pytest.fixture
def gfal2_store(gfal2_module: Any) -> StorageFor:
    """``storage_for`` with gfal2 (mock:// needs it)."""
    del gfal2_module
    return partial(storage_for, prefer="gfal2")


def _source(folder: Path, name: str, data: bytes) -> str:
    path = folder / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path.as_uri()


def _tar(members: Dict[str, bytes], *, gz: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---- copies over file:// (both backends) -------------------------------------------------------


def test_downloads_every_file_in_parallel_and_logs_progress(
    store: StorageFor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {f"L1_SB{i:03d}.dat": bytes([i]) * (1000 + i) for i in range(5)}
    text = "\n".join(_source(tmp_path, name, payload) for name, payload in data.items())
    statuses: List[str] = []
    caplog.set_level(logging.INFO, logger="grid_lrt.launcher.inputs")
    paths = fetch_inputs(
        text, tmp_path / "Input", storage_for=store, parallel=3, on_status=statuses.append
    )
    assert [p.name for p in paths] == list(data)
    for path in paths:
        assert path.parent == tmp_path / "Input"
        assert path.read_bytes() == data[path.name]
    assert statuses == ["downloading"]  # nothing to extract
    messages = [r.getMessage() for r in caplog.records]
    assert sum("input " in m and "/5: " in m for m in messages) == 5
    assert any(m.startswith("downloaded 5 input files") for m in messages)
    assert not list((tmp_path / "Input").glob(".*"))  # no temporary files left


def test_tars_are_extracted_and_deleted(store: StorageFor, tmp_path: Path) -> None:
    links = [
        _source(tmp_path, "a.tar", _tar({"L1_SB000.MS/table.dat": b"t0", "a.txt": b"a"})),
        _source(tmp_path, "b.tar.gz", _tar({"L1_SB001.MS/table.dat": b"t1"}, gz=True)),
        _source(tmp_path, "c.tgz", _tar({"c.txt": b"c"}, gz=True)),
        _source(tmp_path, "plain.dat", b"plain"),
    ]
    statuses: List[str] = []
    input_dir = tmp_path / "Input"
    paths = fetch_inputs("\n".join(links), input_dir, storage_for=store, on_status=statuses.append)
    assert statuses == ["downloading", "extracting"]
    assert sorted(p.name for p in input_dir.iterdir()) == [
        "L1_SB000.MS",
        "L1_SB001.MS",
        "a.txt",
        "c.txt",
        "plain.dat",
    ]
    assert (input_dir / "L1_SB001.MS" / "table.dat").read_bytes() == b"t1"
    # srm.txt order, each archive replaced by its members.
    assert paths == [
        input_dir / "L1_SB000.MS" / "table.dat",
        input_dir / "a.txt",
        input_dir / "L1_SB001.MS" / "table.dat",
        input_dir / "c.txt",
        input_dir / "plain.dat",
    ]


def test_unsafe_input_archive_is_refused_with_26(store: StorageFor, tmp_path: Path) -> None:
    link = _source(tmp_path, "evil.tar", _tar({"../escaped.txt": b"x"}))
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(link, tmp_path / "Input", storage_for=store)
    assert excinfo.value.code is ErrorCode.SANDBOX_UNSAFE
    assert "evil.tar" in excinfo.value.message
    assert not (tmp_path / "escaped.txt").exists()


def test_truncated_input_archive_is_96(store: StorageFor, tmp_path: Path) -> None:
    whole = _tar({"big.dat": bytes(range(256)) * 200}, gz=True)
    link = _source(tmp_path, "cut.tar.gz", whole[: len(whole) // 2])
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(link, tmp_path / "Input", storage_for=store)
    assert excinfo.value.code is ErrorCode.FILES_INCOMPLETE


def test_missing_source_is_21_at_once(store: StorageFor, tmp_path: Path) -> None:
    good = _source(tmp_path, "good.dat", b"ok")
    missing = (tmp_path / "src" / "missing.dat").as_uri()
    sleeps: List[float] = []
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            f"{good}\n{missing}\n", tmp_path / "Input", storage_for=store, sleep=sleeps.append
        )
    assert excinfo.value.code is ErrorCode.DOWNLOAD_FAILED
    assert "missing.dat" in excinfo.value.message and "line 2" in excinfo.value.message
    assert sleeps == []  # a missing file is final: no retries


def test_persistent_transient_error_is_21_after_all_attempts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="grid_lrt.launcher.inputs")
    sleeps: List[float] = []
    link = Path(EIO_SOURCE).as_uri()
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            link,
            tmp_path / "Input",
            storage_for=partial(storage_for, prefer="builtin"),
            attempts=3,
            backoff=1.0,
            sleep=sleeps.append,
        )
    assert excinfo.value.code is ErrorCode.DOWNLOAD_FAILED
    assert "attempt 3 of 3" in excinfo.value.message
    assert sum(sleeps) == pytest.approx(1.0 + 2.0)  # exponential backoff
    assert sleeps == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]  # in slices, to notice a failing sibling
    messages = [r.getMessage() for r in caplog.records if r.name == "grid_lrt.launcher.inputs"]
    assert len(messages) == 2
    for message, tail in zip(messages, ["attempt 2 of 3 in 1.0 s", "attempt 3 of 3 in 2.0 s"]):
        assert re.fullmatch(rf"copy of mem failed \(.+\); {tail}", message), message
    assert not (tmp_path / "Input" / "mem").exists()


def test_transient_error_then_success(tmp_path: Path) -> None:
    """The source fails with EIO until the storage "recovers" during the backoff."""
    good = tmp_path / "good.dat"
    good.write_bytes(b"finally")
    flaky = tmp_path / "src" / "flaky.dat"
    flaky.parent.mkdir()
    flaky.symlink_to(EIO_SOURCE)
    sleeps: List[float] = []

    def recover(seconds: float) -> None:
        sleeps.append(seconds)
        flaky.unlink()
        flaky.symlink_to(good)

    [path] = fetch_inputs(
        flaky.as_uri(),
        tmp_path / "Input",
        storage_for=partial(storage_for, prefer="builtin"),
        backoff=0.25,
        sleep=recover,
    )
    assert path.read_bytes() == b"finally"
    assert sleeps == [0.25]


def test_a_failure_cancels_the_other_files_quickly(tmp_path: Path) -> None:
    """A missing file stops a sibling that is backing off (10 s of real sleep otherwise)."""
    missing = (tmp_path / "missing.dat").as_uri()
    others = [_source(tmp_path, f"o{i:02d}.dat", b"o") for i in range(30)]
    text = "\n".join([Path(EIO_SOURCE).as_uri(), missing, *others])
    started = time.monotonic()
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            text,
            tmp_path / "Input",
            storage_for=partial(storage_for, prefer="builtin"),
            parallel=2,
            attempts=3,
            backoff=5.0,
        )
    assert time.monotonic() - started < 3.0
    assert "missing.dat" in excinfo.value.message
    # The links queued behind the failure were never started.
    assert len(list((tmp_path / "Input").glob("o*.dat"))) < 30


def test_source_that_changes_between_reads_is_24(tmp_path: Path) -> None:
    """LocalStorage reports the source's adler32; a source rewritten under us never matches."""
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            Path(CHANGING_SOURCE).as_uri(),
            tmp_path / "Input",
            storage_for=partial(storage_for, prefer="builtin"),
        )
    assert excinfo.value.code is ErrorCode.CHECKSUM_MISMATCH
    assert "after a second copy" in excinfo.value.message
    assert not (tmp_path / "Input" / "uuid").exists()


def test_existing_input_is_replaced(store: StorageFor, tmp_path: Path) -> None:
    link = _source(tmp_path, "a.dat", b"new")
    (tmp_path / "Input").mkdir()
    (tmp_path / "Input" / "a.dat").write_bytes(b"old content")
    [path] = fetch_inputs(link, tmp_path / "Input", storage_for=store)
    assert path.read_bytes() == b"new"


def test_gsiftp_without_gfal2_is_13(tmp_path: Path) -> None:
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(SURL, tmp_path / "Input", storage_for=partial(storage_for, prefer="builtin"))
    assert excinfo.value.code is ErrorCode.TRANSFER_TOOL_MISSING


# ---- mock:// (gfal2): tape states and storage checksums ----------------------------------------


@pytest.mark.parametrize("state", ["ONLINE", "ONLINE_AND_NEARLINE"])
def test_mock_online_files_are_copied(gfal2_store: StorageFor, tmp_path: Path, state: str) -> None:
    text = f"mock://lta/L1/L1_SB000.dat?size=4096&time=0&user.status={state}\n"
    [path] = fetch_inputs(text, tmp_path / "Input", storage_for=gfal2_store)
    assert path.name == "L1_SB000.dat"
    assert path.stat().st_size == 4096


@pytest.mark.parametrize(("state", "warned"), [("weird", True), ("ERROR", True), ("online", False)])
def test_mock_other_tape_states_are_copied_with_a_warning(
    gfal2_store: StorageFor,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    state: str,
    warned: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="grid_lrt.launcher.inputs")
    text = f"mock://lta/L1/L1_SB000.dat?size=10&time=0&user.status={state}\n"
    [path] = fetch_inputs(text, tmp_path / "Input", storage_for=gfal2_store)
    assert path.stat().st_size == 10
    warning = f"input L1_SB000.dat has tape state {state.upper()}; trying to copy it"
    assert (warning in [r.getMessage() for r in caplog.records]) is warned


def test_mock_nearline_files_are_22_before_any_copy(
    gfal2_store: StorageFor, tmp_path: Path
) -> None:
    links = [
        f"mock://lta/L1/L1_SB{i:03d}.dat?size=10&time=0&user.status=NEARLINE" for i in range(5)
    ]
    links.append("mock://lta/L1/L1_SB999.dat?size=10&time=0&user.status=ONLINE")
    statuses: List[str] = []
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            "\n".join(links),
            tmp_path / "Input",
            storage_for=gfal2_store,
            on_status=statuses.append,
        )
    assert excinfo.value.code is ErrorCode.DATA_NOT_STAGED
    message = excinfo.value.message
    assert "5 of 6" in message and "L1_SB000" in message and "and 2 more" in message
    assert "stage" in excinfo.value.hint
    assert statuses == []
    assert not list((tmp_path / "Input").iterdir())


@pytest.mark.parametrize("state", ["LOST", "UNAVAILABLE"])
def test_mock_lost_files_are_27(gfal2_store: StorageFor, tmp_path: Path, state: str) -> None:
    text = (
        "mock://lta/L1/L1_SB000.dat?size=10&time=0&user.status=NEARLINE\n"
        f"mock://lta/L1/L1_SB001.dat?size=10&time=0&user.status={state}\n"
    )
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(text, tmp_path / "Input", storage_for=gfal2_store)
    assert excinfo.value.code is ErrorCode.DATA_LOST  # lost wins over "stage it first"
    assert "1 of 2" in excinfo.value.message and "L1_SB001" in excinfo.value.message


def test_mock_checksum_mismatch_is_24(gfal2_store: StorageFor, tmp_path: Path) -> None:
    # The mock storage reports adler32 deadbeef but the copy is 100 random bytes.
    text = "mock://lta/L1/L1_SB000.dat?size=100&time=0&checksum=deadbeef&user.status=ONLINE"
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(text, tmp_path / "Input", storage_for=gfal2_store)
    assert excinfo.value.code is ErrorCode.CHECKSUM_MISMATCH
    assert "deadbeef" in excinfo.value.message


def test_mock_stat_error_is_21_after_retries(gfal2_store: StorageFor, tmp_path: Path) -> None:
    sleeps: List[float] = []
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            "mock://lta/L1/L1_SB000.dat?size=10&time=0&errno=5",
            tmp_path / "Input",
            storage_for=gfal2_store,
            attempts=2,
            backoff=0.5,
            sleep=sleeps.append,
        )
    assert excinfo.value.code is ErrorCode.DOWNLOAD_FAILED
    assert sum(sleeps) == pytest.approx(0.5)
