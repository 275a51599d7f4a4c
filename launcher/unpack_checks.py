"""The member list as a whole: is it safe to extract? Checked before anything is written.

:func:`check_members` refuses, with :class:`~.unpack_members.UnsafeArchiveError` naming the
member:

* symbolic links whose target is empty, absolute, or resolves outside the destination
  (following the archive's own links, with a depth limit);
* hard links to anything but an earlier regular-file member;
* members stored *under* a symbolic link of the archive;
* a name used both by a link and by another member, or both by a folder and a file;
* a non-folder member that names the destination itself.

These are rules about the archive alone, so they hold on every Python and for zip files too:
``tarfile.data_filter`` looks at one member at a time against the file system, and cannot see
that a later member goes through a link an earlier one makes.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

from grid_lrt.launcher.unpack_members import Member, MemberKind, UnsafeArchiveError, split_name

__all__ = ["MAX_LINK_DEPTH", "check_members"]

#: Links followed through one another at most (a loop is refused).
MAX_LINK_DEPTH = 40


def _resolve(
    parts: Tuple[str, ...], links: Dict[Tuple[str, ...], str], depth: int = 0
) -> Optional[Tuple[str, ...]]:
    """Resolve ``parts`` (relative to the destination) through the archive's symlinks.

    Returns the resolved components, or None when the path leaves the destination (or loops).
    """
    if depth > MAX_LINK_DEPTH:
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


def check_members(members: List[Member], archive: str) -> None:
    """Refuse the archive (raise) unless every member stays inside the destination.

    Sets :attr:`~.unpack_members.Member.link_parts` of the hard links.

    Raises:
        UnsafeArchiveError: The first unsafe member (see the module docstring).
    """
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
        if member.kind is MemberKind.SYMLINK:
            _check_symlink(member, links, archive)
        elif member.kind is MemberKind.HARDLINK:
            _check_hardlink(member, regular_so_far, archive)
        elif member.kind is MemberKind.FILE:
            regular_so_far.add(member.parts)


def _check_names(members: List[Member], archive: str) -> Dict[Tuple[str, ...], str]:
    """Refuse names used twice in conflicting ways; return the symbolic links (name → target)."""
    links: Dict[Tuple[str, ...], str] = {}
    kinds: Dict[Tuple[str, ...], MemberKind] = {}
    for member in members:
        if not member.parts and member.kind is not MemberKind.DIR:
            raise UnsafeArchiveError(
                member.raw_name, "names the destination itself", archive=archive
            )
        previous = kinds.get(member.parts)
        if previous is not None and MemberKind.SYMLINK in (previous, member.kind):
            raise UnsafeArchiveError(
                member.raw_name, "name used both by a link and another member", archive=archive
            )
        if previous is not None and (previous is MemberKind.DIR) != (member.kind is MemberKind.DIR):
            raise UnsafeArchiveError(
                member.raw_name, "name used both by a folder and a file", archive=archive
            )
        kinds[member.parts] = member.kind
        if member.kind is MemberKind.SYMLINK:
            links[member.parts] = member.link
    return links


def _check_symlink(member: Member, links: Dict[Tuple[str, ...], str], archive: str) -> None:
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


def _check_hardlink(member: Member, regular_so_far: Set[Tuple[str, ...]], archive: str) -> None:
    try:
        target = split_name(member.link, archive)
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
