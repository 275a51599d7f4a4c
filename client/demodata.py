"""Fake subband tarballs for the samples, the demo and the tests.

:func:`make_archive` writes one small tarball per SURL at the SURL's path under a folder
(``<root>/pnfs/...``), so a launcher fetches them through ``LRT_DATA_DOOR=file://<root>``.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Iterable

from grid_lrt.shared import surl

__all__ = ["make_archive"]


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def make_archive(root: Path, links: Iterable[str]) -> int:
    """Write one small subband tarball per SURL under ``root`` + its path; return the count."""
    count = 0
    for link in links:
        target = root / surl.path_of(link).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        ms = target.name.split(".MS")[0] + ".MS"
        with tarfile.open(target, "w") as tar:
            _add(tar, f"{ms}/table.dat", f"visibilities of {ms}\n".encode() * 64)
        count += 1
    return count
