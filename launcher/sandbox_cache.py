"""Sandbox archives a launcher already downloaded, so that a pilot running many tokens with the
same sandbox fetches it once (GRID_LRT cloned its git repository at every job start).

An archive is reused only when it is known not to have changed:

* a local file (``file://``): same path, size, modification time (ns) and inode (``os.stat``);
* any other URL: the token names the archive's checksum (``SBXchecksum``), and the cached copy
  was verified against that checksum when it was downloaded.

Anything else (a remote sandbox without a checksum) is downloaded for every token. The cache
keeps the ``max_entries`` most recently used archives in a folder of the launcher's own, which
:meth:`SandboxCache.clear` removes (the launcher does so when it exits). The cache holds the
archive, never the extracted tree: each token still gets a fresh extraction.

It holds only what was verified: the sandbox step puts the archive in right after its checks
and before extracting it (an archive cannot reach the cached copy), the copy is made read-only,
and :meth:`SandboxCache.get` hands it out only while its size, time and inode are those it had
when it was put in (anything else is dropped and downloaded again).
"""

from __future__ import annotations

import collections
import logging
import shutil
import stat
import threading
from pathlib import Path
from typing import Any, Hashable, Optional, Tuple
from urllib.parse import unquote, urlsplit

__all__ = ["SandboxCache"]

log = logging.getLogger(__name__)


def _local_path(url: str) -> Optional[Path]:
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parts.path))


def _identity(path: Path) -> Tuple[int, ...]:
    """Size, time (ns), inode and device of a regular file; () when there is none."""
    try:
        st = path.lstat()
    except OSError:
        return ()
    if not stat.S_ISREG(st.st_mode):
        return ()
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


class SandboxCache:
    """Downloaded sandbox archives, keyed by what proves they did not change."""

    def __init__(self, folder: Path, max_entries: int = 4) -> None:
        self.folder = folder
        self.max_entries = max(1, max_entries)
        self._entries: collections.OrderedDict[Hashable, Tuple[Path, Tuple[int, ...]]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()
        self._serial = 0
        self.hits = 0

    @staticmethod
    def key(url: str, checksum: Any) -> Optional[Tuple[Any, ...]]:
        """What identifies this exact archive, or None when it cannot be known unchanged."""
        local = _local_path(url)
        if local is not None:
            try:
                st = local.stat()
            except OSError:
                return None  # the download reports what is wrong
            return ("file", str(local), st.st_size, st.st_mtime_ns, st.st_ino, str(checksum))
        if isinstance(checksum, str) and checksum.strip():
            return ("checksum", url, checksum.strip().lower())
        return None

    def get(self, key: Optional[Hashable]) -> Optional[Path]:
        """The cached archive for ``key``, or None."""
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            path, identity = entry
            if _identity(path) != identity:
                log.warning("cached sandbox %s changed since it was verified: dropped", path.name)
                self._entries.pop(key, None)
                path.unlink(missing_ok=True)
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return path

    def put(self, key: Optional[Hashable], archive: Path) -> Optional[Path]:
        """Move the verified ``archive`` into the cache; return its new path (None: not kept)."""
        if key is None:
            return None
        with self._lock:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._serial += 1
                target = self.folder / f"{self._serial}-{archive.name}"
                archive.replace(target)
                target.chmod(0o444)
                identity = _identity(target)
            except OSError as exc:
                log.debug("sandbox not cached: %s", exc)
                return None
            self._entries[key] = (target, identity)
            while len(self._entries) > self.max_entries:
                _, (old, _) = self._entries.popitem(last=False)
                old.unlink(missing_ok=True)
            return target

    def discard(self, key: Optional[Hashable]) -> None:
        """Forget and delete the archive of ``key`` (one that could not be extracted)."""
        with self._lock:
            entry = self._entries.pop(key, None) if key is not None else None
        if entry is not None:
            entry[0].unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove every cached archive and the cache folder."""
        with self._lock:
            self._entries.clear()
            shutil.rmtree(self.folder, ignore_errors=True)
