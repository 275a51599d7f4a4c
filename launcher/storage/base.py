"""The ``Storage`` contract every transfer adapter implements, and its exception tree.

Adapters (``gfal.py`` on the gfal2 bindings, ``local.py``/``http.py`` without them) translate
their library's errors (gfal2 ``GError`` by errno, HTTP status codes, ``OSError``) into the
exceptions below at their boundary, keeping the original as ``__cause__``. The callers
(sandbox, inputs, upload) map these exceptions to the documented error codes, because the
same exception means a different code depending on the direction (a missing source is a
failed download, 21; a missing parent folder is a failed upload, 34).

URLs are full URLs (``file:///abs/path``, ``https://host/path``, ``davs://...``,
``gsiftp://...``, ``srm://...``, ``mock://...``); local paths are :class:`pathlib.Path`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Protocol

from grid_lrt.shared.errors import LrtError

__all__ = [
    "ChecksumMismatchError",
    "DestinationExistsError",
    "DestinationNotAccessibleError",
    "FileOnTapeError",
    "NoSpaceError",
    "ParentMissingError",
    "RenameUnsupportedError",
    "SourceNotFoundError",
    "Storage",
    "StorageError",
    "StorageUnavailableError",
    "UnsupportedSchemeError",
]


class StorageError(LrtError):
    """Base of every storage failure. ``url`` is the URL concerned (never with credentials)."""

    #: True when trying again later may succeed (network trouble, busy server).
    transient = False

    def __init__(self, message: str, *, url: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.url = url


class SourceNotFoundError(StorageError):
    """The file to read does not exist (ENOENT, HTTP 404)."""


class FileOnTapeError(StorageError):
    """The file exists but is only on tape (``NEARLINE``): it must be staged first."""


class DestinationExistsError(StorageError):
    """The target exists and overwriting was not asked for (EEXIST)."""


class ParentMissingError(StorageError):
    """The target's parent folder does not exist (ENOENT on upload, HTTP 409 on WebDAV PUT)."""


class DestinationNotAccessibleError(StorageError):
    """Permission denied (EACCES/EPERM, HTTP 401/403)."""


class NoSpaceError(StorageError):
    """The storage is full (ENOSPC, EDQUOT, HTTP 507): dCache's "All pools are full"."""

    transient = True


class ChecksumMismatchError(StorageError):
    """A copy's checksum differs from the source's (or from the one recorded in the token)."""

    transient = True

    def __init__(
        self, message: str, *, url: str = "", expected: str = "", actual: str = ""
    ) -> None:
        super().__init__(message, url=url)
        self.expected = expected
        self.actual = actual


class StorageUnavailableError(StorageError):
    """Anything else: timeouts, connection refused, 5xx, unexpected errno. Worth a retry."""

    transient = True


class RenameUnsupportedError(StorageError):
    """The storage cannot rename a file (a web server without WebDAV ``MOVE``, a gfal2 plugin
    without ``rename`` such as ``mock://``). The caller decides on a fallback."""


class UnsupportedSchemeError(StorageError):
    """No adapter on this worker handles the URL's scheme (e.g. gsiftp:// without gfal2)."""


class Storage(Protocol):
    """Reads and writes files on one kind of storage. All methods are blocking.

    Adapters must be safe to use from several threads at once (inputs are fetched in parallel).
    """

    def download(self, url: str, dest: Path, *, timeout: Optional[float] = None) -> None:
        """Copy ``url`` to the local file ``dest`` (replacing it), atomically: a failed copy
        leaves no partial ``dest`` behind.

        Raises:
            SourceNotFoundError, FileOnTapeError, DestinationNotAccessibleError,
            StorageUnavailableError
        """

    def upload(
        self, src: Path, url: str, *, overwrite: bool = False, timeout: Optional[float] = None
    ) -> None:
        """Copy the local file ``src`` to ``url``. Parent folders are not created.

        Raises:
            DestinationExistsError (exists and not ``overwrite``), ParentMissingError,
            NoSpaceError, DestinationNotAccessibleError, StorageUnavailableError
        """

    def exists(self, url: str) -> bool:
        """True when ``url`` exists (file or folder)."""

    def size(self, url: str) -> int:
        """Size in bytes. Raises SourceNotFoundError."""

    def checksum(self, url: str, algorithm: str = "adler32") -> Optional[str]:
        """The checksum the storage reports, lower-case hex (adler32: 8 digits, zero-padded),
        or None when the storage cannot tell (plain HTTP without ``Want-Digest``)."""

    def locality(self, url: str) -> Optional[str]:
        """The storage's word for where the file is, upper case: normally a value of
        :class:`~grid_lrt.shared.locality.Locality` (``ONLINE``, ``NEARLINE``,
        ``ONLINE_AND_NEARLINE``, ``LOST``, ``UNAVAILABLE``), passed on as it is otherwise; or
        None when the storage has no notion of tape (plain files, plain HTTP)."""

    def makedirs(self, url: str) -> None:
        """Create the folder ``url`` and its parents (no error if it exists)."""

    def rename(self, src_url: str, dst_url: str, *, overwrite: bool) -> None:
        """Give the file ``src_url`` the name ``dst_url`` on the same storage (no data copied).

        Without ``overwrite`` an existing ``dst_url`` is refused and left as it is; with it,
        ``dst_url`` is replaced. Each adapter documents how atomic that is on its storage.

        Raises:
            SourceNotFoundError (``src_url`` does not exist), DestinationExistsError (``dst_url``
            exists and not ``overwrite``), ParentMissingError (``dst_url``'s folder does not
            exist), RenameUnsupportedError (this storage cannot rename),
            DestinationNotAccessibleError, StorageUnavailableError
        """

    def remove(self, url: str) -> None:
        """Delete the file ``url`` (not a folder).

        Raises:
            SourceNotFoundError (it does not exist), DestinationNotAccessibleError,
            StorageUnavailableError
        """
