"""Safe extraction: formats by content, modes, and every kind of unsafe member refused up front.

Tar cases run twice (the ``tar_filter`` fixture): with ``tarfile.data_filter`` on top of our
rules, as on a Python that has it, and with our rules alone, as on an older one. Both must
extract the same and refuse the same.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest

from grid_lrt.launcher.unpack import (
    DATA_FILTER,
    ArchiveError,
    ArchiveFormat,
    UnsafeArchiveError,
    detect_format,
    safe_extract,
)
from grid_lrt.launcher.unpack_members import TarFilter
from grid_lrt.shared.errors import LrtError

pytestmark = pytest.mark.worker

# (name, kind, data-or-linkname, mode)
Spec = Tuple[str, str, str, int]

needs_data_filter = pytest.mark.skipif(
    DATA_FILTER is None, reason="this Python has no tarfile.data_filter (3.9.17+)"
)


@pytest.fixture(
    params=[
        pytest.param(DATA_FILTER, id="data_filter", marks=needs_data_filter),
        pytest.param(None, id="own-rules"),
    ],
)
def tar_filter(request: pytest.FixtureRequest) -> Optional[TarFilter]:
    """The ``tar_filter`` of :func:`safe_extract`: the standard library's, or none."""
    return request.param  # type: ignore[no-any-return]


def _tar_bytes(members: List[Spec]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data, mode in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.mtime = 1_600_000_000
            payload: Optional[io.BytesIO] = None
            if kind == "file":
                raw = data.encode()
                info.size = len(raw)
                payload = io.BytesIO(raw)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = data
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = data
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chr":
                info.type = tarfile.CHRTYPE
                info.devmajor, info.devminor = 1, 3
            tar.addfile(info, payload)
    return buf.getvalue()


def _write_tar(path: Path, members: List[Spec], compress: str = "") -> Path:
    raw = _tar_bytes(members)
    if compress == "gz":
        raw = gzip.compress(raw)
    elif compress == "bz2":
        raw = bz2.compress(raw)
    elif compress == "xz":
        raw = lzma.compress(raw)
    path.write_bytes(raw)
    return path


def _write_zip(path: Path, members: List[Spec]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, kind, data, mode in members:
            info = zipfile.ZipInfo(name + ("/" if kind == "dir" else ""))
            info.create_system = 3
            ftype = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "sym": stat.S_IFLNK}.get(
                kind, stat.S_IFIFO
            )
            info.external_attr = (ftype | mode) << 16
            zf.writestr(info, data)
    return path


SANDBOX: List[Spec] = [
    ("master.sh", "file", "#!/bin/sh\necho hi\n", 0o755),
    ("bin", "dir", "", 0o755),
    ("bin/functions.sh", "file", "f() { :; }\n", 0o644),
    ("parsets/a.parset", "file", "x=1\n", 0o640),
    ("latest.parset", "sym", "parsets/a.parset", 0o777),
]


@pytest.mark.parametrize("compress", ["", "gz", "bz2", "xz"])
def test_tar_flavours_extract_by_content(
    tmp_path: Path, compress: str, tar_filter: Optional[TarFilter]
) -> None:
    archive = _write_tar(tmp_path / "sandbox.download", SANDBOX, compress)  # name says nothing
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
    assert detect_format(_write_tar(tmp_path / "a.zip", SANDBOX, compress)) is fmt


def test_zip_keeps_executable_bit_and_links(tmp_path: Path) -> None:
    archive = _write_zip(tmp_path / "sandbox.tar", SANDBOX)  # a zip named .tar
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
    archive = _write_tar(
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
    archive = _write_tar(
        tmp_path / "h.tar",
        [
            (".", "dir", "", 0o755),
            ("./data/a.txt", "file", "payload", 0o644),
            ("./data/b.txt", "hard", "data/a.txt", 0o644),
        ],
    )
    safe_extract(archive, tmp_path / "out", tar_filter=tar_filter)
    assert (tmp_path / "out" / "data" / "b.txt").read_text() == "payload"


def test_extract_over_existing_files_replaces_them(
    tmp_path: Path, tar_filter: Optional[TarFilter]
) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "master.sh").write_text("old")
    outside = tmp_path / "victim"
    outside.write_text("keep")
    (dest / "latest.parset").symlink_to(outside)  # a file is written in place of the link
    safe_extract(_write_tar(tmp_path / "a.tar", SANDBOX), dest, tar_filter=tar_filter)
    assert (dest / "master.sh").read_text().startswith("#!/bin/sh")
    assert outside.read_text() == "keep"


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
    archive = _write_tar(tmp_path / "bad.tgz", [("first.txt", "file", "x", 0o644), *members], "gz")
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
    archive = _write_zip(tmp_path / "bad.zip", [("first.txt", "file", "x", 0o644), *members])
    dest = tmp_path / "job"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, dest)
    assert info.value.member == culprit
    assert not dest.exists()  # not even the destination folder


