"""Sandboxes and input archives of the launcher's bad-input corpus (zip bombs, planted links,
members that reach outside the job folder)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Callable, List, Tuple

MIB = 1 << 20

Build = Callable[[Path], str]  # folder -> a URL (sandbox) or srm.txt text (inputs)


# -- archives ---------------------------------------------------------------------------------


def _tar(path: Path, members: List[Tuple[str, str, str]], *, gz: bool = False) -> Path:
    """``(name, kind, data or link target)`` with kind file, dir or sym."""
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o755
            payload = None
            if kind == "file":
                raw = data.encode()
                info.size = len(raw)
                payload = io.BytesIO(raw)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            else:
                info.type = tarfile.SYMTYPE
                info.linkname = data
            tar.addfile(info, payload)
    return path


MASTER = "#!/bin/sh\necho 'pipeline ran' > Output/ran.txt\n"


def sandbox(*members: Tuple[str, str, str]) -> Build:
    def build(folder: Path) -> str:
        return _tar(
            folder / "sbx.tar.gz", [("master.sh", "file", MASTER), *members], gz=True
        ).as_uri()

    return build


def zip_bomb_sandbox(folder: Path) -> str:
    """120 MiB of zeros in about 120 KiB (default limits: ratio 100 above 100 MiB)."""
    path = folder / "bomb.zip"
    chunk = bytes(MIB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("master.sh", MASTER)
        with zf.open("zeros.bin", "w", force_zip64=True) as out:
            for _ in range(120):
                out.write(chunk)
    return path.as_uri()


def planted_sandbox(folder: Path) -> str:
    """A sandbox holding ``.sandbox/sbx.tar.gz``: another archive with another master.sh."""
    evil = _tar(folder / "evil.tar.gz", [("master.sh", "file", "echo evil\n")], gz=True)
    return _tar(
        folder / "sbx.tar.gz",
        [("master.sh", "file", MASTER), (".sandbox/sbx.tar.gz", "file", evil.read_text("latin-1"))],
        gz=True,
    ).as_uri()


def inputs(*archives: List[Tuple[str, str, str]]) -> Build:
    def build(folder: Path) -> str:
        paths = [_tar(folder / f"in{n}.tar", members) for n, members in enumerate(archives)]
        return "".join(f"{p.as_uri()}\n" for p in paths)

    return build


def gz_bomb_input(folder: Path) -> str:
    path = folder / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 120 * MIB

        class Zeros(io.RawIOBase):
            left = info.size

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: Any) -> int:
                count = min(len(buffer), self.left)
                buffer[:count] = bytes(count)
                self.left -= count
                return count

        tar.addfile(info, io.BufferedReader(Zeros()))
    return f"{path.as_uri()}\n"
