"""The sandbox step with real storages: file:// through the builtin LocalStorage and through
gfal2, gfal2's mock:// plugin, and an unreachable loopback https URL."""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import zipfile
import zlib
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.sandbox import fetch_sandbox, sandbox_url
from grid_lrt.launcher.storage import Storage, storage_for
from grid_lrt.shared.errors import ErrorCode

StorageFor = Callable[[str], Storage]
BUILTIN: StorageFor = partial(storage_for, prefer="builtin")

MASTER = b"#!/bin/sh\necho master\n"


def _tgz(members: Dict[str, bytes], *, mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


SANDBOX = _tgz({"master.sh": MASTER, "bin/f.sh": b"f() { :; }\n", "tokvar.cfg": b"a: $A\n"})


def _publish(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "store" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _jobdir(tmp_path: Path) -> Path:
    jobdir = tmp_path / "job"
    (jobdir / "Input").mkdir(parents=True)
    return jobdir


def _fail(token: Dict[str, Any], jobdir: Path, storage: StorageFor, **kw: Any) -> TokenFailure:
    with pytest.raises(TokenFailure) as info:
        fetch_sandbox(token, jobdir, storage_for=storage, sleep=lambda s: None, **kw)
    return info.value


def _assert_clean(jobdir: Path) -> None:
    """The download is gone (and its folder), whatever happened."""
    assert not (jobdir / ".sandbox").exists()


def test_file_url_sandbox_is_extracted(tmp_path: Path, store: StorageFor) -> None:
    url = _publish(tmp_path, "sbx/pref_cal1.tar.gz", SANDBOX).as_uri()
    jobdir = _jobdir(tmp_path)
    assert fetch_sandbox({"SBXloc": url}, jobdir, storage_for=store) is True
    assert (jobdir / "master.sh").read_bytes() == MASTER
    assert (jobdir / "master.sh").stat().st_mode & 0o111 == 0o111  # chmod a+x
    assert (jobdir / "bin" / "f.sh").stat().st_mode & 0o111 == 0
    assert (jobdir / "tokvar.cfg").is_file()
    assert (jobdir / "Input").is_dir()
    _assert_clean(jobdir)


def test_zip_named_tar_and_plain_path(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("master.sh", MASTER)
    path = _publish(tmp_path, "odd name/sandbox.tar", buf.getvalue())
    jobdir = _jobdir(tmp_path)
    assert fetch_sandbox({"SBXloc": str(path)}, jobdir, storage_for=BUILTIN)
    assert (jobdir / "master.sh").read_bytes() == MASTER
    assert (jobdir / "master.sh").stat().st_mode & 0o111 == 0o111


@pytest.mark.parametrize("as_url", [True, False])
def test_relative_location_with_base(tmp_path: Path, as_url: bool) -> None:
    _publish(tmp_path, "sandbox/SKSP/prefactor/pref_cal1.tar", SANDBOX)
    base_path = tmp_path / "store" / "sandbox"
    base = base_path.as_uri() + "/" if as_url else str(base_path)
    jobdir = _jobdir(tmp_path)
    token = {"SBXloc": "SKSP/prefactor/pref_cal1.tar"}
    assert fetch_sandbox(token, jobdir, storage_for=BUILTIN, base=base)
    assert (jobdir / "master.sh").is_file()


def test_sandbox_url() -> None:
    base = "gsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/lofar/user/sksp/sandbox/"
    assert sandbox_url("./SKSP/p.tar", base) == base + "SKSP/p.tar"
    assert sandbox_url(" srm://host/p.tar ", base) == "srm://host/p.tar"
    assert sandbox_url("/data/s b.tar") == "file:///data/s%20b.tar"
    assert sandbox_url("file:///x.tar", base) == "file:///x.tar"


def test_relative_location_without_base_is_25(tmp_path: Path) -> None:
    failure = _fail({"SBXloc": "SKSP/p.tar"}, _jobdir(tmp_path), BUILTIN)
    assert failure.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED
    assert "relative" in failure.message
    assert "LRT_SANDBOX_BASE" in failure.hint


def test_relative_location_cannot_leave_the_base(tmp_path: Path) -> None:
    failure = _fail({"SBXloc": "a/../../x.tar"}, _jobdir(tmp_path), BUILTIN, base="file:///b")
    assert failure.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED


@pytest.mark.parametrize("token", [{}, {"SBXloc": ""}, {"SBXloc": "  "}, {"SBXloc": None}])
def test_no_sandbox(tmp_path: Path, token: Dict[str, Any]) -> None:
    jobdir = _jobdir(tmp_path)
    assert fetch_sandbox(token, jobdir, storage_for=BUILTIN) is False
    assert sorted(p.name for p in jobdir.iterdir()) == ["Input"]


def test_location_must_be_a_string(tmp_path: Path) -> None:
    failure = _fail({"SBXloc": ["a.tar"]}, _jobdir(tmp_path), BUILTIN)
    assert failure.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED


def test_empty_download_is_minus_two(tmp_path: Path, store: StorageFor) -> None:
    url = _publish(tmp_path, "empty.tar", b"").as_uri()
    jobdir = _jobdir(tmp_path)
    failure = _fail({"SBXloc": url}, jobdir, store)
    assert failure.code is ErrorCode.SANDBOX_EMPTY
    assert int(failure.code) == -2
    assert "size 0" in failure.message
    _assert_clean(jobdir)


def test_missing_sandbox_is_25(tmp_path: Path, store: StorageFor) -> None:
    url = (tmp_path / "store" / "nothing.tar").as_uri()
    jobdir = _jobdir(tmp_path)
    failure = _fail({"SBXloc": url}, jobdir, store)
    assert failure.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED
    _assert_clean(jobdir)


def test_transient_errors_are_retried_then_25(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="grid_lrt.launcher.sandbox")
    slept: List[float] = []
    jobdir = _jobdir(tmp_path)
    with pytest.raises(TokenFailure) as info:
        # /proc/self/mem opens but every read fails with EIO: a transient storage error
        fetch_sandbox({"SBXloc": "/proc/self/mem"}, jobdir, storage_for=BUILTIN, sleep=slept.append)
    assert info.value.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED
    assert slept == [2.0, 4.0]
    _assert_clean(jobdir)
    messages = [r.getMessage() for r in caplog.records if r.name == "grid_lrt.launcher.sandbox"]
    assert len(messages) == 2
    for message, head in zip(
        messages, ["attempt 1 of 3), again in 2 s", "attempt 2 of 3), again in 4 s"]
    ):
        assert message.startswith(f"sandbox download failed ({head}: "), message


def test_grid_scheme_without_gfal2_is_13(tmp_path: Path) -> None:
    failure = _fail({"SBXloc": "gsiftp://gridftp.example.org/sbx.tar"}, _jobdir(tmp_path), BUILTIN)
    assert failure.code is ErrorCode.TRANSFER_TOOL_MISSING
    assert "gfal2" in failure.message + failure.hint


def test_unknown_scheme_is_25(tmp_path: Path) -> None:
    failure = _fail({"SBXloc": "ftp://ftp.example.org/sbx.tar"}, _jobdir(tmp_path), BUILTIN)
    assert failure.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED


def test_password_in_url_never_in_the_message(tmp_path: Path) -> None:
    from grid_lrt.launcher.storage.http import HttpStorage

    url = "https://user:s3cret@127.0.0.1:1/sbx.tar"  # nothing listens on port 1
    http = HttpStorage(retries=0)
    failure = _fail({"SBXloc": url}, _jobdir(tmp_path), lambda u: http)
    assert failure.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED
    assert "s3cret" not in str(failure) + failure.hint


@pytest.mark.parametrize(
    "checksum",
    [
        f"adler32:{zlib.adler32(SANDBOX) & 0xFFFFFFFF:08x}",
        f"ADLER32:{zlib.adler32(SANDBOX) & 0xFFFFFFFF:X}",
        f"md5:{hashlib.md5(SANDBOX).hexdigest()}",
        f"sha256:{hashlib.sha256(SANDBOX).hexdigest()}",
    ],
)
def test_checksum_verified(tmp_path: Path, checksum: str) -> None:
    url = _publish(tmp_path, "s.tgz", SANDBOX).as_uri()
    jobdir = _jobdir(tmp_path)
    assert fetch_sandbox({"SBXloc": url, "SBXchecksum": checksum}, jobdir, storage_for=BUILTIN)
    assert (jobdir / "master.sh").is_file()


@pytest.mark.parametrize("checksum", ["adler32:00000001", "md5:" + "0" * 32, "crc32:1234", "x"])
def test_checksum_mismatch_is_28(tmp_path: Path, checksum: str) -> None:
    url = _publish(tmp_path, "s.tgz", SANDBOX).as_uri()
    jobdir = _jobdir(tmp_path)
    failure = _fail({"SBXloc": url, "SBXchecksum": checksum}, jobdir, BUILTIN)
    assert failure.code is ErrorCode.SANDBOX_CHECKSUM_MISMATCH
    assert not (jobdir / "master.sh").exists()
    _assert_clean(jobdir)


def test_unsafe_sandbox_is_26(tmp_path: Path) -> None:
    url = _publish(tmp_path, "evil.tgz", _tgz({"master.sh": MASTER, "../x": b"x"})).as_uri()
    jobdir = _jobdir(tmp_path)
    failure = _fail({"SBXloc": url}, jobdir, BUILTIN)
    assert failure.code is ErrorCode.SANDBOX_UNSAFE
    assert "'../x'" in failure.message
    assert not (jobdir / "master.sh").exists()
    assert not (tmp_path / "x").exists()
    _assert_clean(jobdir)


def test_not_an_archive_is_25(tmp_path: Path) -> None:
    url = _publish(tmp_path, "sbx.tar", b"<html>Not Found</html>\n").as_uri()
    jobdir = _jobdir(tmp_path)
    failure = _fail({"SBXloc": url}, jobdir, BUILTIN)
    assert failure.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED
    assert "not a tar or zip archive" in failure.message
    _assert_clean(jobdir)


def test_gfal2_mock_sizes(tmp_path: Path, gfal2_module: Any) -> None:
    del gfal2_module
    gfal = partial(storage_for, prefer="gfal2")
    jobdir = _jobdir(tmp_path)
    empty = _fail({"SBXloc": "mock://sandbox.example.org/sbx.tar?size=0"}, jobdir, gfal)
    assert empty.code is ErrorCode.SANDBOX_EMPTY
    noise = _fail({"SBXloc": "mock://sandbox.example.org/sbx.tar?size=4096"}, jobdir, gfal)
    assert noise.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED  # random bytes: no archive
    _assert_clean(jobdir)
