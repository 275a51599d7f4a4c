"""Safe extraction: formats by content, modes, and every kind of unsafe member refused up front.

Tar cases run twice (the ``tar_filter`` fixture): with ``tarfile.data_filter`` on top of our
rules, as on a Python that has it, and with our rules alone, as on an older one. Both must
extract the same and refuse the same. Destinations that already hold files and links, and the
filter itself: test_unpack_destination.py.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path
from typing import List, Optional

import pytest

from grid_lrt.launcher.unpack import (
    ArchiveError,
    ArchiveFormat,
    UnsafeArchiveError,
    detect_format,
    safe_extract,
)
from grid_lrt.launcher.unpack_members import TarFilter
from grid_lrt.shared.errors import LrtError
from tests.unit.launcher.archive_kit import SANDBOX, Spec, tar_bytes, write_tar, write_zip


@pytest.mark.parametrize("compress", ["", "gz", "bz2", "xz"])
def test_tar_flavours_extract_by_content(
    tmp_path: Path, compress: str, tar_filter: Optional[TarFilter]
) -> None:
    archive = write_tar(tmp_path / "sandbox.download", SANDBOX, compress)  # name says nothing
    dest = tmp_path / "job"
    written = safe_extract(archive, dest, tar_filter=tar_filter)
    assert (dest / "master.sh").read_text() == "#!/bin/sh\necho hi\n"
    assert (dest / "master.sh").stat().st_mode & 0o777 == 0o755
    assert (dest / "bin" / "functions.sh").stat().st_mode & 0o777 == 0o644
    assert (dest / "parsets" / "a.parset").stat().st_mode & 0o777 == 0o640
    assert (dest / "latest.parset").is_symlink()
    assert (dest / "latest.parset").read_text() == "x=1\n"
    assert int((dest / "master.sh").stat().st_mtime) == 1_600_000_000
    assert written == [
        dest / "master.sh",
        dest / "bin",
        dest / "bin" / "functions.sh",
        dest / "parsets" / "a.parset",
        dest / "latest.parset",
    ]


@pytest.mark.parametrize(
    ("compress", "fmt"),
    [
        ("", ArchiveFormat.TAR),
        ("gz", ArchiveFormat.TAR_GZ),
        ("bz2", ArchiveFormat.TAR_BZ2),
        ("xz", ArchiveFormat.TAR_XZ),
    ],
)
def test_detect_format(tmp_path: Path, compress: str, fmt: ArchiveFormat) -> None:
    assert detect_format(write_tar(tmp_path / "a.zip", SANDBOX, compress)) is fmt


def test_zip_keeps_executable_bit_and_links(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "sandbox.tar", SANDBOX)  # a zip named .tar
    assert detect_format(archive) is ArchiveFormat.ZIP
    dest = tmp_path / "job"
    safe_extract(archive, dest)
    assert (dest / "master.sh").stat().st_mode & 0o777 == 0o755
    assert (dest / "bin" / "functions.sh").stat().st_mode & 0o777 == 0o644
    assert (dest / "latest.parset").is_symlink()
    assert (dest / "latest.parset").read_text() == "x=1\n"


def test_zip_without_unix_modes_gets_plain_files(tmp_path: Path) -> None:
    archive = tmp_path / "plain.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("dir/readme.txt")
        info.create_system = 0  # made on Windows: no Unix mode
        zf.writestr(info, "hello")
    safe_extract(archive, tmp_path / "out")
    path = tmp_path / "out" / "dir" / "readme.txt"
    assert path.read_text() == "hello"
    assert path.stat().st_mode & 0o777 == 0o644


def test_modes_follow_the_data_filter(tmp_path: Path, tar_filter: Optional[TarFilter]) -> None:
    archive = write_tar(
        tmp_path / "m.tar",
        [
            ("setuid", "file", "x", 0o4777),  # → 0o755: no set-uid, no group/other write
            ("noexec", "file", "x", 0o055),  # owner has no x → no x at all, owner rw added
            ("readonly", "file", "x", 0o400),  # owner rw always
        ],
    )
    safe_extract(archive, tmp_path / "out", tar_filter=tar_filter)
    modes = {p.name: p.stat().st_mode & 0o7777 for p in (tmp_path / "out").iterdir()}
    assert modes == {"setuid": 0o755, "noexec": 0o644, "readonly": 0o600}


def test_dot_members_and_hardlinks(tmp_path: Path, tar_filter: Optional[TarFilter]) -> None:
    archive = write_tar(
        tmp_path / "h.tar",
        [
            (".", "dir", "", 0o755),
            ("./data/a.txt", "file", "payload", 0o644),
            ("./data/b.txt", "hard", "data/a.txt", 0o644),
        ],
    )
    safe_extract(archive, tmp_path / "out", tar_filter=tar_filter)
    assert (tmp_path / "out" / "data" / "b.txt").read_text() == "payload"


UNSAFE = [
    pytest.param([("/etc/evil", "file", "x", 0o644)], "/etc/evil", id="absolute"),
    pytest.param([("a/../../evil", "file", "x", 0o644)], "a/../../evil", id="dotdot"),
    pytest.param([("../evil", "file", "x", 0o644)], "../evil", id="dotdot-start"),
    pytest.param(
        [("ok", "file", "", 0o644), ("l", "sym", "/etc/passwd", 0o777)], "l", id="abslink"
    ),
    pytest.param([("l", "sym", "../outside", 0o777)], "l", id="link-up"),
    pytest.param([("d/l", "sym", "../../outside", 0o777)], "d/l", id="link-up-2"),
    pytest.param(
        [("a", "sym", ".", 0o777), ("b", "sym", "a/../x", 0o777)], "b", id="link-chain-escapes"
    ),
    pytest.param([("a", "sym", "b", 0o777), ("b", "sym", "a", 0o777)], "a", id="link-loop"),
    pytest.param(
        [("d", "sym", ".", 0o777), ("d/f", "file", "x", 0o644)], "d/f", id="member-under-link"
    ),
    pytest.param([("f", "file", "x", 0o644), ("f", "sym", "g", 0o777)], "f", id="file-then-link"),
    pytest.param([("h", "hard", "../etc/passwd", 0o644)], "h", id="hardlink-up"),
    pytest.param([("h", "hard", "/etc/passwd", 0o644)], "h", id="hardlink-abs"),
    pytest.param(
        [("l", "sym", "f", 0o777), ("f", "file", "x", 0o644), ("h", "hard", "l", 0o644)],
        "h",
        id="hardlink-to-link",
    ),
    pytest.param(
        [("h", "hard", "later", 0o644), ("later", "file", "x", 0o644)], "h", id="hardlink-fwd"
    ),
    pytest.param([("p", "fifo", "", 0o644)], "p", id="fifo"),
    pytest.param([("null", "chr", "", 0o644)], "null", id="device"),
]


@pytest.mark.parametrize(("members", "culprit"), UNSAFE)
def test_unsafe_tar_refused_before_writing(
    tmp_path: Path, members: List[Spec], culprit: str, tar_filter: Optional[TarFilter]
) -> None:
    # Safe members come first: they must not be written either.
    archive = write_tar(tmp_path / "bad.tgz", [("first.txt", "file", "x", 0o644), *members], "gz")
    dest = tmp_path / "job"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, dest, tar_filter=tar_filter)
    assert info.value.member == culprit
    assert culprit in str(info.value)
    assert isinstance(info.value, LrtError)
    assert not dest.exists()  # not even the destination folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tgz"]


@pytest.mark.parametrize(
    ("members", "culprit"),
    [
        pytest.param([("/abs.txt", "file", "x", 0o644)], "/abs.txt", id="absolute"),
        pytest.param([("a/../../up.txt", "file", "x", 0o644)], "a/../../up.txt", id="dotdot"),
        pytest.param([("l", "sym", "../../etc", 0o777)], "l", id="link-up"),
        pytest.param([("p", "fifo", "", 0o644)], "p", id="fifo"),
    ],
)
def test_unsafe_zip_refused(tmp_path: Path, members: List[Spec], culprit: str) -> None:
    archive = write_zip(tmp_path / "bad.zip", [("first.txt", "file", "x", 0o644), *members])
    dest = tmp_path / "job"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, dest)
    assert info.value.member == culprit
    assert not dest.exists()  # not even the destination folder


def test_link_inside_destination_is_fine(tmp_path: Path) -> None:
    archive = write_tar(
        tmp_path / "a.tar",
        [
            ("lib/libx.so.1.2", "file", "elf", 0o755),
            ("lib/libx.so.1", "sym", "libx.so.1.2", 0o777),
            ("lib/libx.so", "sym", "libx.so.1", 0o777),
            ("top", "sym", ".", 0o777),
            ("dangling", "sym", "not/there", 0o777),
        ],
    )
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "lib" / "libx.so").read_text() == "elf"
    assert (tmp_path / "out" / "dangling").is_symlink()


def test_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.tar"
    path.write_text("<html>404 Not Found</html>\n" * 30)
    assert detect_format(path) is None
    with pytest.raises(ArchiveError, match=r"sandbox\.tar is not a tar or zip archive"):
        safe_extract(path, tmp_path / "out")


def test_gzip_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "notes.gz"
    path.write_bytes(gzip.compress(b"just text\n" * 100))
    with pytest.raises(ArchiveError, match=r"not a readable tar\.gz archive"):
        safe_extract(path, tmp_path / "out")


def test_truncated_archive(tmp_path: Path) -> None:
    raw = gzip.compress(tar_bytes([("big", "file", "y" * 200_000, 0o644)]))
    path = tmp_path / "cut.tgz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ArchiveError):
        safe_extract(path, tmp_path / "out")


def test_empty_file_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar"
    path.write_bytes(b"")
    with pytest.raises(ArchiveError):
        safe_extract(path, tmp_path / "out")
