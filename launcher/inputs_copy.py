"""Copying one input file: the adapter for its scheme, its tape state, retries, verification.

:class:`InputFetcher` holds what the worker threads of one ``fetch_inputs`` call share (the
adapters by scheme, the stop flag a failing file sets, the counters for the log). Per file:

* :meth:`~InputFetcher.locality`: the storage's word for where the file is (None when it
  cannot tell; a missing file is 21 at once);
* :meth:`~InputFetcher.fetch`: ``download``, then the storage's adler32 (or size) compared
  with the copy. Transient errors (timeouts, 5xx) are retried with
  :func:`grid_lrt.shared.retry.retrying`, ``attempts`` tries in all, pauses ``backoff``,
  ``2 * backoff``, ... that end early once another file failed. A checksum mismatch is copied
  once more at once (not a try), a second one is 24. Missing sources, no access and files
  only on tape are final.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple, Type
from urllib.parse import urlsplit

from grid_lrt.launcher.checksums import adler32_file, same_checksum
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.inputs_links import InputLink
from grid_lrt.launcher.storage.base import (
    ChecksumMismatchError,
    DestinationNotAccessibleError,
    FileOnTapeError,
    SourceNotFoundError,
    Storage,
    StorageError,
    UnsupportedSchemeError,
)
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.redact import redact, redact_url
from grid_lrt.shared.retry import Backoff, retrying

__all__ = ["STAGE_HINT", "InputFetcher", "human_size"]

#: The logger of :mod:`.inputs`: the log lines name it, as before the split.
log = logging.getLogger("grid_lrt.launcher.inputs")

_FINAL: Tuple[Tuple[Type[StorageError], ErrorCode], ...] = (  # errors not worth a retry
    (SourceNotFoundError, ErrorCode.DOWNLOAD_FAILED),
    (FileOnTapeError, ErrorCode.DATA_NOT_STAGED),
    (UnsupportedSchemeError, ErrorCode.TRANSFER_TOOL_MISSING),
    (DestinationNotAccessibleError, ErrorCode.DOWNLOAD_FAILED),
)
STAGE_HINT = (
    "stage the data first (lrt stage submit / wait), then reset the token to todo "
    "(lrt tokens reset TYPE)"
)


def human_size(size: float) -> str:
    """``size`` bytes for a person: ``512 B``, ``1.5 MiB``, ``2.0 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


