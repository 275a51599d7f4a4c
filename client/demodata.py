"""The demo's local world: an archive of fake subband tarballs and a sandbox with a pipeline.

Everything lives under one folder: ``archive/pnfs/...`` mirrors the SURLs' paths (so the
launcher fetches them through ``LRT_DATA_DOOR=file://.../archive``), ``sandbox/demo.tar.gz``
holds ``master.sh`` and ``tokvar.cfg``, and ``results/`` receives the outputs.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Iterable

from grid_lrt.shared import surl

__all__ = ["MASTER_SH", "make_archive", "make_sandbox"]

#: The demo pipeline: "calibrates" the subbands in Input/ into one summary per token.
MASTER_SH = """#!/bin/bash
set -euo pipefail
echo "demo pipeline: OBSID=$OBSID STARTSB=$STARTSB token=$TOKEN attempt=$LRT_ATTEMPT"
summary="Output/${OBSID}_SB${STARTSB}.summary.txt"
for ms in Input/*.MS; do
    echo "$(basename "$ms") $(cat "$ms"/table.dat | wc -c) bytes" >> "$summary"
done
echo "calibrated $(ls -d Input/*.MS | wc -l) subbands -> $summary"
"""

TOKVAR_CFG = """\
_id: $TOKEN
OBSID: $OBSID
STARTSB: $STARTSB
"""


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


def make_sandbox(path: Path) -> Path:
    """The sandbox tarball: ``master.sh`` and ``tokvar.cfg``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "master.sh", MASTER_SH.encode(), 0o755)
        _add(tar, "tokvar.cfg", TOKVAR_CFG.encode())
    return path
