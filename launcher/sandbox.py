"""The sandbox step: download the archive named by the token's ``SBXloc``, verify, extract.

``SBXloc`` may be

* a URL: ``file://``, ``https://``, ``davs://``, ``gsiftp://``, ``srm://``, ``mock://``...
  (whatever :func:`~grid_lrt.launcher.storage.storage_for` has an adapter for here);
* an absolute path (``/data/sandboxes/x.tar``), read as ``file://``;
* a path relative to the launcher's ``sandbox_base`` (``LRT_SANDBOX_BASE``, a URL prefix such
  as ``gsiftp://host/pnfs/.../sandbox``), as GRID_LRT's ``SKSP/prefactor/pref_cal1.tar``.

A token without ``SBXloc`` (or with an empty one) has no sandbox: the pipeline is the token's
``command``; that is no error.

The archive is downloaded to ``<jobdir>/.sandbox/<name>`` and checked; when it can be known
unchanged for the next token (a local file, or a token that names its checksum) the verified
file moves into the launcher's :class:`~grid_lrt.launcher.sandbox_cache.SandboxCache` *before*
it is extracted, and is extracted from there. It is extracted into the job folder with
:func:`~grid_lrt.launcher.unpack.safe_extract` (format by content, the launcher's limits), and
the download is deleted. No member may be called ``.sandbox`` (or lie under it): the download
folder is the launcher's, and an archive that wrote a ``.sandbox/<name>`` of its own used to
replace the verified download, which then went into the cache, so that the next token ran an
unverified ``master.sh`` although its ``SBXchecksum`` was set. ``master.sh`` is made
executable. Failures end the token with:

==========================  ======================================================================
code                        when
==========================  ======================================================================
-2 ``SANDBOX_EMPTY``        the download has 0 bytes
13 ``TRANSFER_TOOL_MISSING`` a grid scheme (gsiftp, srm...) without gfal2 on this worker
25 ``SANDBOX_DOWNLOAD_...`` not found, no access, still on tape, storage down (after retries),
                            relative ``SBXloc`` without a base, no archive / corrupt archive,
                            a full disk (or any file-system error) while saving or extracting
26 ``SANDBOX_UNSAFE``       a member with an absolute path, ``..``, a link leaving the folder,
                            the name ``.sandbox``; an archive over the extraction limits
                            (``LRT_UNPACK_MAX_BYTES``, ``_MEMBERS``, ``_RATIO``)
28 ``SANDBOX_CHECKSUM_...`` ``SBXchecksum`` (``adler32:…``, ``md5:…``, ``sha256:…``) differs
                            from the download, or cannot be read
==========================  ======================================================================
"""

from __future__ import annotations

import contextlib
import logging
import math
import posixpath
import stat
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Optional
from urllib.parse import unquote, urlsplit

from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.redact import redact_url
from grid_lrt.shared.retry import Backoff, retrying

from .checksums import ChecksumFormatError, file_checksum, parse_checksum, same_checksum
from .failure import TokenFailure
from .sandbox_cache import SandboxCache
from .storage import GFAL2_SCHEMES
from .storage.base import Storage, StorageError, UnsupportedSchemeError
from .storage.common import scheme_of
from .unpack import (
    DEFAULT_LIMITS,
    ArchiveError,
    ArchiveLimitError,
    UnpackLimits,
    UnsafeArchiveError,
    safe_extract,
)

__all__ = ["SANDBOX_DIR", "fetch_sandbox", "sandbox_url"]

log = logging.getLogger(__name__)

#: Folder of the job directory that holds the download until it is extracted.
SANDBOX_DIR = ".sandbox"
_FIELD = "SBXloc"
_CHECKSUM_FIELD = "SBXchecksum"


