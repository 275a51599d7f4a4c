"""Safe extraction of sandbox and input archives (tar, tar.gz, tar.bz2, tar.xz, zip).

Modelled on the ``filter="data"`` semantics of Python 3.12's :mod:`tarfile`. Python 3.9.17+
(3.10.12+, 3.11.4+) has that filter as ``tarfile.data_filter``; older interpreters, and zip
files on all of them, have nothing of the kind. So our own rules are the floor, everywhere, and
the standard library's filter is used on top of them for tar members wherever the interpreter
has it (a feature test: ``DATA_FILTER``):

* The whole member list is read and checked **before anything is written**
  (:mod:`.unpack_members`, :mod:`.unpack_checks`). Refused, with :class:`UnsafeArchiveError`
  naming the member: absolute names, ``..`` components, symbolic links whose target is absolute
  or resolves outside the destination (following the archive's own links, with a depth limit),
  hard links to anything but an earlier regular-file member, members stored *under* a symbolic
  link of the archive, a name used both by a link and by another member, and device, FIFO or
  other special members.
* Modes: regular files keep their executable bits (``mode & 0o755``; no owner ``x`` → no
  ``x`` at all; owner ``rw`` always), set-uid/set-gid/sticky and group/other write are
  dropped; directories and links get default modes. Owners are ignored; file mtimes are kept.
* Limits (:mod:`.unpack_limits`): the total size the members declare, their number and the
  compression ratio, counted while the member list is read (``limits``); refused with
  :class:`~.unpack_limits.ArchiveLimitError` before anything is written.
* Names the caller keeps for itself (``reserved``: the sandbox's download folder
  ``.sandbox``) are refused as the first component of any member.
* While writing (:mod:`.unpack_writer`), every parent directory is checked again with
  :func:`os.path.realpath` (the destination may hold symbolic links of its own), files are
  created with ``O_NOFOLLOW`` after removing whatever non-directory was at that name, a link's
  target is resolved on the file system as it is then, and finally ``tarfile.data_filter``
  looks at each tar member against the destination, as ``tarfile`` itself would, and gives the
  file's mode. It refuses nothing that the rules above let through (they are stricter: it sees
  one member at a time), so a worker refuses the same archives whatever its Python.
* After writing, every link of the job's tree (``links``, a :class:`~.unpack_links.LinkLedger`
  shared by the archives of one job) is resolved again on the real tree: a link of an earlier
  archive that a later one turned outwards is removed and refused.

The format is recognised by content (magic numbers), not by file name.
"""

from __future__ import annotations

import enum
import lzma
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from grid_lrt.launcher.unpack_checks import check_members
from grid_lrt.launcher.unpack_limits import (
    DEFAULT_LIMITS,
    ArchiveLimitError,
    LimitCounter,
    UnpackLimits,
)
from grid_lrt.launcher.unpack_links import LinkLedger
from grid_lrt.launcher.unpack_members import (
    ArchiveError,
    Member,
    TarFilter,
    UnsafeArchiveError,
    tar_members,
    zip_members,
)
from grid_lrt.launcher.unpack_writer import MemberWriter

__all__ = [
    "DATA_FILTER",
    "DEFAULT_LIMITS",
    "ArchiveError",
    "ArchiveFormat",
    "ArchiveLimitError",
    "LinkLedger",
    "UnpackLimits",
    "UnsafeArchiveError",
    "detect_format",
    "safe_extract",
]

#: ``tarfile.data_filter`` where this Python has it (3.9.17+, 3.10.12+, 3.11.4+), else None.
DATA_FILTER: Optional[TarFilter] = getattr(tarfile, "data_filter", None)


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


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    tar_filter: Optional[TarFilter] = DATA_FILTER,
    limits: UnpackLimits = DEFAULT_LIMITS,
    links: Optional[LinkLedger] = None,
    reserved: Sequence[str] = (),
) -> List[Path]:
    """Extract ``archive`` into the folder ``dest`` (created if missing), safely.

    Args:
        archive: a tar (plain, gzip, bzip2, xz) or zip file; the format is found from its
            content, whatever its name.
        dest: the destination folder. Nothing is written outside it.
        tar_filter: The standard library's extraction filter, run on each tar member just
            before it is written (default :data:`DATA_FILTER`; None: our rules alone, as on a
            Python without it; the tests run both).
        limits: Total size, members and compression ratio allowed (:mod:`.unpack_limits`).
        links: The links of the job's tree, shared by the archives of one job and checked
            again after this one (None: a ledger of the links now under ``dest``).
        reserved: Top-level names no member may use (``dest/<name>`` belongs to the caller).

    Returns:
        The paths written (files, folders, links), in archive order, without repeats.

    Raises:
        UnsafeArchiveError: a member is unsafe (see the module docstring); raised before
            anything is written, unless only the file system shows it (a link of the
            destination leading out, or one that a member turned outwards).
        ArchiveLimitError: the archive passes a limit; nothing was written.
        ArchiveError: the file is no archive of a supported format, or is corrupt.
        OSError: writing failed (a full disk, no permission).
    """
    name = archive.name
    fmt = detect_format(archive)
    if fmt is None:
        raise ArchiveError(
            f"{name} is not a tar or zip archive",
            hint="the file must be a .tar, .tar.gz, .tar.bz2, .tar.xz or .zip archive",
        )
    counter = LimitCounter(limits, name, archive.stat().st_size)
    if links is None:
        links = LinkLedger()
        if dest.is_dir():
            links.seed(dest)
    job = _Job(dest, name, counter, links, tuple(reserved))
    try:
        if fmt is ArchiveFormat.ZIP:
            with zipfile.ZipFile(archive) as zf:
                return job.extract(zip_members(zf, name))
        with tarfile.open(archive, _TAR_MODES[fmt]) as tar:  # type: ignore[call-overload]
            return job.extract(tar_members(tar, name, tar_filter))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as err:
        raise ArchiveError(f"{name} is not a readable {fmt.value} archive: {err}") from err
    except OSError as err:
        if err.errno is not None:  # a real file-system error (ENOSPC, EACCES ...)
            raise
        # gzip and bz2 report corrupt streams as OSError without an errno
        raise ArchiveError(f"{name} is not a readable {fmt.value} archive: {err}") from err


class _Job:
    """One extraction: count, check, write, then check the job's links again."""

    def __init__(
        self,
        dest: Path,
        archive: str,
        counter: LimitCounter,
        links: LinkLedger,
        reserved: Tuple[str, ...],
    ) -> None:
        self.dest = dest
        self.archive = archive
        self.counter = counter
        self.links = links
        self.reserved = reserved

    def _read(self, members: Iterable[Member]) -> List[Member]:
        found: List[Member] = []
        for member in members:
            self.counter.add(member.size)
            if member.parts and member.parts[0] in self.reserved:
                raise UnsafeArchiveError(
                    member.raw_name,
                    f"the name {member.parts[0]!r} is kept for the launcher's own files",
                    archive=self.archive,
                )
            found.append(member)
        return found

    def extract(self, members: Iterable[Member]) -> List[Path]:
        checked = self._read(members)
        check_members(checked, self.archive)
        self.dest.mkdir(parents=True, exist_ok=True)
        writer = MemberWriter(self.dest, self.archive, self.links)
        for member in checked:
            writer.write(member)
        self.links.verify(self.archive)
        return writer.written
