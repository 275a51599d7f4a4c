"""``Gfal2Storage``: every grid protocol through the gfal2 Python bindings.

``file://``, ``http(s)://``/``dav(s)://`` (davix), ``gsiftp://``, ``srm://``, ``root://`` and
``mock://`` (tests) go through one API. ``gfal2`` is imported on first use, so this module
imports on a worker without the bindings (:func:`~grid_lrt.launcher.storage.storage_for` only
picks it when they are there).

gfal2 contexts must not be shared between threads: each thread gets its own (created on
first use and rebuilt when ``X509_CERT_DIR``/``X509_USER_PROXY`` change). A ``GError`` becomes
an exception of :mod:`.base` by its errno (see :mod:`.common`), with the ``GError`` kept as
``__cause__``. Some gfal2 plugins use other numbers for the same thing: the http plugin reports
a missing parent on upload as ``EISDIR`` "HTTP 409", which is mapped to ParentMissingError.

The mock plugin's copy delay (5 s in Debian's ``mock_plugin.conf``) is set to 0.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Tuple, TypeVar

from grid_lrt.launcher.checksums import normalize_checksum
from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    FileOnTapeError,
    ParentMissingError,
    SourceNotFoundError,
    StorageError,
)
from grid_lrt.launcher.storage.common import error_for_errno, local_path, scheme_of
from grid_lrt.launcher.storage.local import AtomicFile
from grid_lrt.shared.locality import read_user_status
from grid_lrt.shared.redact import redact, redact_url

__all__ = ["Gfal2Storage", "gfal_url"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: "This storage cannot do that" (no checksum, no xattr, no tape).
_UNSUPPORTED = frozenset(
    {
        errno.ENODATA,
        errno.ENOSYS,
        errno.EOPNOTSUPP,
        errno.ENOTSUP,
        errno.EPROTONOSUPPORT,
        getattr(errno, "ENOATTR", errno.ENODATA),
    }
)
_ON_TAPE = re.compile(r"NEARLINE|not (yet )?online|is on tape|SRM_FILE_UNAVAILABLE", re.IGNORECASE)
_NO_TAPE_API = re.compile(r"Tape REST API", re.IGNORECASE)
_HTTP_409 = re.compile(r"\b409\b")
_TRUST_ENV = ("X509_CERT_DIR", "X509_USER_PROXY")


def _file_url(path: Path) -> str:
    """A ``file://`` URL for gfal2's file plugin, which takes the path verbatim (no %-escapes)."""
    return "file://" + str(path)


def gfal_url(url: str) -> str:
    """``url`` as gfal2 wants it.

    Local files (plain paths and ``file://`` URLs, percent-escaped or not) become
    ``file:///abs/path`` with the path verbatim: gfal2 does not decode ``%20``. Other URLs are
    passed on unchanged.
    """
    if scheme_of(url) == "file":
        return _file_url(local_path(url))
    return url


