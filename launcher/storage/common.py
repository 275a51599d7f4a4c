"""Helpers the storage adapters share: file URLs, errno → exception, and URL redaction.

``redact``/``redact_url`` live in :mod:`grid_lrt.shared.redact` (the login node uses them
too) and are re-exported here for the adapters.

Kept apart from ``base.py`` (the contract) so that every adapter maps an errno the same way:

=================  ==========================  ==========================
errno              reading (download, stat)    writing (upload, mkdir)
=================  ==========================  ==========================
ENOENT, ENOTDIR    SourceNotFoundError         ParentMissingError
EEXIST             DestinationExistsError      DestinationExistsError
EACCES, EPERM,     DestinationNotAccessible-   DestinationNotAccessible-
EROFS              Error                       Error
ENOSPC, EDQUOT     NoSpaceError                NoSpaceError
anything else      StorageUnavailableError     StorageUnavailableError
=================  ==========================  ==========================
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Dict, Type
from urllib.parse import unquote, urlsplit

from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    DestinationNotAccessibleError,
    NoSpaceError,
    ParentMissingError,
    SourceNotFoundError,
    StorageError,
    StorageUnavailableError,
    UnsupportedSchemeError,
)
from grid_lrt.shared.redact import redact, redact_url

__all__ = [
    "error_for_errno",
    "local_path",
    "redact",
    "redact_url",
    "scheme_of",
]

_EDQUOT = getattr(errno, "EDQUOT", 122)
_COMMON: Dict[int, Type[StorageError]] = {
    errno.EEXIST: DestinationExistsError,
    errno.EACCES: DestinationNotAccessibleError,
    errno.EPERM: DestinationNotAccessibleError,
    errno.EROFS: DestinationNotAccessibleError,
    errno.ENOSPC: NoSpaceError,
    _EDQUOT: NoSpaceError,
}
_MISSING = (errno.ENOENT, errno.ENOTDIR)


def scheme_of(url: str) -> str:
    """The lower-case scheme of ``url``; ``"file"`` for a plain path (``/data/x``, ``C:``-less)."""
    if "://" not in url and not url.startswith("file:"):
        return "file"
    return urlsplit(url).scheme.lower()


def local_path(url: str) -> Path:
    """The local path of a ``file://`` URL or a plain path (absolute, or made absolute).

    ``file:///a%20b`` and ``file://localhost/a`` are accepted; percent escapes are decoded.

    Raises:
        UnsupportedSchemeError: Another scheme, or a ``file://`` URL naming a remote host.
    """
    if scheme_of(url) != "file":
        raise UnsupportedSchemeError(
            f"not a local file URL: {redact_url(url)}", url=redact_url(url)
        )
    if "://" not in url and not url.startswith("file:"):
        return Path(url).absolute()
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise UnsupportedSchemeError(
            f"file URL names a remote host: {redact_url(url)}",
            url=redact_url(url),
            hint="use file:///absolute/path (three slashes) for a local file",
        )
    return Path(unquote(parts.path)).absolute()


def error_for_errno(code: int, message: str, url: str, *, writing: bool) -> StorageError:
    """The storage exception for an errno, following the table in this module's docstring.

    Args:
        code: The errno (0 or unknown: StorageUnavailableError).
        message: What failed, without credentials (it is redacted again to be sure).
        url: The URL concerned (redacted before it is stored).
        writing: True for uploads and folder creation (ENOENT means a missing parent).
    """
    safe_url = redact_url(url)
    text = redact(message)
    if code in _MISSING:
        cls: Type[StorageError] = ParentMissingError if writing else SourceNotFoundError
    else:
        cls = _COMMON.get(code, StorageUnavailableError)
    hint = ""
    if cls is ParentMissingError:
        hint = "create the destination folder first (Storage.makedirs)"
    elif cls is DestinationExistsError:
        hint = "remove it, or upload with overwrite=True"
    elif cls is DestinationNotAccessibleError:
        hint = "check the permissions (or the grid proxy) for this location"
    return cls(text, url=safe_url, hint=hint)
