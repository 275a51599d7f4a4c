"""Gfal2Storage on gfal2's ``mock://`` plugin: the error paths and tape states only it can show.

Real gfal2 (the ``gfal2_module`` fixture skips without the bindings): the mock plugin answers
from the URL's query (``errno=``, ``read_errno=``, ``user.status=``, ``checksum=``, ``size=``).
The contract tests on every adapter are in test_storage.py.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any, List

import pytest

from grid_lrt.launcher.storage import (
    DestinationExistsError,
    DestinationNotAccessibleError,
    NoSpaceError,
    ParentMissingError,
    RenameUnsupportedError,
    SourceNotFoundError,
    StorageUnavailableError,
)
from grid_lrt.launcher.storage.gfal import Gfal2Storage


def _leftovers(folder: Path) -> List[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# ---- gfal2 only: mock:// -----------------------------------------------------------------------


@pytest.fixture
def gfal(gfal2_module: Any) -> Gfal2Storage:
    return Gfal2Storage()


def test_mock_download_writes_size_bytes(gfal: Gfal2Storage, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    gfal.download("mock://lta.example/L1/SB000.tar?size=4096", dest)
    assert dest.stat().st_size == 4096
    assert gfal.size("mock://lta.example/L1/SB000.tar?size=4096") == 4096


def test_mock_enoent_is_source_not_found(
    gfal: Gfal2Storage, gfal2_module: Any, tmp_path: Path
) -> None:
    url = "mock://h/L1/missing.tar?size=10&errno=2"
    with pytest.raises(SourceNotFoundError) as info:
        gfal.download(url, tmp_path / "dest")
    assert isinstance(info.value.__cause__, gfal2_module.GError)
    assert info.value.__cause__.code == errno.ENOENT
    assert list(tmp_path.iterdir()) == []
    assert not gfal.exists(url)
    with pytest.raises(SourceNotFoundError):
        gfal.locality(url)


def test_mock_read_error_leaves_no_partial_file(gfal: Gfal2Storage, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.write_bytes(b"previous")
    with pytest.raises(StorageUnavailableError) as info:
        gfal.download("mock://h/f?size=3000000&read_errno=5", dest)
    assert info.value.transient
    assert dest.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == []


def test_mock_permission_denied(gfal: Gfal2Storage, tmp_path: Path) -> None:
    with pytest.raises(DestinationNotAccessibleError):
        gfal.download("mock://h/f?size=10&errno=13", tmp_path / "dest")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_mock_upload_no_space(gfal: Gfal2Storage, tmp_path: Path, code: int) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"result")
    with pytest.raises(NoSpaceError) as info:
        gfal.upload(src, f"mock://se.example/out/result.tar?errno={code}&time=0")
    assert info.value.transient


def test_mock_upload_errors(gfal: Gfal2Storage, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"result")
    with pytest.raises(DestinationExistsError):  # mock files always exist
        gfal.upload(src, "mock://se.example/out/result.tar?time=0")
    with pytest.raises(ParentMissingError):
        gfal.upload(src, "mock://se.example/out/result.tar?errno=2&time=0")
    with pytest.raises(DestinationNotAccessibleError):
        gfal.upload(src, "mock://se.example/out/result.tar?errno=1&time=0")
    with pytest.raises(SourceNotFoundError):
        gfal.upload(tmp_path / "nope", "mock://se.example/out/x?time=0")


@pytest.mark.parametrize("status", ["NEARLINE", "ONLINE", "ONLINE_AND_NEARLINE", "LOST"])
def test_mock_locality(gfal: Gfal2Storage, status: str) -> None:
    assert gfal.locality(f"mock://h/L1/SB000.tar?size=10&user.status={status}") == status


def test_mock_no_status_and_file_urls_are_none(gfal: Gfal2Storage, tmp_path: Path) -> None:
    assert gfal.locality("mock://h/L1/SB000.tar?size=10") is None
    (tmp_path / "f").write_text("x")
    assert gfal.locality((tmp_path / "f").as_uri()) is None
    assert gfal.locality(str(tmp_path / "f")) is None


def test_mock_checksum_param(gfal: Gfal2Storage) -> None:
    assert gfal.checksum("mock://h/f?size=10&checksum=0A1B2C3D") == "0a1b2c3d"
    assert gfal.checksum("mock://h/f?size=10&checksum=a1b2c3") == "00a1b2c3"
    assert gfal.checksum("mock://h/f?size=10") is None
    with pytest.raises(SourceNotFoundError):
        gfal.checksum("mock://h/f?errno=2")


def test_gfal2_file_checksum_unsupported_is_none(gfal: Gfal2Storage, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert gfal.checksum((tmp_path / "f").as_uri(), "sha256") is None


def test_gfal2_makedirs_on_mock_fails_cleanly(gfal: Gfal2Storage) -> None:
    with pytest.raises(StorageUnavailableError, match="mock://h/dir"):
        gfal.makedirs("mock://h/dir")


def test_mock_cannot_rename(gfal: Gfal2Storage) -> None:
    # The mock plugin has no rename (EPROTONOSUPPORT): the upload falls back to its best effort.
    with pytest.raises(RenameUnsupportedError) as info:
        gfal.rename("mock://h/out/a.lrt-a1.part?size=10", "mock://h/out/a?errno=2", overwrite=False)
    assert "mock://h/out/a.lrt-a1.part" in info.value.url
    with pytest.raises(RenameUnsupportedError):
        gfal.rename("mock://h/out/a.lrt-a1.part?size=10", "mock://h/out/a?size=10", overwrite=True)
    with pytest.raises(DestinationExistsError):  # mock files always exist
        gfal.rename("mock://h/out/a.lrt-a1.part?size=10", "mock://h/out/a?size=10", overwrite=False)
