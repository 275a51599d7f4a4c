"""A tape archive in a folder: files on "tape" until a stager brings them online.

For the demo and ``lrt dev stageit-simulator --archive DIR``: every file of the archive is
kept under ``DIR/tape/<SURL path>`` (NEARLINE); a file is online once it is also under
``DIR/disk/<SURL path>`` (a hard link, or a copy across file systems). The StageIT simulator
calls :meth:`TapeFolder.make_online` with a request's SURLs when it finishes, and pilots read
the online files through ``LRT_DATA_DOOR=file://DIR/disk`` (:attr:`TapeFolder.door`), as
they would read a site's WebDAV door: a file not staged is not there. State lives in the
folder only, so a second run finds what the first one staged.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable, List

from grid_lrt.shared import surl

from ..demodata import make_archive

__all__ = ["TapeFolder"]


class TapeFolder:
    """The archive under ``root``: ``tape/`` holds everything, ``disk/`` what is online."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.tape = self.root / "tape"
        self.disk = self.root / "disk"

    @property
    def door(self) -> str:
        """The ``LRT_DATA_DOOR`` that maps SURLs onto the online files."""
        return self.disk.as_uri()

    def _where(self, base: Path, link: str) -> Path:
        return base / surl.path_of(link).lstrip("/")

    def write(self, links: Iterable[str], *, online: Iterable[str] = ()) -> int:
        """A small subband tarball on tape per link (kept when it exists); ``online`` ones are
        on disk too. How many files were written."""
        todo = [link for link in links if not self._where(self.tape, link).exists()]
        made = make_archive(self.tape, todo)
        self.make_online(online)
        return made

    def make_online(self, links: Iterable[str]) -> List[str]:
        """Put the files of ``links`` on disk (the stager's ``on_online``); those it did."""
        done = []
        for link in links:
            source = self._where(self.tape, link)
            target = self._where(self.disk, link)
            if not source.is_file() or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:  # another file system: a copy, renamed into place whole
                partial = target.with_name(f".{target.name}.part")
                shutil.copyfile(source, partial)
                partial.replace(target)
            done.append(link)
        return done

    def is_online(self, link: str) -> bool:
        return self._where(self.disk, link).is_file()