def sandbox_url(location: str, base: Optional[str] = None) -> str:
    """The URL of the sandbox ``location`` (``SBXloc``), relative ones joined to ``base``.

    Raises:
        TokenFailure: 25 for a relative location without a base.
    """
    location = location.strip()
    if "://" in location or location.startswith("file:"):
        return location
    if location.startswith("/"):
        return Path(location).as_uri()
    if not base or not base.strip():
        raise TokenFailure(
            ErrorCode.SANDBOX_DOWNLOAD_FAILED,
            f"{_FIELD} {location!r} is a relative path, but the launcher has no sandbox base",
            hint="give SBXloc as a full URL, or start the launcher with LRT_SANDBOX_BASE "
            "(--sandbox-base) set to the URL it is relative to",
        )
    base = base.strip()
    if "://" not in base and not base.startswith("file:"):
        base = Path(base).absolute().as_uri()
    relative = posixpath.normpath(location)
    if relative.startswith("../") or relative == "..":
        raise TokenFailure(
            ErrorCode.SANDBOX_DOWNLOAD_FAILED,
            f"{_FIELD} {location!r} leaves the sandbox base",
        )
    return base.rstrip("/") + "/" + relative


def _download_name(url: str) -> str:
    name = unquote(posixpath.basename(urlsplit(url).path))
    if not name or name in (".", "..") or "\x00" in name:
        return "sandbox"
    return name


def _storage_failure(exc: StorageError, url: str) -> TokenFailure:
    if isinstance(exc, UnsupportedSchemeError):
        scheme = scheme_of(url)
        code = (
            ErrorCode.TRANSFER_TOOL_MISSING
            if scheme in GFAL2_SCHEMES and scheme != "file"
            else ErrorCode.SANDBOX_DOWNLOAD_FAILED
        )
        return TokenFailure(code, f"cannot download the sandbox: {exc.message}", hint=exc.hint)
    return TokenFailure(
        ErrorCode.SANDBOX_DOWNLOAD_FAILED,
        f"cannot download the sandbox {redact_url(url)}: {exc.message}",
        hint=exc.hint,
    )


def _download(
    storage_for: Callable[[str], Storage],
    url: str,
    dest: Path,
    *,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> None:
    """``storage.download`` with retries of transient errors; TokenFailure when it fails."""
    try:
        storage = storage_for(url)
    except StorageError as exc:
        raise _storage_failure(exc, url) from exc
    attempts = max(1, attempts)

    def note(exc: BaseException, tries: int, pause: float) -> None:
        message = exc.message if isinstance(exc, StorageError) else str(exc)
        log.warning(
            "sandbox download failed (attempt %d of %d), again in %.0f s: %s",
            tries,
            attempts,
            pause,
            message,
        )

    try:
        retrying(
            lambda: storage.download(url, dest),
            retry_on=StorageError,
            when=_transient,
            attempts=attempts,
            backoff=Backoff(backoff, 2.0, math.inf),
            on_retry=note,
            sleep=sleep,
        )
    except StorageError as exc:
        raise _storage_failure(exc, url) from exc


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, StorageError) and exc.transient


def _verify(path: Path, expected: Any, url: str) -> None:
    try:
        algorithm, value = parse_checksum(expected)
    except ChecksumFormatError as exc:
        raise TokenFailure(
            ErrorCode.SANDBOX_CHECKSUM_MISMATCH,
            f"token field {_CHECKSUM_FIELD} cannot be used: {exc.message}",
            hint=exc.hint,
        ) from exc
    actual = file_checksum(path, algorithm)
    if not same_checksum(value, actual, algorithm):
        raise TokenFailure(
            ErrorCode.SANDBOX_CHECKSUM_MISMATCH,
            f"sandbox {redact_url(url)}: {algorithm} is {actual}, the token says {value}",
            hint="the sandbox changed after the token was made, or the download is damaged",
        )
    log.debug("sandbox %s checksum OK", algorithm)


def _extract(archive: Path, jobdir: Path, url: str, limits: UnpackLimits) -> int:
    try:
        return len(safe_extract(archive, jobdir, limits=limits, reserved=(SANDBOX_DIR,)))
    except (UnsafeArchiveError, ArchiveLimitError) as exc:
        raise TokenFailure(
            ErrorCode.SANDBOX_UNSAFE,
            f"sandbox {redact_url(url)} refused: {exc.message}",
            hint=exc.hint,
        ) from exc
    except ArchiveError as exc:
        raise TokenFailure(
            ErrorCode.SANDBOX_DOWNLOAD_FAILED,
            f"sandbox {redact_url(url)}: {exc.message}",
            hint=exc.hint or "SBXloc must name a tar or zip archive",
        ) from exc
    except OSError as exc:
        raise _disk_failure(exc, f"cannot extract the sandbox {redact_url(url)}") from exc


