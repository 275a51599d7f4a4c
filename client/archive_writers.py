"""Where archived files go: a folder (one file each, never replacing one) or a tar.gz stream.

A type's tarball is written as a stream, token by token, with nothing kept per member: the
old way (every file into a folder, then ``tarfile.add`` of the folder) wrote each token twice
and ``TarFile`` keeps a ``TarInfo`` of every member it wrote (about 1 KB each, a GB per 10^6
tokens), which :class:`TarWriter` drops as it goes.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Optional

from grid_lrt.shared.errors import UsageError

__all__ = ["FolderWriter", "TarWriter", "write_new"]


def write_new(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, which must not exist yet (or hold exactly ``data``: the
    same token archived twice into one folder).

    Raises:
        UsageError: ``path`` exists with other content (it is never replaced).
    """
    try:
        with path.open("xb") as out:
            out.write(data)
    except FileExistsError:
        if path.is_file() and path.read_bytes() == data:
            return path
        raise UsageError(
            f"{path} exists already with other content; it was not replaced",
            hint="archive into another folder, or move the existing file away",
        ) from None
    return path


class FolderWriter:
    """Files into ``folder`` (made if missing); returns each file's path."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: bytes) -> Optional[Path]:
        return write_new(self.folder / name, data)

    def close(self) -> None:
        pass


class TarWriter:
    """Files as members ``<root>/<name>`` of a new tar.gz at ``path``, streamed.

    Names are the archive's safe, collision-free names (``token_archive``), so no member is
    written twice and nothing needs remembering. :meth:`write` returns None: the members are
    not files of their own.
    """

    def __init__(self, path: Path, root: str) -> None:
        self.root = root
        self.mtime = int(time.time())
        self.tar = tarfile.open(path, "x:gz")  # noqa: SIM115 - closed by close()
        folder = tarfile.TarInfo(root)
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, self.mtime
        self.tar.addfile(folder)

    def write(self, name: str, data: bytes) -> Optional[Path]:
        info = tarfile.TarInfo(f"{self.root}/{name}")
        info.size, info.mode, info.mtime = len(data), 0o644, self.mtime
        self.tar.addfile(info, io.BytesIO(data))
        # TarFile appends every member to .members (for reading back); a writer never reads.
        self.tar.members.clear()  # type: ignore[attr-defined]  # not in typeshed
        return None

    def close(self) -> None:
        self.tar.close()
