"""The sandbox cache holds only what was verified; limits and a full disk (issue 9, finding 12).

A sandbox member ``.sandbox/<name>`` used to replace the verified download before it went into
the cache, so the next token ran an unverified ``master.sh`` with ``SBXchecksum`` set; a full
disk while extracting ended as 14 ("launcher bug").
"""

from __future__ import annotations

import errno
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any, Dict

import pytest

from grid_lrt.launcher import unpack_writer
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.sandbox import fetch_sandbox
from grid_lrt.launcher.sandbox_cache import SandboxCache
from grid_lrt.launcher.unpack import UnpackLimits
from grid_lrt.shared.errors import ErrorCode
from tests.unit.launcher.test_sandbox_cache import Counting

GENUINE = b"#!/bin/sh\necho genuine\n"
EVIL = b"#!/bin/sh\necho evil\n"


def _tgz(members: Dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Counting:
    return Counting(tmp_path / "store")


def _publish(store: Counting, name: str, data: bytes) -> str:
    path = store.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"x-site://store/{name}"


def _run(tmp_path: Path, n: int, token: Dict[str, Any], store: Counting, cache: Any) -> Path:
    jobdir = tmp_path / f"job{n}"
    (jobdir / "Input").mkdir(parents=True)
    fetch_sandbox(token, jobdir, storage_for=store, cache=cache, sleep=lambda s: None)
    return jobdir


@pytest.mark.parametrize("member", [".sandbox/sbx.tgz", ".sandbox", "./.sandbox/x/y"])
def test_a_member_under_sandbox_is_refused_and_never_cached(
    tmp_path: Path, store: Counting, member: str
) -> None:
    planted = _tgz({"master.sh": EVIL})
    data = _tgz({"master.sh": GENUINE, member: planted})
    url = _publish(store, "sbx.tgz", data)
    token = {"SBXloc": url, "SBXchecksum": "sha256:" + hashlib.sha256(data).hexdigest()}
    cache = SandboxCache(tmp_path / "cache")
    for n in range(2):
        with pytest.raises(TokenFailure) as info:
            _run(tmp_path, n, token, store, cache)
        assert info.value.code is ErrorCode.SANDBOX_UNSAFE
        assert "'.sandbox' is kept for the launcher's own files" in info.value.message
        assert not (tmp_path / f"job{n}" / "master.sh").exists()  # refused before writing
    assert len(store.downloads) == 2  # a refused archive is not reused
    assert not any((tmp_path / "cache").glob("*"))


def test_the_cache_hands_out_what_was_verified(tmp_path: Path, store: Counting) -> None:
    data = _tgz({"master.sh": GENUINE})
    url = _publish(store, "sbx.tgz", data)
    token = {"SBXloc": url, "SBXchecksum": "md5:" + hashlib.md5(data).hexdigest()}
    cache = SandboxCache(tmp_path / "cache")
    assert (_run(tmp_path, 0, token, store, cache) / "master.sh").read_bytes() == GENUINE
    [cached] = list((tmp_path / "cache").iterdir())
    assert cached.read_bytes() == data
    assert (cached.stat().st_mode & 0o777) == 0o444
    cached.chmod(0o644)
    cached.write_bytes(_tgz({"master.sh": EVIL}))  # changed behind the launcher's back
    assert (_run(tmp_path, 1, token, store, cache) / "master.sh").read_bytes() == GENUINE
    assert len(store.downloads) == 2  # dropped and verified again


def test_a_full_disk_while_extracting_is_25(
    tmp_path: Path, store: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _publish(store, "sbx.tgz", _tgz({"master.sh": GENUINE}))

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(unpack_writer.MemberWriter, "_write_file", full)
    with pytest.raises(TokenFailure) as info:
        _run(tmp_path, 0, {"SBXloc": url}, store, None)
    assert info.value.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED
    assert "cannot extract the sandbox" in info.value.message
    assert "No space left on device" in info.value.message
    assert "free space" in info.value.hint


def test_a_sandbox_over_the_limits_is_26(tmp_path: Path, store: Counting) -> None:
    url = _publish(store, "sbx.tgz", _tgz({"master.sh": GENUINE, "big": bytes(5000)}))
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    with pytest.raises(TokenFailure) as info:
        fetch_sandbox(
            {"SBXloc": url},
            jobdir,
            storage_for=store,
            limits=UnpackLimits(max_bytes=4096),
            sleep=lambda s: None,
        )
    assert info.value.code is ErrorCode.SANDBOX_UNSAFE
    assert "unpacks to more than 4.0 KiB" in info.value.message
    assert "LRT_UNPACK_MAX_BYTES" in info.value.hint
    assert sorted(p.name for p in jobdir.iterdir()) == []