class Gfal2Storage:
    """Files on any storage gfal2 has a plugin for.

    Args:
        namespace_timeout: Seconds for stat, mkdir, xattr and similar calls (gfal2
            ``CORE:NAMESPACE_TIMEOUT``).
        checksum_timeout: Seconds for a checksum calculated by the storage.
        transfer_timeout: Seconds for one copy when the caller gives no ``timeout``.
    """

    kind = "gfal2"

    def __init__(
        self,
        *,
        namespace_timeout: int = 300,
        checksum_timeout: int = 1800,
        transfer_timeout: int = 3600,
    ) -> None:
        self.namespace_timeout = int(namespace_timeout)
        self.checksum_timeout = int(checksum_timeout)
        self.transfer_timeout = int(transfer_timeout)
        self._local = threading.local()
        self._gfal2: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "Gfal2Storage()"

    # ---- plumbing ------------------------------------------------------------------------------

    def _module(self) -> Any:
        with self._lock:
            if self._gfal2 is None:
                import gfal2

                logging.getLogger("gfal2").setLevel(logging.CRITICAL)
                self._gfal2 = gfal2
            return self._gfal2

    def _context(self) -> Any:
        """This thread's gfal2 context (a new one when the trust environment changed)."""
        settings = tuple(os.environ.get(name, "") for name in _TRUST_ENV)
        cached: Optional[Tuple[Tuple[str, ...], Any]] = getattr(self._local, "ctx", None)
        if cached is not None and cached[0] == settings:
            return cached[1]
        ctx = self._module().creat_context()
        ctx.set_opt_integer("CORE", "NAMESPACE_TIMEOUT", self.namespace_timeout)
        ctx.set_opt_integer("CORE", "CHECKSUM_TIMEOUT", self.checksum_timeout)
        for option in ("MIN_TRANSFER_TIME", "MAX_TRANSFER_TIME"):
            try:
                ctx.set_opt_integer("MOCK PLUGIN", option, 0)
            except self._module().GError:  # pragma: no cover - no mock plugin here
                pass
        self._local.ctx = (settings, ctx)
        return ctx

    def _call(self, fn: Callable[[Any], T], url: str, what: str, *, writing: bool) -> T:
        """Run ``fn(ctx)``; a GError becomes a StorageError (GError kept as ``__cause__``)."""
        gerror = self._module().GError
        try:
            return fn(self._context())
        except gerror as exc:
            raise self._error(exc, url, what, writing=writing) from exc

    @staticmethod
    def _error(exc: Any, url: str, what: str, *, writing: bool) -> StorageError:
        code = int(getattr(exc, "code", 0) or 0)
        message = redact(str(getattr(exc, "message", "") or exc))
        text = f"{what} {redact_url(url)}: {message} (errno {code})"
        safe = redact_url(url)
        if not writing and _ON_TAPE.search(message):
            return FileOnTapeError(text, url=safe, hint="stage the file first (lrt stage submit)")
        if writing and code == errno.EISDIR and _HTTP_409.search(message):
            return ParentMissingError(
                text, url=safe, hint="create the destination folder first (Storage.makedirs)"
            )
        return error_for_errno(code, text, url, writing=writing)

    # ---- the Storage contract ------------------------------------------------------------------

    def download(self, url: str, dest: Path, *, timeout: Optional[float] = None) -> None:
        """Copy ``url`` to the local file ``dest`` (replacing it) via a temporary file.

        Raises:
            SourceNotFoundError: ENOENT on the source.
            FileOnTapeError: The storage says the file is only on tape.
            ParentMissingError: ``dest``'s folder does not exist.
            DestinationNotAccessibleError: EACCES/EPERM.
            NoSpaceError: The local disk is full.
            StorageUnavailableError: Any other failure (time-out, connection, I/O).
        """
        dest = Path(dest)
        src = gfal_url(url)
        try:
            target = AtomicFile(dest)
            with target as tmp:
                params = self._params(timeout, overwrite=True)
                self._call(
                    lambda ctx: ctx.filecopy(params, src, _file_url(tmp)),
                    url,
                    "cannot download",
                    writing=False,
                )
                target.commit()
        except OSError as exc:
            raise error_for_errno(
                exc.errno or 0, f"cannot write {dest}: {exc.strerror}", str(dest), writing=True
            ) from exc

    def _params(self, timeout: Optional[float], *, overwrite: bool) -> Any:
        ctx = self._context()
        params = ctx.transfer_parameters()
        params.overwrite = overwrite
        params.create_parent = False
        params.timeout = max(1, math.ceil(timeout)) if timeout else self.transfer_timeout
        return params

    def upload(
        self, src: Path, url: str, *, overwrite: bool = False, timeout: Optional[float] = None
    ) -> None:
        """Copy the local file ``src`` to ``url``; parent folders are not created.

        Raises:
            SourceNotFoundError: ``src`` does not exist.
            DestinationExistsError: ``url`` exists and ``overwrite`` is False (EEXIST).
            ParentMissingError: ENOENT on the destination (HTTP 409).
            NoSpaceError: ENOSPC/EDQUOT.
            DestinationNotAccessibleError: EACCES/EPERM.
            StorageUnavailableError: Any other failure.
        """
        src = Path(src)
        if not src.is_file():
            raise SourceNotFoundError(f"cannot upload {src}: no such file", url=str(src))
        dst = gfal_url(url)
        params = self._params(timeout, overwrite=overwrite)
        self._call(
            lambda ctx: ctx.filecopy(params, _file_url(src.absolute()), dst),
            url,
            "cannot upload to",
            writing=True,
        )

    def _stat(self, url: str) -> Any:
        target = gfal_url(url)
        return self._call(lambda ctx: ctx.stat(target), url, "cannot stat", writing=False)

    def exists(self, url: str) -> bool:
        """True when ``url`` exists (file or folder).

        Raises:
            DestinationNotAccessibleError, StorageUnavailableError: It cannot be checked.
        """
        try:
            self._stat(url)
        except SourceNotFoundError:
            return False
        return True

    def size(self, url: str) -> int:
        """Size in bytes.

        Raises:
            SourceNotFoundError: ENOENT.
            StorageUnavailableError: Any other failure.
        """
        return int(self._stat(url).st_size)

    def checksum(self, url: str, algorithm: str = "adler32") -> Optional[str]:
        """The checksum the storage reports, lower-case hex (adler32 zero padded to 8 digits).

        None when the storage cannot tell (ENOSYS and friends, an empty answer; for ``mock://``
        also the ``00000000`` it gives without a ``checksum=`` parameter).

        Raises:
            SourceNotFoundError: ENOENT.
            StorageUnavailableError: Any other failure.
        """
        algo = algorithm.strip().lower()
        target = gfal_url(url)
        try:
            value = self._call(
                lambda ctx: ctx.checksum(target, algo.upper()),
                url,
                "no checksum for",
                writing=False,
            )
        except StorageError as exc:
            if _errno_of(exc) in _UNSUPPORTED:
                return None
            raise
        text = normalize_checksum(str(value or ""), algo)
        if not text or (scheme_of(url) == "mock" and not text.strip("0")):
            return None
        return text

    def locality(self, url: str) -> Optional[str]:
        """``user.status``: ``ONLINE``, ``NEARLINE``, ``ONLINE_AND_NEARLINE``, ``LOST``...

        Read with :func:`grid_lrt.shared.locality.read_user_status` (as ``lrt stage`` does), in
        upper case. None where the storage has no such attribute (local files: ENODATA; plain
        WebDAV without the Tape REST API).

        Raises:
            SourceNotFoundError: ENOENT.
            StorageUnavailableError: Any other failure.
        """
        target = gfal_url(url)
        gerror = self._module().GError
        try:
            status = self._call(
                lambda ctx: read_user_status(ctx, target, gerror),
                url,
                "no locality for",
                writing=False,
            )
        except StorageError as exc:
            text = str(getattr(exc.__cause__, "message", "") or "")
            code = _errno_of(exc)
            if code in _UNSUPPORTED or (code == errno.EINVAL and _NO_TAPE_API.search(text)):
                return None
            raise
        return status.value.upper() or None

    def makedirs(self, url: str) -> None:
        """Create the folder ``url`` and its parents (no error if it exists).

        Raises:
            DestinationExistsError: A file (not a folder) is in the way.
            DestinationNotAccessibleError: EACCES/EPERM.
            StorageUnavailableError: Any other failure (mock:// cannot make folders).
        """
        target = gfal_url(url)
        with contextlib.suppress(DestinationExistsError):
            self._call(
                lambda ctx: ctx.mkdir_rec(target, 0o755), url, "cannot create folder", writing=True
            )
        info = self._stat(url)
        if not stat.S_ISDIR(int(info.st_mode)):
            raise DestinationExistsError(
                f"cannot create folder {redact_url(url)}: a file is in the way",
                url=redact_url(url),
            )


def _errno_of(exc: BaseException) -> int:
    """The errno of the GError behind a StorageError (0 when unknown)."""
    return int(getattr(exc.__cause__, "code", 0) or 0)
