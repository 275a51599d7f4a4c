"""Safe extraction of sandbox and input archives (tar, tar.gz, tar.bz2, tar.xz, zip).

Modelled on the ``filter="data"`` semantics of Python 3.12's :mod:`tarfile`, written out here
because the worker's Python (3.9) has no extraction filters:

* The whole member list is checked **before anything is written**. Refused, with
  :class:`UnsafeArchiveError` naming the member: absolute names, ``..`` components, symbolic
  links whose target is absolute or resolves outside the destination (following the archive's
  own links, with a depth limit), hard links to anything but an earlier regular-file member,
  members stored *under* a symbolic link of the archive, a name used both by a link and by
  another member, and device, FIFO or other special members.
* Modes: regular files keep their executable bits (``mode & 0o755``; no owner ``x`` → no
  ``x`` at all; owner ``rw`` always), set-uid/set-gid/sticky and group/other write are
  dropped; directories and links get default modes. Owners are ignored; file mtimes are kept.
* While writing, every parent directory is checked again with :func:`os.path.realpath`
  (the destination may hold symbolic links of its own), and files are created with
  ``O_NOFOLLOW`` after removing whatever non-directory was at that name.

The format is recognised by content (magic numbers), not by file name.
"""

from __future__ import annotations

import enum
import lzma
import os
import shutil
import stat
import tarfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Dict, Iterator, List, Optional, Set, Tuple

from grid_lrt.shared.errors import LrtError

__all__ = ["ArchiveError", "ArchiveFormat", "UnsafeArchiveError", "detect_format", "safe_extract"]

_MAX_LINK_DEPTH = 40
_COPY_CHUNK = 1 << 20


class ArchiveError(LrtError):
    """The file is not an archive of a supported format, or it is corrupt or truncated."""


class UnsafeArchiveError(LrtError):
    """A member would land (or point) outside the destination, or is a special file.

    ``member`` is the member's name as stored in the archive.
    """

    def __init__(self, member: str, reason: str, *, archive: str = "") -> None:
        where = f" in {archive}" if archive else ""
        super().__init__(
            f"unsafe archive member {member!r}{where}: {reason}; nothing was extracted",
            hint="rebuild the archive from a plain folder (relative names, links inside it)",
        )
        self.member = member
        self.reason = reason


class ArchiveFormat(str, enum.Enum):
    """A supported archive format."""

    TAR = "tar"
    TAR_GZ = "tar.gz"
    TAR_BZ2 = "tar.bz2"
    TAR_XZ = "tar.xz"
    ZIP = "zip"


_TAR_MODES = {
    ArchiveFormat.TAR: "r:",
    ArchiveFormat.TAR_GZ: "r:gz",
    ArchiveFormat.TAR_BZ2: "r:bz2",
    ArchiveFormat.TAR_XZ: "r:xz",
}

_MAGIC: Tuple[Tuple[bytes, ArchiveFormat], ...] = (
    (b"\x1f\x8b", ArchiveFormat.TAR_GZ),
    (b"BZh", ArchiveFormat.TAR_BZ2),
    (b"\xfd7zXZ\x00", ArchiveFormat.TAR_XZ),
    (b"PK\x03\x04", ArchiveFormat.ZIP),
    (b"PK\x05\x06", ArchiveFormat.ZIP),  # an empty zip
)


def detect_format(path: Path) -> Optional[ArchiveFormat]:
    """The archive format of ``path`` from its first bytes, or None when it is no archive.

    A compressed stream counts as its tar flavour here; whether it really holds a tar is
    found out when it is opened.
    """
    with path.open("rb") as handle:
        head = handle.read(512)
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if len(head) == 512 and _is_tar_header(head):
        return ArchiveFormat.TAR
    if zipfile.is_zipfile(path):  # a zip with data in front (self-extracting)
        return ArchiveFormat.ZIP
    return None


