"""Extraction limits: total size, members, compression ratio (issue 9, finding 12).

An archive used to unpack without any limit: a small zip or tar.gz of zeros filled the disk.
The limits are counted from the sizes the members declare, while the member list is read, so a
bomb is refused before anything is written (and before the rest of its stream is inflated).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path
from typing import List

import pytest

from grid_lrt.launcher.unpack import (
    DEFAULT_LIMITS,
    ArchiveLimitError,
    UnpackLimits,
    safe_extract,
)
from tests.unit.launcher.archive_kit import Spec, write_tar, write_zip

MIB = 1 << 20


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in chunks (no big buffer in the test)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def tar_gz_bomb(path: Path, size: int, members: int = 1) -> Path:
    """A tar.gz of ``members`` files of ``size`` zero bytes each."""
    with gzip.open(path, "wb", compresslevel=9) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for n in range(members):
            info = tarfile.TarInfo(f"zeros{n}.bin")
            info.size = size
            tar.addfile(info, io.BufferedReader(_Zeros(size)))
    return path


def zip_bomb(path: Path, size: int) -> Path:
    chunk = bytes(MIB)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("zeros.bin", "w", force_zip64=True) as out,
    ):
        for _ in range(size // MIB):
            out.write(chunk)
    return path


def _left(dest: Path) -> List[Path]:
    return sorted(dest.rglob("*")) if dest.exists() else []


def test_the_defaults_are_documented() -> None:
    assert (
        UnpackLimits(max_bytes=256 << 30, max_members=100_000, max_ratio=100, ratio_floor=100 * MIB)
        == DEFAULT_LIMITS
    )


@pytest.mark.parametrize("make", [tar_gz_bomb, zip_bomb])
def test_a_decompression_bomb_is_refused_by_its_ratio(tmp_path: Path, make: object) -> None:
    """120 MiB of zeros in ~120 KiB: over 100 times, past the 100 MiB floor, default limits."""
    archive = make(tmp_path / "bomb.arc", 120 * MIB)  # type: ignore[operator]
    assert archive.stat().st_size < 1 * MIB
    with pytest.raises(ArchiveLimitError) as excinfo:
        safe_extract(archive, tmp_path / "out")
    assert "unpacks to more than 100 times its size" in excinfo.value.message
    assert excinfo.value.setting == "LRT_UNPACK_MAX_RATIO"
    assert "raise LRT_UNPACK_MAX_RATIO" in excinfo.value.hint
    assert _left(tmp_path / "out") == []


def test_the_ratio_is_not_checked_below_its_floor(tmp_path: Path) -> None:
    archive = tar_gz_bomb(tmp_path / "zeros.tar.gz", 2 * MIB)
    assert len(safe_extract(archive, tmp_path / "out")) == 1
    limits = UnpackLimits(ratio_floor=1 * MIB)
    with pytest.raises(ArchiveLimitError, match="times its size"):
        safe_extract(archive, tmp_path / "again", limits=limits)
    assert len(safe_extract(archive, tmp_path / "off", limits=UnpackLimits(max_ratio=0))) == 1


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_total_size(tmp_path: Path, kind: str) -> None:
    specs: List[Spec] = [(f"f{n}.txt", "file", "x" * 1000, 0o644) for n in range(5)]
    write = write_tar if kind == "tar" else write_zip
    archive = write(tmp_path / f"a.{kind}", specs)
    with pytest.raises(ArchiveLimitError) as excinfo:
        safe_extract(archive, tmp_path / "out", limits=UnpackLimits(max_bytes=4999))
    assert excinfo.value.message == f"a.{kind} unpacks to more than 4.9 KiB; nothing was extracted"
    assert excinfo.value.setting == "LRT_UNPACK_MAX_BYTES"
    assert _left(tmp_path / "out") == []
    assert len(safe_extract(archive, tmp_path / "ok", limits=UnpackLimits(max_bytes=5000))) == 5


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_member_count(tmp_path: Path, kind: str) -> None:
    specs: List[Spec] = [("d", "dir", "", 0o755)]
    specs += [(f"d/f{n}", "file", "", 0o644) for n in range(100)]
    write = write_tar if kind == "tar" else write_zip
    archive = write(tmp_path / f"a.{kind}", specs)
    with pytest.raises(ArchiveLimitError) as excinfo:
        safe_extract(archive, tmp_path / "out", limits=UnpackLimits(max_members=100))
    assert excinfo.value.message == f"a.{kind} holds more than 100 members; nothing was extracted"
    assert excinfo.value.setting == "LRT_UNPACK_MAX_MEMBERS"
    assert _left(tmp_path / "out") == []
    assert len(safe_extract(archive, tmp_path / "ok", limits=UnpackLimits(max_members=101))) == 101


def test_a_bomb_is_refused_at_its_first_header(tmp_path: Path) -> None:
    """The counter sees the declared size before the data: the rest is never inflated.

    The archive is cut after its first header; reading any further would fail on the cut.
    """
    archive = tar_gz_bomb(tmp_path / "many.tar.gz", 3 * MIB, members=3)
    archive.write_bytes(archive.read_bytes()[:2048])
    with pytest.raises(ArchiveLimitError, match=r"unpacks to more than 2\.0 MiB"):
        safe_extract(archive, tmp_path / "out", limits=UnpackLimits(max_bytes=2 * MIB))
