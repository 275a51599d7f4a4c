"""Writing a checked member list into the destination, re-checking the file system as it goes.

The destination may hold symbolic links of its own (a job folder, an ``Input/`` folder with
earlier archives in it), which the checks of the member list cannot see. So, for every member:

* its parent folders are checked with :func:`os.path.realpath`, before and after creating them;
* whatever non-directory is at its name is removed first (never followed), and files are
  created with ``O_NOFOLLOW``;
* a symbolic link's target is resolved on the file system as it is then, and refused when it
  leads outside the destination;
* the standard library's extraction filter runs last, where the member carries one
  (:attr:`~.unpack_members.Member.library_check`);
* every link written is recorded in the job's :class:`~.unpack_links.LinkLedger`, which
  resolves them all again once the archive is written (a later link may change what an
  earlier one means).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import List, Optional, Set

from grid_lrt.launcher.unpack_links import LinkLedger
from grid_lrt.launcher.unpack_links import inside as _inside
from grid_lrt.launcher.unpack_members import ArchiveError, Member, MemberKind, UnsafeArchiveError

__all__ = ["MemberWriter"]

_COPY_CHUNK = 1 << 20


class MemberWriter:
    """Creates the checked members under ``dest``; ``written`` lists what it made, in order."""

    def __init__(self, dest: Path, archive: str, links: Optional[LinkLedger] = None) -> None:
        self.dest = dest
        self.root = os.path.realpath(dest)
        self.archive = archive
        self.links = links
        self.written: List[Path] = []
        self._seen: Set[Path] = set()

    def _target(self, member: Member) -> Path:
        target = self.dest.joinpath(*member.parts)
        parent = target.parent
        existing = parent
        while not os.path.lexists(existing) and existing != self.dest:
            existing = existing.parent
        self._check_folder(existing, member)  # before creating anything below it
        parent.mkdir(parents=True, exist_ok=True)
        self._check_folder(parent, member)
        return target

    def _check_folder(self, folder: Path, member: Member) -> None:
        if not _inside(os.path.realpath(folder), self.root):
            raise UnsafeArchiveError(
                member.raw_name, "its folder leads outside the destination", archive=self.archive
            )

    def _check_link_target(self, target: Path, member: Member) -> None:
        if not _inside(os.path.realpath(target.parent / member.link), self.root):
            raise UnsafeArchiveError(
                member.raw_name,
                f"link target {member.link!r} is outside the destination",
                archive=self.archive,
            )

    def _clear(self, target: Path, member: Member) -> None:
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

    def write(self, member: Member) -> None:
        """Create one member (a member naming the destination itself is skipped).

        Raises:
            UnsafeArchiveError: The file system (or the library's filter) says it would land
                or point outside the destination.
            ArchiveError: A folder stands where a file or link should go.
            OSError: Writing failed (a full disk...).
        """
        if not member.parts:
            return
        target = self._target(member)
        if member.kind is MemberKind.DIR:
            if target.is_symlink():
                raise UnsafeArchiveError(
                    member.raw_name, "a symbolic link has that name", archive=self.archive
                )
        else:
            self._clear(target, member)
        if member.kind is MemberKind.SYMLINK:
            self._check_link_target(target, member)
        if member.library_check is not None:
            member.library_check(self.dest)
        if member.kind is MemberKind.DIR:
            target.mkdir(exist_ok=True)
        elif member.kind is MemberKind.FILE:
            self._write_file(member, target)
        elif member.kind is MemberKind.SYMLINK:
            target.symlink_to(member.link)
            if self.links is not None:
                self.links.add(target, self.dest)
        else:
            source = self.dest.joinpath(*member.link_parts)
            try:
                os.link(source, target, follow_symlinks=False)
            except OSError:  # no hard links on this file system: copy
                shutil.copy2(source, target, follow_symlinks=False)
        self._record(target)

    def _write_file(self, member: Member, target: Path) -> None:
        assert member.opener is not None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "wb") as out, member.opener() as src:
            shutil.copyfileobj(src, out, _COPY_CHUNK)
        mode = member.mode if member.mode is not None else 0o644
        target.chmod(mode)
        if member.mtime is not None:
            os.utime(target, (member.mtime, member.mtime))