def _is_tar_header(block: bytes) -> bool:
    """True when ``block`` is a tar header with a valid checksum (ustar, GNU or v7)."""
    stored = block[148:156].split(b"\x00", 1)[0].strip()
    try:
        expected = int(stored, 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    return expected == unsigned and any(block[:100])


# -- the member list, independent of the format ---------------------------------------------


class _Kind(enum.Enum):
    DIR = "dir"
    FILE = "file"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


class _Member:
    """One archive member, reduced to what extraction needs."""

    def __init__(
        self,
        raw_name: str,
        parts: Tuple[str, ...],
        kind: _Kind,
        *,
        mode: Optional[int] = None,
        mtime: Optional[float] = None,
        link: str = "",
        opener: Optional[Callable[[], IO[bytes]]] = None,
    ) -> None:
        self.raw_name = raw_name
        self.parts = parts
        self.kind = kind
        self.mode = mode
        self.mtime = mtime
        self.link = link
        self.opener = opener
        self.link_parts: Tuple[str, ...] = ()


def _split_name(raw: str, archive: str) -> Tuple[str, ...]:
    """The name's components without ``.`` and empty ones; refuses absolute names and ``..``."""
    if raw.startswith("/") or PurePosixPath(raw).is_absolute():
        raise UnsafeArchiveError(raw, "absolute path", archive=archive)
    parts = tuple(p for p in raw.split("/") if p not in ("", "."))
    if ".." in parts:
        raise UnsafeArchiveError(raw, "'..' in the path", archive=archive)
    if any("\x00" in p for p in parts):
        raise UnsafeArchiveError(raw, "NUL character in the name", archive=archive)
    return parts


def _file_mode(mode: Optional[int]) -> Optional[int]:
    """The ``filter="data"`` mode of a regular file."""
    if mode is None:
        return None
    mode &= 0o755
    if not mode & 0o100:
        mode &= ~0o111
    return mode | 0o600


def _tar_members(tar: tarfile.TarFile, archive: str) -> Iterator[_Member]:
    for info in tar.getmembers():
        parts = _split_name(info.name, archive)
        mtime = float(info.mtime) if info.mtime is not None else None
        if info.isdir():
            yield _Member(info.name, parts, _Kind.DIR, mtime=mtime)
        elif info.isreg():
            member_info = info

            def opener(member_info: tarfile.TarInfo = member_info) -> IO[bytes]:
                handle = tar.extractfile(member_info)
                if handle is None:  # pragma: no cover - regular members always have data
                    raise ArchiveError(f"cannot read {member_info.name!r} from {archive}")
                return handle

            yield _Member(
                info.name, parts, _Kind.FILE, mode=_file_mode(info.mode), mtime=mtime, opener=opener
            )
        elif info.issym():
            yield _Member(info.name, parts, _Kind.SYMLINK, link=info.linkname)
        elif info.islnk():
            yield _Member(info.name, parts, _Kind.HARDLINK, link=info.linkname)
        else:
            kind = "device" if (info.ischr() or info.isblk()) else "FIFO" if info.isfifo() else ""
            raise UnsafeArchiveError(
                info.name, f"special file ({kind or 'type ' + repr(info.type)})", archive=archive
            )


def _zip_members(zf: zipfile.ZipFile, archive: str) -> Iterator[_Member]:
    for info in zf.infolist():
        parts = _split_name(info.filename, archive)
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
            yield _Member(info.filename, parts, _Kind.DIR, mtime=mtime)
        elif fmt == stat.S_IFLNK:
            target = zf.read(info).decode("utf-8", "surrogateescape")
            yield _Member(info.filename, parts, _Kind.SYMLINK, link=target)
        elif fmt in (0, stat.S_IFREG):
            mode = _file_mode(stat.S_IMODE(unix_mode)) if unix_mode else None
            zip_info = info

            def opener(zip_info: zipfile.ZipInfo = zip_info) -> IO[bytes]:
                return zf.open(zip_info)

            yield _Member(info.filename, parts, _Kind.FILE, mode=mode, mtime=mtime, opener=opener)
        else:
            raise UnsafeArchiveError(info.filename, "special file", archive=archive)


# -- the checks --------------------------------------------------------------------------------


def _resolve(
    parts: Tuple[str, ...], links: Dict[Tuple[str, ...], str], depth: int = 0
) -> Optional[Tuple[str, ...]]:
    """Resolve ``parts`` (relative to the destination) through the archive's symlinks.

    Returns the resolved components, or None when the path leaves the destination (or loops).
    """
    if depth > _MAX_LINK_DEPTH:
        return None
    current: List[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not current:
                return None
            current.pop()
            continue
        current.append(part)
        target = links.get(tuple(current))
        if target is not None:
            if target.startswith("/"):
                return None
            resolved = _resolve(tuple(current[:-1]) + tuple(target.split("/")), links, depth + 1)
            if resolved is None:
                return None
            current = list(resolved)
    return tuple(current)


def _check(members: List[_Member], archive: str) -> None:
    """Refuse the archive (raise) unless every member stays inside the destination."""
    links = _check_names(members, archive)
    regular_so_far: Set[Tuple[str, ...]] = set()
    for member in members:
        for cut in range(1, len(member.parts)):
            if member.parts[:cut] in links:
                raise UnsafeArchiveError(
                    member.raw_name,
                    f"stored under the symbolic link {'/'.join(member.parts[:cut])!r}",
                    archive=archive,
                )
        if member.kind is _Kind.SYMLINK:
            _check_symlink(member, links, archive)
        elif member.kind is _Kind.HARDLINK:
            _check_hardlink(member, regular_so_far, archive)
        elif member.kind is _Kind.FILE:
            regular_so_far.add(member.parts)


def _check_names(members: List[_Member], archive: str) -> Dict[Tuple[str, ...], str]:
    """Refuse names used twice in conflicting ways; return the symbolic links (name → target)."""
    links: Dict[Tuple[str, ...], str] = {}
    kinds: Dict[Tuple[str, ...], _Kind] = {}
    for member in members:
        if not member.parts and member.kind is not _Kind.DIR:
            raise UnsafeArchiveError(
                member.raw_name, "names the destination itself", archive=archive
            )
        previous = kinds.get(member.parts)
        if previous is not None and _Kind.SYMLINK in (previous, member.kind):
            raise UnsafeArchiveError(
                member.raw_name, "name used both by a link and another member", archive=archive
            )
        if previous is not None and (previous is _Kind.DIR) != (member.kind is _Kind.DIR):
            raise UnsafeArchiveError(
                member.raw_name, "name used both by a folder and a file", archive=archive
            )
        kinds[member.parts] = member.kind
        if member.kind is _Kind.SYMLINK:
            links[member.parts] = member.link
    return links


def _check_symlink(member: _Member, links: Dict[Tuple[str, ...], str], archive: str) -> None:
    if not member.link:
        raise UnsafeArchiveError(member.raw_name, "empty link target", archive=archive)
    if member.link.startswith("/"):
        raise UnsafeArchiveError(
            member.raw_name, f"absolute link target {member.link!r}", archive=archive
        )
    if _resolve(member.parts, links) is None:
        raise UnsafeArchiveError(
            member.raw_name,
            f"link target {member.link!r} is outside the destination",
            archive=archive,
        )


def _check_hardlink(member: _Member, regular_so_far: Set[Tuple[str, ...]], archive: str) -> None:
    try:
        target = _split_name(member.link, archive)
    except UnsafeArchiveError as err:
        raise UnsafeArchiveError(
            member.raw_name, f"hard link to {member.link!r}: {err.reason}", archive=archive
        ) from err
    if target not in regular_so_far or target == member.parts:
        raise UnsafeArchiveError(
            member.raw_name,
            f"hard link to {member.link!r}, which is not an earlier regular file",
            archive=archive,
        )
    member.link_parts = target


# -- writing -----------------------------------------------------------------------------------


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Writer:
    """Creates the checked members under ``dest``, re-checking the real paths as it goes."""

    def __init__(self, dest: Path, archive: str) -> None:
        self.dest = dest
        self.root = os.path.realpath(dest)
        self.archive = archive
        self.written: List[Path] = []
        self._seen: Set[Path] = set()

    def _target(self, member: _Member) -> Path:
        target = self.dest.joinpath(*member.parts)
        parent = target.parent
        existing = parent
        while not os.path.lexists(existing) and existing != self.dest:
            existing = existing.parent
        self._check_folder(existing, member)  # before creating anything below it
        parent.mkdir(parents=True, exist_ok=True)
        self._check_folder(parent, member)
        return target

    def _check_folder(self, folder: Path, member: _Member) -> None:
        if not _inside(os.path.realpath(folder), self.root):
            raise UnsafeArchiveError(
                member.raw_name, "its folder leads outside the destination", archive=self.archive
            )

    def _clear(self, target: Path, member: _Member) -> None:
        """Remove a non-directory already at ``target`` (never follow it)."""
        try:
            info = target.lstat()
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            raise ArchiveError(
                f"{self.archive}: cannot extract {member.raw_name!r}: a folder has that name"
            )
        target.unlink()

    def _record(self, path: Path) -> None:
        if path not in self._seen:
            self._seen.add(path)
            self.written.append(path)

    def write(self, member: _Member) -> None:
        if not member.parts:
            return
        target = self._target(member)
        if member.kind is _Kind.DIR:
            if target.is_symlink():
                raise UnsafeArchiveError(
                    member.raw_name, "a symbolic link has that name", archive=self.archive
                )
            target.mkdir(exist_ok=True)
        elif member.kind is _Kind.FILE:
            self._clear(target, member)
            self._write_file(member, target)
        elif member.kind is _Kind.SYMLINK:
            self._clear(target, member)
            target.symlink_to(member.link)
        else:
            self._clear(target, member)
            source = self.dest.joinpath(*member.link_parts)
            try:
                os.link(source, target, follow_symlinks=False)
            except OSError:  # no hard links on this file system: copy
                shutil.copy2(source, target, follow_symlinks=False)
        self._record(target)

    def _write_file(self, member: _Member, target: Path) -> None:
        assert member.opener is not None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "wb") as out, member.opener() as src:
            shutil.copyfileobj(src, out, _COPY_CHUNK)
        mode = member.mode if member.mode is not None else 0o644
        target.chmod(mode)
        if member.mtime is not None:
            os.utime(target, (member.mtime, member.mtime))


def safe_extract(archive: Path, dest: Path) -> List[Path]:
    """Extract ``archive`` into the folder ``dest`` (created if missing), safely.

    Args:
        archive: a tar (plain, gzip, bzip2, xz) or zip file; the format is found from its
            content, whatever its name.
        dest: the destination folder. Nothing is written outside it.

    Returns:
        The paths written (files, folders, links), in archive order, without repeats.

    Raises:
        UnsafeArchiveError: a member is unsafe (see the module docstring); raised before
            anything is written.
        ArchiveError: the file is no archive of a supported format, or is corrupt.
    """
    name = archive.name
    fmt = detect_format(archive)
    if fmt is None:
        raise ArchiveError(
            f"{name} is not a tar or zip archive",
            hint="the file must be a .tar, .tar.gz, .tar.bz2, .tar.xz or .zip archive",
        )
    try:
        if fmt is ArchiveFormat.ZIP:
            with zipfile.ZipFile(archive) as zf:
                return _extract(list(_zip_members(zf, name)), dest, name)
        with tarfile.open(archive, _TAR_MODES[fmt]) as tar:  # type: ignore[call-overload]
            return _extract(list(_tar_members(tar, name)), dest, name)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as err:
        raise ArchiveError(f"{name} is not a readable {fmt.value} archive: {err}") from err
    except OSError as err:
        if err.errno is not None:  # a real file-system error (ENOSPC, EACCES ...)
            raise
        # gzip and bz2 report corrupt streams as OSError without an errno
        raise ArchiveError(f"{name} is not a readable {fmt.value} archive: {err}") from err


def _extract(members: List[_Member], dest: Path, archive: str) -> List[Path]:
    _check(members, archive)
    dest.mkdir(parents=True, exist_ok=True)
    writer = _Writer(dest, archive)
    for member in members:
        writer.write(member)
    return writer.written
