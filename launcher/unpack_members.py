"""What an archive holds, reduced to what extraction needs: the member list of a tar or zip.

:func:`tar_members` and :func:`zip_members` turn the library's entries into :class:`Member`
objects of four kinds (folder, file, symbolic link, hard link), so that the checks
(:mod:`.unpack_checks`) and the writing (:mod:`.unpack_writer`) are the same for both formats.
Reading a member list already refuses, with :class:`UnsafeArchiveError`: absolute names, ``..``
components, NUL characters, and device, FIFO or other special members.

Modes are those of ``filter="data"``: regular files keep their executable bits (``mode &
0o755``; no owner ``x`` means no ``x`` at all; owner ``rw`` always), everything else is dropped.

A tar member can also carry the standard library's extraction filter (``tarfile.data_filter``,
where the interpreter has it): :attr:`Member.library_check` runs it against the destination just
before the member is written, and its answer gives the file's mode.
"""

from __future__ import annotations

import enum
import stat
import tarfile
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator, Optional, Tuple, Type

from grid_lrt.shared.errors import LrtError

__all__ = [
    "ArchiveError",
    "Member",
    "MemberKind",
    "TarFilter",
    "UnsafeArchiveError",
    "file_mode",
    "split_name",
    "tar_members",
    "zip_members",
]

#: ``tarfile.data_filter``'s signature: (member, destination) -> member to extract, or None.
TarFilter = Callable[[tarfile.TarInfo, str], Optional[tarfile.TarInfo]]

#: What the standard library raises when its filter refuses a member (nothing before 3.9.17).
_FILTER_ERROR: Optional[Type[Exception]] = getattr(tarfile, "FilterError", None)
_FILTER_ERRORS: Tuple[Type[Exception], ...] = () if _FILTER_ERROR is None else (_FILTER_ERROR,)
#: Our words for the filter's refusals (by class name: the classes are missing on old Pythons).
_FILTER_REASONS = {
    "AbsolutePathError": "absolute path",
    "OutsideDestinationError": "it would land outside the destination",
    "SpecialFileError": "special file",
    "AbsoluteLinkError": "absolute link target {link!r}",
    "LinkOutsideDestinationError": "link target {link!r} is outside the destination",
}


class ArchiveError(LrtError):
    """The file is not an archive of a supported format, or it is corrupt or truncated."""


class UnsafeArchiveError(LrtError):
    """A member would land (or point) outside the destination, or is a special file.

    ``member`` is the member's name as stored in the archive.
    """

    def __init__(
        self, member: str, reason: str, *, archive: str = "", outcome: str = "nothing was extracted"
    ) -> None:
        where = f" in {archive}" if archive else ""
        super().__init__(
            f"unsafe archive member {member!r}{where}: {reason}; {outcome}",
            hint="rebuild the archive from a plain folder (relative names, links inside it)",
        )
        self.member = member
        self.reason = reason


class MemberKind(enum.Enum):
    """The four kinds of member that are extracted."""

    DIR = "dir"
    FILE = "file"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


class Member:
    """One archive member, reduced to what extraction needs.

    Attributes:
        raw_name: The name as stored (for messages).
        parts: The name's components, without ``.`` and empty ones.
        kind: What it is.
        mode: The mode a regular file gets (None: the default 0o644).
        mtime: The modification time to set on a regular file (None: now).
        link: A link's target as stored.
        size: A regular file's size as the archive declares it (0 for the other kinds).
        opener: Opens a regular file's data.
        link_parts: A hard link's target components (set by the checks).
        library_check: Runs the standard library's filter against the destination folder
            just before the member is written (tar members where the interpreter has one).
    """

    def __init__(
        self,
        raw_name: str,
        parts: Tuple[str, ...],
        kind: MemberKind,
        *,
        mode: Optional[int] = None,
        mtime: Optional[float] = None,
        link: str = "",
        size: int = 0,
        opener: Optional[Callable[[], IO[bytes]]] = None,
    ) -> None:
        self.raw_name = raw_name
        self.parts = parts
        self.kind = kind
        self.mode = mode
        self.mtime = mtime
        self.link = link
        self.size = size
        self.opener = opener
        self.link_parts: Tuple[str, ...] = ()
        self.library_check: Optional[Callable[[Path], None]] = None


def split_name(raw: str, archive: str) -> Tuple[str, ...]:
    """The name's components without ``.`` and empty ones; refuses absolute names and ``..``.

    Raises:
        UnsafeArchiveError: An absolute name, a ``..`` component or a NUL character.
    """
    if raw.startswith("/") or PurePosixPath(raw).is_absolute():
        raise UnsafeArchiveError(raw, "absolute path", archive=archive)
    parts = tuple(p for p in raw.split("/") if p not in ("", "."))
    if ".." in parts:
        raise UnsafeArchiveError(raw, "'..' in the path", archive=archive)
    if any("\x00" in p for p in parts):
        raise UnsafeArchiveError(raw, "NUL character in the name", archive=archive)
    return parts


