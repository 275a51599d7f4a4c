"""A reproducible ``.tar.gz`` of a folder: the same files give the same bytes.

What makes it reproducible:

* members in sorted order (folders before what is inside them), names relative and POSIX;
* every member's mtime the same (``SOURCE_DATE_EPOCH`` when set, else 0), uid and gid 0,
  user and group names empty;
* modes normalised: 0755 for folders and for files with any execute bit, 0644 for the
  others (what umask or a checkout gave does not matter);
* the gzip header with mtime 0 and no file name, compression level 9;
* left out: ``.git`` (folders and the ``.git`` files of worktrees/submodules),
  ``__pycache__`` folders and ``*.pyc``/``*.pyo`` files.

Symbolic links are kept as links when they stay inside the folder (the launcher refuses
others, so they are refused here, at build time, with the file named). Other special files
(sockets, FIFOs, devices) are refused.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import posixpath
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Tuple

from .errors import SandboxError

__all__ = [
    "EXCLUDED_DIRS",
    "Tarball",
    "checksums_of",
    "member_names",
    "source_date_epoch",
    "write_tarball",
]

#: Folder names never packed.
EXCLUDED_DIRS = frozenset({".git", "__pycache__"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Tarball:
    """A written tarball: where, how big, its checksums (lower-case hex) and member count."""

    path: Path
    size: int
    sha256: str
    adler32: str
    members: int


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` (reproducible-builds.org) when it is a non-negative integer, else 0.

    Raises:
        SandboxError: It is set but not a non-negative integer.
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise SandboxError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds",
            hint="unset it, or give an integer such as $(git log -1 --format=%ct)",
        )
    return int(raw)


def _excluded(name: str, is_dir: bool) -> bool:
    if name == ".git":
        return True
    if is_dir:
        return name in EXCLUDED_DIRS
    return name.endswith(_EXCLUDED_SUFFIXES)


def _walk(root: Path) -> Iterator[Tuple[str, Path]]:
    """``(member name, path)`` of everything to pack, in sorted order."""

    def visit(folder: Path, prefix: str) -> Iterator[Tuple[str, Path]]:
        with os.scandir(folder) as entries:
            listed = sorted(entries, key=lambda e: e.name)
        for entry in listed:
            is_dir = entry.is_dir(follow_symlinks=False)
            if _excluded(entry.name, is_dir):
                continue
            name = f"{prefix}{entry.name}"
            yield name, Path(entry.path)
            if is_dir:
                yield from visit(Path(entry.path), name + "/")

    yield from visit(root, "")


def _link_target(name: str, path: Path) -> str:
    target = str(path.readlink())
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise SandboxError(
            f"symbolic link {name} -> {target} points outside the sandbox",
            hint="the launcher refuses such links: copy the file in, or make the link relative "
            "to a file inside the sandbox",
        )
    return target


def _info(name: str, path: Path, mtime: int) -> tarfile.TarInfo:
    st = path.lstat()
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = _link_target(name, path)
        info.mode = 0o777
    elif stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    elif stat.S_ISREG(st.st_mode):
        info.size = st.st_size
        info.mode = 0o755 if st.st_mode & 0o111 else 0o644
    else:
        raise SandboxError(
            f"{name} is not a file, folder or link: it cannot go into a sandbox",
            hint="remove the socket, FIFO or device file from the repository",
        )
    return info


def checksums_of(path: Path) -> Tuple[int, str, str]:
    """``(size, sha256, adler32)`` of a file, read once (adler32: 8 hex digits)."""
    digest = hashlib.sha256()
    adler = 1
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
            adler = zlib.adler32(chunk, adler)
            size += len(chunk)
    return size, digest.hexdigest(), f"{adler & 0xFFFFFFFF:08x}"


def _pack(root: Path, raw: BinaryIO, mtime: int) -> int:
    count = 0
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9)
    with gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in _walk(root):
            info = _info(name, path, mtime)
            if info.isreg():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
            count += 1
    return count


def write_tarball(root: Path, target: Path, *, mtime: Optional[int] = None) -> Tarball:
    """Pack the folder ``root`` into the gzipped tar ``target`` (replaced atomically).

    Args:
        root: The folder whose content becomes the archive's top level.
        target: The file to write; its folder must exist. It must not lie inside ``root``.
        mtime: The mtime of every member; None: :func:`source_date_epoch`.

    Raises:
        SandboxError: A link leaving ``root``, a special file, ``target`` inside ``root``,
            or the file cannot be written.
    """
    root = root.resolve()
    target = target.absolute()
    if target.resolve().is_relative_to(root):
        raise SandboxError(f"the tarball {target} would be inside the folder it packs ({root})")
    when = source_date_epoch() if mtime is None else mtime
    part = target.with_name(f".{target.name}.part")
    try:
        with part.open("wb") as raw:
            count = _pack(root, raw, when)
        part.replace(target)
        size, sha256, adler32 = checksums_of(target)
    except OSError as exc:
        raise SandboxError(f"cannot write the tarball {target}: {exc.strerror or exc}") from exc
    finally:
        part.unlink(missing_ok=True)
    return Tarball(path=target, size=size, sha256=sha256, adler32=adler32, members=count)


def member_names(path: Path) -> List[str]:
    """The member names of a tarball, in archive order (for checks and tests)."""
    with tarfile.open(path, "r:gz") as tar:
        return tar.getnames()
