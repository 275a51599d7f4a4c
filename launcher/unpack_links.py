"""The symbolic links of one job's tree, checked again after every archive extracted into it.

A link is checked when it is written (:mod:`.unpack_writer`), against the file system as it is
then. Its meaning can change later: a link whose target walks through a path that does not
exist yet, or through another link, and then up with ``..``, leads elsewhere once a later
archive creates or replaces that path. Two archives of one job, each harmless on its own::

    first:   a   -> b/c/b/c/../..   (b/c does not exist: lexically a -> b/c, inside)
    second:  b/c -> ..              (b/c -> the destination itself: inside)
    now:     a   -> b/c/b/c/../.. = <dest>/../..   (outside)

So a :class:`LinkLedger` keeps every link of the job (those already in the tree when it is
:meth:`~LinkLedger.seed`\\ ed, and each one an extraction writes), each with the folder it must
stay in, and :meth:`~LinkLedger.verify` resolves them all again (``os.path.realpath``, the real
tree) after each archive. A link that now leads out is removed and the archive refused.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict

from grid_lrt.launcher.unpack_members import UnsafeArchiveError

__all__ = ["LinkLedger", "inside"]

log = logging.getLogger(__name__)


def inside(path: str, root: str) -> bool:
    """True when the (resolved) ``path`` is ``root`` or below it."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class LinkLedger:
    """The links of one job's tree and the folder each must resolve inside."""

    def __init__(self) -> None:
        self._links: Dict[Path, Path] = {}
        self._seeded: Dict[Path, bool] = {}

    def __len__(self) -> int:
        return len(self._links)

    def seed(self, root: Path) -> None:
        """Record the links already under ``root`` that resolve inside it (once per root).

        A link that already leads out was not made by an extraction of ours; it is left
        alone (the writer never writes through it: it checks every folder it writes into).
        """
        if self._seeded.get(root):
            return
        self._seeded[root] = True
        real_root = os.path.realpath(root)
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder, name)
                if path.is_symlink() and inside(os.path.realpath(path), real_root):
                    self._links[path] = root

    def add(self, link: Path, root: Path) -> None:
        """Record a link just written under ``root``."""
        self._links[link] = root

    def verify(self, archive: str) -> None:
        """Resolve every recorded link again; remove and refuse the first that leads out.

        Raises:
            UnsafeArchiveError: a link now resolves outside its folder (after ``archive``).
        """
        for link, root in list(self._links.items()):
            if not link.is_symlink():
                del self._links[link]  # replaced by a later member, or removed
                continue
            if inside(os.path.realpath(link), os.path.realpath(root)):
                continue
            target = str(link.readlink())
            link.unlink()
            del self._links[link]
            raise UnsafeArchiveError(
                str(link.relative_to(root)),
                f"a link ({target!r}) that leads outside {root.name or root} once {archive} "
                "is extracted",
                outcome="the link was removed",
            )
