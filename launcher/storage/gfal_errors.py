"""gfal2 ``GError`` → the exceptions of :mod:`.base`, for :class:`~.gfal.Gfal2Storage`.

By errno first (the table in :mod:`.common`), then by what gfal2's plugins say when their
errno means something else:

* a "NEARLINE"/"not online" message on a read → FileOnTapeError;
* the http plugin (davix) reports HTTP 409 on an upload as ``EISDIR``, and on a rename as
  ``EEXIST`` "Conflict, File Exist": both are a missing parent folder (ParentMissingError);
* on a rename, "cannot do that" errnos (``EPROTONOSUPPORT`` from the mock plugin, ``ENOSYS``,
  ``EOPNOTSUPP``...) and HTTP 405/501 (davix: ``EPERM`` "Method Not Allowed") mean the storage
  cannot rename: RenameUnsupportedError.
"""

from __future__ import annotations

import errno
import re
from typing import Any, Callable

from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    FileOnTapeError,
    ParentMissingError,
    RenameUnsupportedError,
    SourceNotFoundError,
    StorageError,
)
from grid_lrt.launcher.storage.common import error_for_errno
from grid_lrt.shared.redact import redact, redact_url

__all__ = ["NO_TAPE_API", "UNSUPPORTED", "errno_of", "gfal_error", "rename_error"]

#: "This storage cannot do that" (no checksum, no xattr, no tape, no rename).
UNSUPPORTED = frozenset(
    {
        errno.ENODATA,
        errno.ENOSYS,
        errno.EOPNOTSUPP,
        errno.ENOTSUP,
        errno.EPROTONOSUPPORT,
        getattr(errno, "ENOATTR", errno.ENODATA),
    }
)
NO_TAPE_API = re.compile(r"Tape REST API", re.IGNORECASE)
_ON_TAPE = re.compile(r"NEARLINE|not (yet )?online|is on tape|SRM_FILE_UNAVAILABLE", re.IGNORECASE)
_HTTP_409 = re.compile(r"\b409\b")
_NO_METHOD = re.compile(r"\bHTTP (?:405|501)\b")
_PARENT_HINT = "create the destination folder first (Storage.makedirs)"


def errno_of(exc: BaseException) -> int:
    """The errno of the GError behind a StorageError (0 when unknown)."""
    return int(getattr(exc.__cause__, "code", 0) or 0)


def gfal_error(exc: Any, url: str, what: str, *, writing: bool) -> StorageError:
    """The StorageError for the GError ``exc`` of the operation ``what`` on ``url``."""
    code = int(getattr(exc, "code", 0) or 0)
    message = redact(str(getattr(exc, "message", "") or exc))
    text = f"{what} {redact_url(url)}: {message} (errno {code})"
    safe = redact_url(url)
    if not writing and _ON_TAPE.search(message):
        return FileOnTapeError(text, url=safe, hint="stage the file first (lrt stage submit)")
    if writing and code == errno.EISDIR and _HTTP_409.search(message):
        return ParentMissingError(text, url=safe, hint=_PARENT_HINT)
    return error_for_errno(code, text, url, writing=writing)


def rename_error(
    exc: StorageError, src_url: str, dst_url: str, *, source_exists: Callable[[], bool]
) -> StorageError:
    """The exception for a failed ``ctx.rename`` (``exc``: as :func:`gfal_error` made it).

    ``source_exists`` is asked only for ENOENT, which may mean either side is missing.
    """
    code = errno_of(exc)
    text = exc.message
    if code in UNSUPPORTED or (code == errno.EPERM and _NO_METHOD.search(text)):
        return RenameUnsupportedError(text, url=redact_url(src_url))
    if code == errno.EEXIST and _HTTP_409.search(text):
        return ParentMissingError(text, url=redact_url(dst_url), hint=_PARENT_HINT)
    if code == errno.EEXIST:
        return DestinationExistsError(text, url=redact_url(dst_url))
    if isinstance(exc, ParentMissingError) and not source_exists():
        return SourceNotFoundError(text, url=redact_url(src_url))
    return exc