def file_mode(mode: Optional[int]) -> Optional[int]:
    """The ``filter="data"`` mode of a regular file."""
    if mode is None:
        return None
    mode &= 0o755
    if not mode & 0o100:
        mode &= ~0o111
    return mode | 0o600


def _library_check(
    member: Member, info: tarfile.TarInfo, tar_filter: TarFilter, archive: str
) -> Callable[[Path], None]:
    """The :attr:`Member.library_check` of a tar member: ``tar_filter``, its refusals ours."""

    def check(dest: Path) -> None:
        try:
            kept = tar_filter(info, str(dest))
        except _FILTER_ERRORS as exc:
            known = _FILTER_REASONS.get(type(exc).__name__)
            reason = known.format(link=member.link) if known else str(exc)
            raise UnsafeArchiveError(
                info.name, f"{reason} (tarfile.data_filter)", archive=archive
            ) from exc
        if kept is None:
            raise UnsafeArchiveError(info.name, "refused by tarfile.data_filter", archive=archive)
        if member.kind is MemberKind.FILE:
            member.mode = kept.mode

    return check


def tar_members(
    tar: tarfile.TarFile, archive: str, tar_filter: Optional[TarFilter] = None
) -> Iterator[Member]:
    """The members of ``tar``, each with ``tar_filter`` as its library check (if given).

    Read one header at a time (a caller that stops early reads no further).

    Raises:
        UnsafeArchiveError: See :func:`split_name`; or a special member.
    """
    for info in tar:
        parts = split_name(info.name, archive)
        mtime = float(info.mtime) if info.mtime is not None else None
        if info.isdir():
            member = Member(info.name, parts, MemberKind.DIR, mtime=mtime)
        elif info.isreg():
            member_info = info

            def opener(member_info: tarfile.TarInfo = member_info) -> IO[bytes]:
                handle = tar.extractfile(member_info)
                if handle is None:  # pragma: no cover - regular members always have data
                    raise ArchiveError(f"cannot read {member_info.name!r} from {archive}")
                return handle

            member = Member(
                info.name,
                parts,
                MemberKind.FILE,
                mode=file_mode(info.mode),
                mtime=mtime,
                size=info.size,
                opener=opener,
            )
        elif info.issym():
            member = Member(info.name, parts, MemberKind.SYMLINK, link=info.linkname)
        elif info.islnk():
            member = Member(info.name, parts, MemberKind.HARDLINK, link=info.linkname)
        else:
            kind = "device" if (info.ischr() or info.isblk()) else "FIFO" if info.isfifo() else ""
            raise UnsafeArchiveError(
                info.name, f"special file ({kind or 'type ' + repr(info.type)})", archive=archive
            )
        if tar_filter is not None:
            member.library_check = _library_check(member, info, tar_filter, archive)
        yield member


def zip_members(zf: zipfile.ZipFile, archive: str) -> Iterator[Member]:
    """The members of ``zf`` (Unix modes and links where the zip was made on Unix).

    Raises:
        UnsafeArchiveError: See :func:`split_name`; or a special member.
        ArchiveError: An encrypted member.
    """
    for info in zf.infolist():
        parts = split_name(info.filename, archive)
        unix_mode = info.external_attr >> 16 if info.create_system == 3 else 0
        fmt = stat.S_IFMT(unix_mode)
        mtime: Optional[float]
        try:
            mtime = time.mktime((*info.date_time, 0, 0, -1))
        except (OverflowError, ValueError):  # pragma: no cover - odd timestamps
            mtime = None
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{archive}: member {info.filename!r} is encrypted")
        if info.is_dir() or fmt == stat.S_IFDIR:
            yield Member(info.filename, parts, MemberKind.DIR, mtime=mtime)
        elif fmt == stat.S_IFLNK:
            target = zf.read(info).decode("utf-8", "surrogateescape")
            yield Member(info.filename, parts, MemberKind.SYMLINK, link=target)
        elif fmt in (0, stat.S_IFREG):
            mode = file_mode(stat.S_IMODE(unix_mode)) if unix_mode else None
            zip_info = info

            def opener(zip_info: zipfile.ZipInfo = zip_info) -> IO[bytes]:
                return zf.open(zip_info)

            yield Member(
                info.filename,
                parts,
                MemberKind.FILE,
                mode=mode,
                mtime=mtime,
                size=info.file_size,
                opener=opener,
            )
        else:
            raise UnsafeArchiveError(info.filename, "special file", archive=archive)
