"""Uploading one result file: retries, verification, one more upload on a mismatch.

:class:`Uploader` is what one ``upload_results`` call uses for every file it sends:

* ``storage.upload`` is retried for transient errors (timeouts, 5xx, pools full) with
  :func:`grid_lrt.shared.retry.retrying`: ``attempts`` tries in all, pauses ``backoff``,
  ``2 * backoff``, ... A try that timed out may have stored the file after all: when a later
  try finds the target existing and equal to the local file, that is success.
* Then the storage's adler32 of the target must equal the local file's (the size where the
  storage reports no checksum); a mismatch is uploaded once more with overwrite, then fails
  (35).
* ``storage.rename`` (moving an uploaded temporary to its final name, :mod:`.upload_commit`)
  is retried the same way; :meth:`Uploader.same` compares a stored file with a local one and
  :meth:`Uploader.remove` deletes a temporary, best effort.

An existing target (``DestinationExistsError``) is handed to the caller as it is: whether it
is a failure (33) or an earlier attempt's result depends on the token.

Storage errors become the codes of :mod:`.upload` by :func:`upload_failure`.
"""

from __future__ import annotations

import logging
import math
import re
import time
from pathlib import Path, PurePosixPath
from typing import Callable, Tuple, Type
from urllib.parse import urlsplit

from grid_lrt.launcher.checksums import adler32_file, same_checksum
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    NoSpaceError,
    ParentMissingError,
    RenameUnsupportedError,
    SourceNotFoundError,
    Storage,
    StorageError,
    UnsupportedSchemeError,
)
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.redact import redact, redact_url
from grid_lrt.shared.retry import Backoff, retrying

__all__ = ["Uploader", "upload_failure"]

#: The logger of :mod:`.upload`: the log lines name it, as before the split.
log = logging.getLogger("grid_lrt.launcher.upload")

_POOLS_FULL = re.compile(
    r"all pools are full|HTTP 507|insufficient storage|no space left", re.IGNORECASE
)


def upload_failure(exc: StorageError, what: str) -> TokenFailure:
    """The TokenFailure for a storage error of an upload step.

    Besides the exception class, the message is searched for the "pools full" answers of
    storages (GridFTP ``451 All pools are full``, HTTP ``507 Insufficient Storage``) that a
    library reports with an unrelated errno, as GRID_LRT's ``upload_error_wrapper`` did.
    """
    if isinstance(exc, ParentMissingError):
        code = ErrorCode.UPLOAD_NO_PARENT
    elif isinstance(exc, NoSpaceError) or _POOLS_FULL.search(exc.message):
        code = ErrorCode.UPLOAD_POOLS_FULL
    elif isinstance(exc, DestinationExistsError):
        code = ErrorCode.UPLOAD_EXISTS
    elif isinstance(exc, UnsupportedSchemeError):
        code = ErrorCode.TRANSFER_TOOL_MISSING
    else:
        code = ErrorCode.UPLOAD_FAILED
    return TokenFailure(code, f"{what}: {redact(exc.message)}", hint=exc.hint)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, StorageError) and exc.transient


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, StorageError) else str(exc)


