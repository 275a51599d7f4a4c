"""Archives for the unpack tests, written from member specs (tar flavours and zip).

A spec is ``(name, kind, data-or-linkname, mode)`` with kind ``file``, ``dir``, ``sym``,
``hard``, ``fifo`` or ``chr``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from grid_lrt.launcher.unpack import DATA_FILTER

__all__ = ["SANDBOX", "Spec", "needs_data_filter", "tar_bytes", "write_tar", "write_zip"]

# (name, kind, data-or-linkname, mode)
Spec = Tuple[str, str, str, int]

#: For tests of the standard library's filter itself.
needs_data_filter = pytest.mark.skipif(
    DATA_FILTER is None, reason="this Python has no tarfile.data_filter (3.9.17+)"
)


def tar_bytes(members: List[Spec]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data, mode in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.mtime = 1_600_000_000
            payload: Optional[io.BytesIO] = None
            if kind == "file":
                raw = data.encode()
                info.size = len(raw)
                payload = io.BytesIO(raw)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = data
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = data
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chr":
                info.type = tarfile.CHRTYPE
                info.devmajor, info.devminor = 1, 3
            tar.addfile(info, payload)
    return buf.getvalue()


def write_tar(path: Path, members: List[Spec], compress: str = "") -> Path:
    raw = tar_bytes(members)
    if compress == "gz":
        raw = gzip.compress(raw)
    elif compress == "bz2":
        raw = bz2.compress(raw)
    elif compress == "xz":
        raw = lzma.compress(raw)
    path.write_bytes(raw)
    return path


def write_zip(path: Path, members: List[Spec]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, kind, data, mode in members:
            info = zipfile.ZipInfo(name + ("/" if kind == "dir" else ""))
            info.create_system = 3
            ftype = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "sym": stat.S_IFLNK}.get(
                kind, stat.S_IFIFO
            )
            info.external_attr = (ftype | mode) << 16
            zf.writestr(info, data)
    return path


SANDBOX: List[Spec] = [
    ("master.sh", "file", "#!/bin/sh\necho hi\n", 0o755),
    ("bin", "dir", "", 0o755),
    ("bin/functions.sh", "file", "f() { :; }\n", 0o644),
    ("parsets/a.parset", "file", "x=1\n", 0o640),
    ("latest.parset", "sym", "parsets/a.parset", 0o777),
]