def test_existing_link_in_destination_cannot_lead_outside(
    tmp_path: Path, tar_filter: Optional[TarFilter]
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dest = tmp_path / "job"
    dest.mkdir()
    (dest / "Input").symlink_to(outside)
    archive = _write_tar(tmp_path / "a.tar", [("Input/sub/x.txt", "file", "x", 0o644)])
    with pytest.raises(UnsafeArchiveError, match="outside the destination"):
        safe_extract(archive, dest, tar_filter=tar_filter)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("link", ["Input/x", "Input/../Input", "ok/../Input/sub"])
def test_link_through_an_existing_link_of_the_destination_is_refused(
    tmp_path: Path, link: str, tar_filter: Optional[TarFilter]
) -> None:
    """The archive alone looks fine; the destination's own link would take this one out.

    ``tarfile.data_filter`` refuses it (it resolves links on the file system); so do our
    rules, so that a Python without the filter refuses the same archive.
    """
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dest = tmp_path / "job"
    (dest / "ok").mkdir(parents=True)
    (dest / "Input").symlink_to(outside)
    archive = _write_tar(tmp_path / "a.tar", [("l", "sym", link, 0o777)])
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, dest, tar_filter=tar_filter)
    assert info.value.member == "l"
    assert info.value.reason == f"link target {link!r} is outside the destination"
    assert not (dest / "l").is_symlink()


def test_the_archives_own_links_in_a_link_target_are_fine(
    tmp_path: Path, tar_filter: Optional[TarFilter]
) -> None:
    dest = tmp_path / "job"
    (dest / "Input").mkdir(parents=True)
    (dest / "Input" / "data").write_text("d")
    (dest / "here").symlink_to("Input")  # a link of the destination that stays inside
    archive = _write_tar(tmp_path / "a.tar", [("l", "sym", "here/data", 0o777)])
    safe_extract(archive, dest, tar_filter=tar_filter)
    assert (dest / "l").read_text() == "d"


@needs_data_filter
def test_every_tar_member_goes_through_the_filter_and_its_mode_is_used(tmp_path: Path) -> None:
    assert DATA_FILTER is not None
    seen: List[Tuple[str, str]] = []

    def stricter(info: tarfile.TarInfo, dest: str) -> Optional[tarfile.TarInfo]:
        """The standard filter, recorded, and taking group read from files."""
        seen.append((info.name, dest))
        kept = DATA_FILTER(info, dest) if DATA_FILTER is not None else None
        return None if kept is None else kept.replace(mode=(kept.mode or 0) & ~0o040)

    dest = tmp_path / "job"
    safe_extract(_write_tar(tmp_path / "a.tar", SANDBOX), dest, tar_filter=stricter)
    assert seen == [(name, str(dest)) for name, *_ in SANDBOX]
    assert (dest / "master.sh").stat().st_mode & 0o777 == 0o715
    seen.clear()
    safe_extract(_write_zip(tmp_path / "a.zip", SANDBOX), tmp_path / "z", tar_filter=stricter)
    assert seen == []  # zip files: our rules alone


@needs_data_filter
@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("SpecialFileError", "special file (tarfile.data_filter)"),
        ("AbsoluteLinkError", "absolute link target 'parsets/a.parset' (tarfile.data_filter)"),
        ("FilterError", "refused (tarfile.data_filter)"),
        (None, "refused by tarfile.data_filter"),
    ],
)
def test_a_refusal_of_the_filter_is_an_unsafe_archive(
    tmp_path: Path, error: Optional[str], reason: str
) -> None:
    """A future filter may refuse more than our rules: its refusal is ours (26), not a crash."""

    def refusing(info: tarfile.TarInfo, dest: str) -> Optional[tarfile.TarInfo]:
        if info.name != "latest.parset":
            return info
        if error is None:
            return None  # "skip it": a member we do not write is a refusal too
        cls: Any = getattr(tarfile, error)
        raise cls(info) if error != "FilterError" else cls("refused")

    dest = tmp_path / "job"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(_write_tar(tmp_path / "a.tar", SANDBOX), dest, tar_filter=refusing)
    assert info.value.member == "latest.parset"
    assert info.value.reason == reason


def test_link_inside_destination_is_fine(tmp_path: Path) -> None:
    archive = _write_tar(
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
    raw = gzip.compress(_tar_bytes([("big", "file", "y" * 200_000, 0o644)]))
    path = tmp_path / "cut.tgz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ArchiveError):
        safe_extract(path, tmp_path / "out")


def test_empty_file_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar"
    path.write_bytes(b"")
    with pytest.raises(ArchiveError):
        safe_extract(path, tmp_path / "out")
