"""``LocalStorage``: ``file://`` URLs and plain paths, with the standard library only.

Copies are atomic: the data goes to a hidden temporary file in the target's folder, which is
then renamed over the target (``os.replace``), so a failed copy never leaves a partial file.
An upload without ``overwrite`` publishes the file with ``os.link``, which fails if the target
appeared in the meantime, so two workers never overwrite each other's result.
:meth:`LocalStorage.rename` works the same way: ``os.replace`` with ``overwrite``, else
``os.link`` and ``unlink`` of the old name (atomic no-clobber). Where the file system has no
hard links (some network and FUSE mounts) it falls back to check-then-rename, which another
writer can race.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from grid_lrt.launcher.checksums import ALGORITHMS, file_checksum
from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    SourceNotFoundError,
    StorageError,
)
from grid_lrt.launcher.storage.common import error_for_errno, local_path
from grid_lrt.shared.redact import redact_url

__all__ = ["AtomicFile", "LocalStorage", "rename_path"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
#: os.link is not possible here; fall back to check-then-rename.
_NO_LINK = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


def _error(exc: OSError, what: str, url: str, *, writing: bool) -> StorageError:
    reason = exc.strerror or str(exc)
    return error_for_errno(exc.errno or 0, f"{what}: {reason}", url, writing=writing)


def _link_or_refuse(src: Path, dst: Path) -> None:
    """Publish ``src`` as ``dst`` unless ``dst`` exists (os.link; check-then-rename without
    hard links). ``src`` is gone afterwards.

    Raises:
        FileExistsError: ``dst`` exists.
        OSError: Any other failure of link, rename or unlink.
    """
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        if dst.exists() or dst.is_symlink():
            raise FileExistsError(errno.EEXIST, "File exists", str(dst)) from exc
        src.replace(dst)
    else:
        src.unlink()


def rename_path(src: Path, dst: Path, *, overwrite: bool, src_url: str, dst_url: str) -> None:
    """Rename the local file ``src`` to ``dst``: replacing it, or refusing an existing one.

    ``src_url``/``dst_url`` name the two in the exceptions (they are redacted there).

    Raises:
        SourceNotFoundError: ``src`` does not exist (or is a folder).
        DestinationExistsError: ``dst`` exists and ``overwrite`` is False.
        ParentMissingError: ``dst``'s folder does not exist.
        DestinationNotAccessibleError: Permission denied.
        StorageUnavailableError: Any other failure (``dst`` is a folder: EISDIR).
    """
    if not src.is_file():
        raise SourceNotFoundError(f"cannot rename {src}: no such file", url=redact_url(src_url))
    try:
        if overwrite:
            src.replace(dst)
        else:
            _link_or_refuse(src, dst)
    except FileExistsError as exc:
        raise DestinationExistsError(
            f"cannot rename {src.name} to {dst}: it exists and overwrite is not set",
            url=redact_url(dst_url),
            hint="remove it, or rename with overwrite=True",
        ) from exc
    except OSError as exc:
        if not src.exists():
            raise _error(exc, f"cannot rename {src}", src_url, writing=False) from exc
        raise _error(exc, f"cannot rename {src.name} to {dst}", dst_url, writing=True) from exc


class AtomicFile:
    """A temporary file next to ``dest``; removed on exit unless :meth:`commit` moved it.

    Example::

        target = AtomicFile(dest)
        with target as tmp:
            write(tmp)
            target.commit(overwrite=False)
    """

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.tmp: Optional[Path] = None

    def __enter__(self) -> Path:
        fd, name = tempfile.mkstemp(
            dir=str(self.dest.parent), prefix=f".{self.dest.name}.", suffix=".part"
        )
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def commit(self, *, overwrite: bool = True) -> None:
        """Move the temporary file to ``dest`` (refusing an existing ``dest`` without overwrite).

        Raises:
            FileExistsError: ``dest`` exists and ``overwrite`` is False.
        """
        if self.tmp is None:
            raise RuntimeError("AtomicFile.commit() outside its with block")
        if overwrite:
            self.tmp.replace(self.dest)
        else:
            _link_or_refuse(self.tmp, self.dest)
        self.tmp = None

    def __exit__(self, *exc_info: object) -> None:
        if self.tmp is not None:
            try:
                self.tmp.unlink()
            except OSError:  # pragma: no cover - the folder vanished
                log.debug("could not remove %s", self.tmp)
            self.tmp = None


class LocalStorage:
    """Files on a locally mounted file system (``file:///abs/path`` or ``/abs/path``).

    Thread-safe: it keeps no state. ``timeout`` arguments are accepted and ignored.
    """

    kind = "local"

    def __repr__(self) -> str:
        return "LocalStorage()"

    def download(self, url: str, dest: Path, *, timeout: Optional[float] = None) -> None:
        """Copy the file ``url`` to ``dest`` (replacing it), atomically.

        Raises:
            SourceNotFoundError: ``url`` does not exist (or is a folder).
            ParentMissingError: ``dest``'s folder does not exist.
            DestinationNotAccessibleError: Permission denied on either side.
            NoSpaceError: The local disk is full.
            StorageUnavailableError: Any other I/O error.
        """
        del timeout
        src = local_path(url)
        dest = Path(dest)
        if src.is_dir():
            raise SourceNotFoundError(f"cannot download {src}: it is a folder", url=redact_url(url))
        try:
            fsrc = src.open("rb")
        except OSError as exc:
            raise _error(exc, f"cannot read {src}", url, writing=False) from exc
        with fsrc:
            try:
                target = AtomicFile(dest)
                with target as tmp:
                    with tmp.open("wb") as fdst:
                        shutil.copyfileobj(fsrc, fdst, _CHUNK)
                    shutil.copymode(src, tmp)
                    target.commit()
            except OSError as exc:
                raise _error(exc, f"cannot copy {src} to {dest}", url, writing=True) from exc

    def upload(
        self, src: Path, url: str, *, overwrite: bool = False, timeout: Optional[float] = None
    ) -> None:
        """Copy the local file ``src`` to ``url`` atomically; parent folders are not created.

        Raises:
            SourceNotFoundError: ``src`` does not exist.
            DestinationExistsError: ``url`` exists and ``overwrite`` is False.
            ParentMissingError: ``url``'s folder does not exist.
            DestinationNotAccessibleError: Permission denied.
            NoSpaceError: The target file system is full (ENOSPC, EDQUOT).
            StorageUnavailableError: Any other I/O error.
        """
        del timeout
        src = Path(src)
        dest = local_path(url)
        if not overwrite and (dest.exists() or dest.is_symlink()):
            raise DestinationExistsError(
                f"{dest} exists and overwrite is not set",
                url=redact_url(url),
                hint="remove it, or upload with overwrite=True",
            )
        try:
            fsrc = src.open("rb")
        except OSError as exc:
            raise _error(exc, f"cannot read {src}", str(src), writing=False) from exc
        with fsrc:
            try:
                target = AtomicFile(dest)
                with target as tmp:
                    with tmp.open("wb") as fdst:
                        shutil.copyfileobj(fsrc, fdst, _CHUNK)
                        fdst.flush()
                        os.fsync(fdst.fileno())
                    shutil.copymode(src, tmp)
                    target.commit(overwrite=overwrite)
            except OSError as exc:
                raise _error(exc, f"cannot write {dest}", url, writing=True) from exc

    def exists(self, url: str) -> bool:
        """True when ``url`` exists (file or folder)."""
        return local_path(url).exists()

    def size(self, url: str) -> int:
        """Size in bytes.

        Raises:
            SourceNotFoundError: ``url`` does not exist.
            StorageUnavailableError: It cannot be examined.
        """
        path = local_path(url)
        try:
            return path.stat().st_size
        except OSError as exc:
            raise _error(exc, f"cannot stat {path}", url, writing=False) from exc

    def checksum(self, url: str, algorithm: str = "adler32") -> Optional[str]:
        """The file's checksum computed here (lower-case hex), None for an unknown algorithm.

        Raises:
            SourceNotFoundError: ``url`` does not exist.
            StorageUnavailableError: It cannot be read.
        """
        if algorithm.strip().lower() not in ALGORITHMS:
            return None
        path = local_path(url)
        try:
            return file_checksum(path, algorithm)
        except OSError as exc:
            raise _error(exc, f"cannot read {path}", url, writing=False) from exc

    def locality(self, url: str) -> Optional[str]:
        """Always None: local files have no tape."""
        del url
        return None

    def makedirs(self, url: str) -> None:
        """Create the folder ``url`` and its parents (no error if it exists).

        Raises:
            DestinationExistsError: A file (not a folder) exists at ``url``.
            ParentMissingError: A parent component is a file.
            DestinationNotAccessibleError: Permission denied.
            StorageUnavailableError: Any other I/O error.
        """
        path = local_path(url)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _error(exc, f"cannot create folder {path}", url, writing=True) from exc

    def rename(self, src_url: str, dst_url: str, *, overwrite: bool) -> None:
        """Rename the file ``src_url`` to ``dst_url``, atomically (see the module docstring).

        Raises:
            SourceNotFoundError: ``src_url`` does not exist (or is a folder).
            DestinationExistsError: ``dst_url`` exists and ``overwrite`` is False.
            ParentMissingError: ``dst_url``'s folder does not exist.
            DestinationNotAccessibleError: Permission denied.
            StorageUnavailableError: Any other failure (a folder at ``dst_url``: EISDIR;
                the two on different file systems: EXDEV).
        """
        rename_path(
            local_path(src_url),
            local_path(dst_url),
            overwrite=overwrite,
            src_url=src_url,
            dst_url=dst_url,
        )

    def remove(self, url: str) -> None:
        """Delete the file ``url``.

        Raises:
            SourceNotFoundError: ``url`` does not exist.
            DestinationNotAccessibleError: Permission denied.
            StorageUnavailableError: Any other failure (a folder: EISDIR).
        """
        path = local_path(url)
        try:
            path.unlink()
        except OSError as exc:
            raise _error(exc, f"cannot remove {path}", url, writing=False) from exc
