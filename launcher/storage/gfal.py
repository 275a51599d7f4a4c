"""``Gfal2Storage``: every grid protocol through the gfal2 Python bindings.

``file://``, ``http(s)://``/``dav(s)://`` (davix), ``gsiftp://``, ``srm://``, ``root://`` and
``mock://`` (tests) go through one API. ``gfal2`` is imported on first use, so this module
imports on a worker without the bindings (:func:`~grid_lrt.launcher.storage.storage_for` only
picks it when they are there).

gfal2 contexts must not be shared between threads: each thread gets its own (created on
first use and rebuilt when ``X509_CERT_DIR``/``X509_USER_PROXY`` change). A ``GError`` becomes
an exception of :mod:`.base` by its errno (see :mod:`.common`), with the ``GError`` kept as
``__cause__``. Some gfal2 plugins use other numbers for the same thing (the http plugin reports
a missing parent on upload as ``EISDIR`` "HTTP 409"): :mod:`.gfal_errors` knows them.

Contexts come from :mod:`.gfal_context` (time-outs, no mock copy delay); reads (copies from the
storage, stat, checksum, tape state) use a second one per thread holding the macaroons of
:mod:`.bearer` as gfal2 BEARER credentials. An expired macaroon is refused before the call.

Renames: gfal2's ``rename`` has no overwrite flag, and its plugins replace an existing target
silently (the file plugin calls rename(2); davix sends ``MOVE`` with ``Overwrite: T``). So
:meth:`Gfal2Storage.rename` checks the target first without ``overwrite`` (a writer that creates
it in between is not seen: check-then-rename) and removes it first with ``overwrite`` (the final
name is absent for a moment). On http(s)/dav(s) the target goes to davix without
``user:password@``: davix copies it into the ``Destination`` header, where a server takes it
for another server (502). ``file://`` is renamed as :class:`~.local.LocalStorage` does it
(``os.link``: atomic no-clobber). A plugin without rename (``mock://``) gives
RenameUnsupportedError.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import stat
import threading
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar
from urllib.parse import urlsplit, urlunsplit

from grid_lrt.launcher.checksums import normalize_checksum
from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    DestinationNotAccessibleError,
    SourceNotFoundError,
    StorageError,
)
from grid_lrt.launcher.storage.bearer import fresh_macaroon, installed, refused_error
from grid_lrt.launcher.storage.common import error_for_errno, local_path, scheme_of
from grid_lrt.launcher.storage.gfal_context import new_context
from grid_lrt.launcher.storage.gfal_errors import (
    NO_TAPE_API,
    UNSUPPORTED,
    errno_of,
    gfal_error,
    rename_error,
)
from grid_lrt.launcher.storage.local import AtomicFile, rename_path
from grid_lrt.shared.locality import read_user_status
from grid_lrt.shared.redact import redact_url

__all__ = ["Gfal2Storage", "gfal_url"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_TRUST_ENV = ("X509_CERT_DIR", "X509_USER_PROXY")
_DAV_SCHEMES = frozenset({"http", "https", "dav", "davs"})


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (the rest unchanged)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


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

    def _context(self, bearer: bool = False) -> Any:
        """This thread's gfal2 context, with the macaroons when ``bearer`` (a new one when the
        trust environment or the macaroons changed)."""
        trust = tuple(os.environ.get(name, "") for name in _TRUST_ENV)
        key = (trust, installed() if bearer else ())
        contexts: Dict[bool, Tuple[Any, Any]] = self._local.__dict__.setdefault("ctx", {})
        cached = contexts.get(bearer)
        if cached is not None and cached[0] == key:
            return cached[1]
        ctx = new_context(
            self._module(),
            namespace_timeout=self.namespace_timeout,
            checksum_timeout=self.checksum_timeout,
            macaroons=key[1],
        )
        contexts[bearer] = (key, ctx)
        return ctx

    def _call(
        self, fn: Callable[[Any], T], url: str, what: str, *, writing: bool, bearer: bool = False
    ) -> T:
        """Run ``fn(ctx)``; a GError becomes a StorageError (GError kept as ``__cause__``).
        ``bearer``: a read, in the context with the macaroons (an expired one is refused)."""
        gerror = self._module().GError
        macaroon = fresh_macaroon(url) if bearer else None
        try:
            return fn(self._context(bearer))
        except gerror as exc:
            error = gfal_error(exc, url, what, writing=writing)
            if macaroon is not None and isinstance(error, DestinationNotAccessibleError):
                error = refused_error(macaroon, what, url, f"errno {exc.code}")
            raise error from exc

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
                    bearer=True,
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
        stat_of: Callable[[Any], Any] = lambda ctx: ctx.stat(target)  # noqa: E731
        return self._call(stat_of, url, "cannot stat", writing=False, bearer=True)

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
                bearer=True,
            )
        except StorageError as exc:
            if errno_of(exc) in UNSUPPORTED:
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
                bearer=True,
            )
        except StorageError as exc:
            text = str(getattr(exc.__cause__, "message", "") or "")
            code = errno_of(exc)
            if code in UNSUPPORTED or (code == errno.EINVAL and NO_TAPE_API.search(text)):
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

    def rename(self, src_url: str, dst_url: str, *, overwrite: bool) -> None:
        """gfal2 ``rename`` of ``src_url`` to ``dst_url`` (see the module docstring for how an
        existing target is refused or replaced on each storage).

        Raises:
            SourceNotFoundError: ``src_url`` does not exist.
            DestinationExistsError: ``dst_url`` exists and ``overwrite`` is False.
            ParentMissingError: ``dst_url``'s folder does not exist.
            RenameUnsupportedError: The plugin cannot rename (``mock://``: EPROTONOSUPPORT).
            DestinationNotAccessibleError: EACCES/EPERM.
            StorageUnavailableError: Any other failure.
            StorageError: With ``overwrite``, a folder is at ``dst_url`` (it is not removed).
        """
        if scheme_of(src_url) == "file" and scheme_of(dst_url) == "file":
            src_path, dst_path = local_path(src_url), local_path(dst_url)
            rename_path(src_path, dst_path, overwrite=overwrite, src_url=src_url, dst_url=dst_url)
            return
        src, dst = gfal_url(src_url), gfal_url(dst_url)
        if scheme_of(dst) in _DAV_SCHEMES:
            dst = _without_userinfo(dst)  # davix sends it as the Destination header
        if overwrite:
            self._stat(src_url)  # a missing source must not cost the target
            self._remove_target(dst_url)
        elif self.exists(dst_url):
            raise DestinationExistsError(
                f"cannot rename to {redact_url(dst_url)}: it exists and overwrite is not set",
                url=redact_url(dst_url),
                hint="remove it, or rename with overwrite=True",
            )
        try:
            self._call(lambda ctx: ctx.rename(src, dst), src_url, "cannot rename", writing=True)
        except StorageError as exc:
            exists = partial(self.exists, src_url)
            raise rename_error(exc, src_url, dst_url, source_exists=exists) from exc.__cause__

    def _remove_target(self, url: str) -> None:
        """Remove the file ``url`` before a rename over it (nothing when it is absent)."""
        try:
            info = self._stat(url)
        except SourceNotFoundError:
            return
        if stat.S_ISDIR(int(info.st_mode)):
            raise StorageError(
                f"cannot rename to {redact_url(url)}: a folder is in the way (it is not removed)",
                url=redact_url(url),
            )
        with contextlib.suppress(SourceNotFoundError):
            self.remove(url)

    def remove(self, url: str) -> None:
        """gfal2 ``unlink`` of the file ``url`` (on WebDAV a ``DELETE``, which would take a
        collection with all it holds: callers pass file names only).

        Raises:
            SourceNotFoundError: ENOENT.
            DestinationNotAccessibleError: EACCES/EPERM.
            StorageUnavailableError: Any other failure (a folder on file://: EISDIR).
        """
        target = gfal_url(url)
        self._call(lambda ctx: ctx.unlink(target), url, "cannot remove", writing=False)