class Uploader:
    """Uploads with retries and verification for one ``upload_results`` call."""

    def __init__(
        self,
        storage_for: Callable[[str], Storage],
        *,
        attempts: int,
        backoff: float,
        sleep: Callable[[float], None],
    ) -> None:
        self._storage_for = storage_for
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.sleep = sleep
        self.files = 0
        self.bytes = 0

    def storage(self, url: str) -> Storage:
        """The adapter for ``url``; TokenFailure 13 when this worker has none."""
        try:
            return self._storage_for(url)
        except UnsupportedSchemeError as exc:
            raise upload_failure(exc, f"cannot upload to {redact_url(url)}") from exc

    def require_folder(self, storage: Storage, url: str, what: str) -> None:
        """TokenFailure 34 unless the folder ``url`` exists."""
        try:
            found = storage.exists(url)
        except StorageError as exc:
            raise upload_failure(exc, f"cannot check {what} {redact_url(url)}") from exc
        if not found:
            raise TokenFailure(
                ErrorCode.UPLOAD_NO_PARENT,
                f"{what} {redact_url(url)} does not exist",
                hint="create it first (e.g. gfal-mkdir -p URL) or fix the token",
            )

    def makedirs(self, storage: Storage, url: str) -> None:
        try:
            storage.makedirs(url)
        except StorageError as exc:
            raise upload_failure(exc, f"cannot create folder {redact_url(url)}") from exc

    def _mismatch(self, storage: Storage, src: Path, url: str) -> str:
        """Why the uploaded ``url`` differs from ``src`` ("" when it matches or cannot tell)."""
        try:
            remote = storage.checksum(url, "adler32")
        except StorageError as exc:
            log.warning("cannot ask the checksum of %s: %s", redact_url(url), redact(exc.message))
            remote = None
        if remote:
            local = adler32_file(src)
            if same_checksum(remote, local):
                log.debug("adler32 %s verified for %s", local, redact_url(url))
                return ""
            return f"the storage reports adler32 {remote}, the local file has {local}"
        try:
            size = storage.size(url)
        except StorageError as exc:
            log.warning("cannot verify %s: %s", redact_url(url), redact(exc.message))
            return ""
        local_size = src.stat().st_size
        return "" if size == local_size else f"the storage has {size} bytes, not {local_size}"

    def _retried(
        self,
        fn: Callable[[int], None],
        what: str,
        *,
        name: str,
        raw: Tuple[Type[StorageError], ...] = (),
    ) -> None:
        """``fn(try_number)`` with retries of transient storage errors.

        Args:
            fn: One try; it is given the number of the try (1, 2, ...).
            what: The failure message's start ("cannot upload summary.txt").
            name: The file's name in the retry log lines.
            raw: Storage errors the caller handles itself: raised as they are.

        Raises:
            StorageError: One of ``raw``.
            TokenFailure: Any other storage error, as :func:`upload_failure` maps it.
        """
        tries = 0

        def once() -> None:
            nonlocal tries
            tries += 1
            fn(tries)

        def note(exc: BaseException, failed: int, pause: float) -> None:
            log.warning(
                "upload of %s failed (%s); attempt %d of %d in %.1f s",
                name,
                redact(_message(exc)),
                failed + 1,
                self.attempts,
                pause,
            )

        try:
            retrying(
                once,
                retry_on=StorageError,
                when=_transient,
                attempts=self.attempts,
                backoff=Backoff(self.backoff, 2.0, math.inf),
                on_retry=note,
                sleep=self.sleep,
            )
        except raw:
            raise
        except (DestinationExistsError, ParentMissingError, UnsupportedSchemeError) as exc:
            raise upload_failure(exc, what) from exc
        except StorageError as exc:
            raise upload_failure(exc, f"{what} (attempt {tries} of {self.attempts})") from exc

    def _put(self, storage: Storage, src: Path, url: str, *, overwrite: bool) -> None:
        """``storage.upload`` with retries of transient errors.

        Raises:
            DestinationExistsError: ``url`` exists and not ``overwrite`` (the caller decides).
            TokenFailure: Any other storage error, as :func:`upload_failure` maps it.
        """

        def once(tries: int) -> None:
            try:
                storage.upload(src, url, overwrite=overwrite)
            except DestinationExistsError:
                # A try that timed out may have stored the file after all: that is success.
                if tries > 1 and not self._mismatch(storage, src, url):
                    log.info("%s arrived during an earlier try", redact_url(url))
                    return
                raise

        what = f"cannot upload {src.name}"
        self._retried(once, what, name=src.name, raw=(DestinationExistsError,))

    def rename(self, storage: Storage, src_url: str, dst_url: str, *, overwrite: bool) -> None:
        """``storage.rename`` with retries of transient errors.

        Raises:
            DestinationExistsError: ``dst_url`` exists and not ``overwrite``.
            SourceNotFoundError: ``src_url`` is gone (a retried rename may have gone through).
            RenameUnsupportedError: The storage cannot rename.
            TokenFailure: Any other storage error, as :func:`upload_failure` maps it.
        """
        name = PurePosixPath(urlsplit(dst_url).path).name or dst_url

        def once(tries: int) -> None:
            del tries
            storage.rename(src_url, dst_url, overwrite=overwrite)

        self._retried(
            once,
            f"cannot move the uploaded {name} to {redact_url(dst_url)}",
            name=name,
            raw=(DestinationExistsError, SourceNotFoundError, RenameUnsupportedError),
        )

    def remove(self, storage: Storage, url: str) -> None:
        """Delete ``url``, best effort: a failure is logged, never raised."""
        try:
            storage.remove(url)
        except SourceNotFoundError:
            pass
        except StorageError as exc:
            log.warning("could not remove %s: %s", redact_url(url), redact(exc.message))

    def same(self, storage: Storage, src: Path, url: str) -> bool:
        """True when ``url`` holds what ``src`` holds: the same adler32, or the same size where
        the storage reports no checksum. False when ``url`` does not exist.

        Raises:
            TokenFailure: The storage cannot be asked (31, or as :func:`upload_failure` maps it).
        """
        try:
            remote = storage.checksum(url, "adler32")
            if remote:
                return same_checksum(remote, adler32_file(src))
            return storage.size(url) == src.stat().st_size
        except SourceNotFoundError:
            return False
        except StorageError as exc:
            raise upload_failure(exc, f"cannot compare {redact_url(url)} with {src.name}") from exc

    def upload(
        self, storage: Storage, src: Path, url: str, *, overwrite: bool, count: bool = True
    ) -> None:
        """Upload ``src`` to ``url`` and verify it (one more upload on a mismatch).

        ``count``: add the file to :attr:`files`/:attr:`bytes` (not for a second upload of a
        file already counted).

        Raises:
            DestinationExistsError: ``url`` exists and not ``overwrite`` (the caller decides).
            TokenFailure: 31, 32, 34, 35 or 13 (:func:`upload_failure`, the verification).
        """
        started = time.monotonic()
        self._put(storage, src, url, overwrite=overwrite)
        why = self._mismatch(storage, src, url)
        if why:
            log.warning("%s differs from %s (%s); uploading it again", redact_url(url), src, why)
            self._put(storage, src, url, overwrite=True)
            why = self._mismatch(storage, src, url)
            if why:
                raise TokenFailure(
                    ErrorCode.UPLOAD_CHECKSUM_MISMATCH,
                    f"uploaded {redact_url(url)} differs from {src.name} after two uploads: {why}",
                    hint="the storage may be damaging files; try another location",
                )
        size = src.stat().st_size
        if count:
            self.files += 1
            self.bytes += size
        log.info(
            "uploaded %s to %s (%d bytes in %.1f s)",
            src.name,
            redact_url(url),
            size,
            time.monotonic() - started,
        )