def _disk_failure(exc: OSError, what: str) -> TokenFailure:
    """25 for a file-system error of the job folder (a full disk, no permission)."""
    return TokenFailure(
        ErrorCode.SANDBOX_DOWNLOAD_FAILED,
        f"{what}: {exc.strerror or exc}",
        hint="check the free space and permissions of the launcher's work folder (LRT_WORKDIR)",
    )


def _fetch(
    url: str,
    expected: Any,
    jobdir: Path,
    *,
    storage_for: Callable[[str], Storage],
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
    cache: Optional[SandboxCache],
    key: Any,
    limits: UnpackLimits,
) -> None:
    """Download and check; the verified archive goes to the cache; extract it; delete it."""
    folder = jobdir / SANDBOX_DIR
    archive = folder / _download_name(url)
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _disk_failure(exc, "cannot make the sandbox's download folder") from exc
        started = time.monotonic()
        _download(storage_for, url, archive, attempts=attempts, backoff=backoff, sleep=sleep)
        size = archive.stat().st_size
        if size == 0:
            raise TokenFailure(
                ErrorCode.SANDBOX_EMPTY,
                f"sandbox {redact_url(url)} downloaded but size 0 kB",
                hint="upload the sandbox again; the file at the storage is empty",
            )
        log.info(
            "sandbox %s: %d bytes in %.1f s", redact_url(url), size, time.monotonic() - started
        )
        if expected not in (None, ""):
            _verify(archive, expected, url)
        cached = cache.put(key, archive) if cache is not None else None  # what was verified
        try:
            count = _extract(cached or archive, jobdir, url, limits)
        except TokenFailure:
            if cache is not None:
                cache.discard(key)  # refused: the next token downloads it again
            raise
        log.info("sandbox extracted into %s: %d entries", jobdir, count)
    finally:
        archive.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # something else lives there
            folder.rmdir()


def fetch_sandbox(
    token: Mapping[str, Any],
    jobdir: Path,
    *,
    storage_for: Callable[[str], Storage],
    base: Optional[str] = None,
    attempts: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    cache: Optional[SandboxCache] = None,
    limits: UnpackLimits = DEFAULT_LIMITS,
) -> bool:
    """Download, verify and extract the token's sandbox into ``jobdir``.

    Args:
        token: The token; reads ``SBXloc`` and the optional ``SBXchecksum``.
        jobdir: The job folder (it must exist); the sandbox is extracted into it.
        storage_for: Returns the storage adapter for a URL.
        base: URL prefix of relative ``SBXloc`` values (``LRT_SANDBOX_BASE``).
        attempts: Tries for a download failing with a transient storage error.
        backoff: Seconds before the second try (doubled each time).
        sleep: ``time.sleep``, injectable for tests.
        cache: Archives downloaded for earlier tokens (None: download every time).
        limits: How much the archive may unpack to (the launcher's ``unpack_limits``).

    Returns:
        True when a sandbox was extracted; False when the token names none.

    Raises:
        TokenFailure: -2, 13, 25, 26 or 28, see the module docstring.
    """
    location = token.get(_FIELD)
    if location is None or (isinstance(location, str) and not location.strip()):
        log.info("token %s has no %s: no sandbox", token.get("_id", "?"), _FIELD)
        return False
    if not isinstance(location, str):
        raise TokenFailure(
            ErrorCode.SANDBOX_DOWNLOAD_FAILED,
            f"token field {_FIELD} must be a URL or path, not {type(location).__name__}",
        )
    url = sandbox_url(location, base)
    expected = token.get(_CHECKSUM_FIELD)
    key = cache.key(url, expected) if cache is not None else None
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        log.info("sandbox %s: the copy downloaded for an earlier token", redact_url(url))
        count = _extract(cached, jobdir, url, limits)
        log.info("sandbox extracted into %s: %d entries", jobdir, count)
    else:
        _fetch(
            url,
            expected,
            jobdir,
            storage_for=storage_for,
            attempts=attempts,
            backoff=backoff,
            sleep=sleep,
            cache=cache,
            key=key,
            limits=limits,
        )
    master = jobdir / "master.sh"
    if master.is_file():
        master.chmod(master.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return True