class InputFetcher:
    """One ``fetch_inputs`` call: the shared state of its worker threads (module docstring)."""

    def __init__(
        self,
        input_dir: Path,
        storage_for: Callable[[str], Storage],
        *,
        attempts: int,
        backoff: float,
        sleep: Callable[[float], None],
        total: int,
    ) -> None:
        self.input_dir = input_dir
        self._storage_for = storage_for
        self._storages: Dict[str, Storage] = {}
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._sleep = sleep
        self.total = total
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.done = 0
        self.bytes = 0

    # ---- helpers -------------------------------------------------------------------------------

    def storage(self, url: str) -> Storage:
        """The adapter for ``url`` (one per scheme), or TokenFailure 13."""
        scheme = urlsplit(url).scheme.lower()
        with self._lock:
            found = self._storages.get(scheme)
        if found is not None:
            return found
        try:
            found = self._storage_for(url)
        except UnsupportedSchemeError as exc:
            raise TokenFailure(
                ErrorCode.TRANSFER_TOOL_MISSING,
                f"cannot download {redact_url(url)}: {exc.message}",
                hint=exc.hint or "install the gfal2 Python bindings on the worker",
            ) from exc
        with self._lock:
            return self._storages.setdefault(scheme, found)

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` in short slices, returning early once another file failed."""
        left = seconds
        while left > 0 and not self.stop.is_set():
            step = min(left, 0.5)
            self._sleep(step)
            left -= step

    # ---- locality ------------------------------------------------------------------------------

    def locality(self, link: InputLink) -> Optional[str]:
        """The tape state of ``link``, None when it cannot be told (no error)."""
        try:
            storage = self.storage(link.locality_url)
            state = storage.locality(link.locality_url)
        except (TokenFailure, UnsupportedSchemeError):
            log.debug("no tape state for %s on this worker", redact_url(link.locality_url))
            return None
        except SourceNotFoundError as exc:
            raise TokenFailure(
                ErrorCode.DOWNLOAD_FAILED,
                f"input {redact_url(link.link)} (srm.txt line {link.line}) does not exist: "
                f"{exc.message}",
            ) from exc
        except StorageError as exc:
            log.warning(
                "cannot tell whether %s is on tape (%s); trying to copy it",
                redact_url(link.link),
                redact(exc.message),
            )
            return None
        return state.strip().upper() if state else None

    # ---- copy ----------------------------------------------------------------------------------

    def _verify(self, storage: Storage, link: InputLink, dest: Path) -> None:
        """Compare the copy with the storage's adler32 (or size): ChecksumMismatchError."""
        try:
            expected = storage.checksum(link.url, "adler32")
        except StorageError as exc:
            log.warning("no checksum for %s: %s", redact_url(link.link), redact(exc.message))
            expected = None
        if expected:
            actual = adler32_file(dest)
            if not same_checksum(expected, actual):
                raise ChecksumMismatchError(
                    f"adler32 of {link.name} is {actual}, the storage says {expected}",
                    url=redact_url(link.url),
                    expected=expected,
                    actual=actual,
                )
            log.debug("adler32 %s verified for %s", actual, link.name)
            return
        try:
            size = storage.size(link.url)
        except StorageError:
            return
        local = dest.stat().st_size
        if size != local:
            raise ChecksumMismatchError(
                f"{link.name} has {local} bytes, the storage says {size}",
                url=redact_url(link.url),
                expected=f"{size} bytes",
                actual=f"{local} bytes",
            )

    def _fail(self, code: ErrorCode, link: InputLink, why: str, hint: str = "") -> TokenFailure:
        return TokenFailure(
            code,
            f"cannot download {redact_url(link.link)} (srm.txt line {link.line}): {redact(why)}",
            hint=hint,
        )

    def fetch(self, link: InputLink) -> Path:
        """Copy one file with retries and verification; TokenFailure when it cannot."""
        storage = self.storage(link.url)
        dest = self.input_dir / link.name
        started = time.monotonic()
        tries = 0
        mismatched = False

        def copy() -> None:
            """One try. After the file's first checksum mismatch it is copied again at once:
            a damaged copy, not a failing storage (no pause, not counted as a try)."""
            nonlocal tries, mismatched
            tries += 1
            while True:
                if self.stop.is_set():
                    raise self._fail(ErrorCode.DOWNLOAD_FAILED, link, "cancelled")
                try:
                    storage.download(link.url, dest)
                    self._verify(storage, link, dest)
                    return
                except ChecksumMismatchError as exc:
                    dest.unlink(missing_ok=True)
                    if mismatched:
                        raise self._fail(
                            ErrorCode.CHECKSUM_MISMATCH,
                            link,
                            f"{exc.message} (after a second copy)",
                            "the file at the storage may be damaged; ask the archive to check it",
                        ) from exc
                    mismatched = True
                    log.warning("%s; copying it again", redact(exc.message))

        def note(exc: BaseException, failed: int, pause: float) -> None:
            message = exc.message if isinstance(exc, StorageError) else str(exc)
            log.warning(
                "copy of %s failed (%s); attempt %d of %d in %.1f s",
                link.name,
                redact(message),
                failed + 1,
                self.attempts,
                pause,
            )

        try:
            retrying(
                copy,
                retry_on=StorageError,
                when=lambda exc: isinstance(exc, StorageError) and exc.transient,
                attempts=self.attempts,
                backoff=Backoff(self.backoff, 2.0, math.inf),
                on_retry=note,
                sleep=self.pause,  # returns early once another file failed
            )
        except StorageError as exc:
            final = next((code for cls, code in _FINAL if isinstance(exc, cls)), None)
            if final is not None:
                hint = STAGE_HINT if final is ErrorCode.DATA_NOT_STAGED else exc.hint
                raise self._fail(final, link, exc.message, hint) from exc
            why = f"{exc.message} (attempt {tries} of {self.attempts})"
            raise self._fail(ErrorCode.DOWNLOAD_FAILED, link, why, exc.hint) from exc
        size = dest.stat().st_size
        with self._lock:
            self.done += 1
            self.bytes += size
            done, total_bytes = self.done, self.bytes
        log.info(
            "input %d/%d: %s (%s in %.1f s; %s so far)",
            done,
            self.total,
            link.name,
            human_size(size),
            time.monotonic() - started,
            human_size(total_bytes),
        )
        return dest
