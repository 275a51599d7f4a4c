"""Download a token's input data (its ``srm.txt`` attachment) into the job's ``Input/`` folder.

::

    srm.txt ──parse──▶ links (line, transfer URL, locality URL, file name)
            ──locality check (all files, before any copy)── NEARLINE → 22, LOST/UNAVAILABLE → 27
            ──copy, ``parallel`` at once, retries with backoff, adler32 check── → 21 / 24
            ──extract *.tar, *.tar.gz, *.tgz into Input/ (safe_extract), delete the tar──

Codes (the :class:`~grid_lrt.launcher.failure.TokenFailure` raised):

* 20 ``NO_DOWNLOAD_FILE``: no ``srm.txt``, no link in it, or a line that is not a link.
* 13 ``TRANSFER_TOOL_MISSING``: no adapter on this worker handles a link's scheme.
* 21 ``DOWNLOAD_FAILED``: a source is missing, access is refused, or a transient error
  (timeouts, 5xx) persists through all ``attempts``.
* 22 ``DATA_NOT_STAGED``: files are only on tape (NEARLINE); stage them and reset the token.
* 24 ``CHECKSUM_MISMATCH``: the copy's adler32 differs from the storage's, twice.
* 26 ``SANDBOX_UNSAFE``: an input archive holds absolute paths, ``..`` or links leaving
  ``Input/``. It is the one code that means "archive refused for unsafe members", and it is
  not retryable, which is right: the same archive is refused again. (21 would retry in vain.)
* 27 ``DATA_LOST``: the storage reports files LOST or UNAVAILABLE.
* 96 ``FILES_INCOMPLETE``: an input archive cannot be read (truncated or corrupt): the
  documented meaning "files not downloaded fully" fits, and a new attempt may fetch it whole.
  (An OS error while extracting, such as a full disk, is 21.)

SURLs (``srm://`` of an LTA site) are turned into the transfer protocol asked for with
:mod:`grid_lrt.shared.surl`: ``auto`` copies over GridFTP (``gsiftp://``, what GRID_LRT's
``download.sh`` did with ``globus-url-copy``), ``https`` uses the site's download service,
``srm`` the full SRM form (``srm://host:8443/srm/managerv2?SFN=/path``). The tape state is
always asked with the SRM form, because GridFTP and the https download service cannot tell it.
Other links (``file://``, ``https://``, ``davs://``, ``gsiftp://`` of other hosts,
``mock://``) are used as written.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar
from urllib.parse import unquote, urlsplit

from grid_lrt.launcher.checksums import adler32_file, same_checksum
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.storage.base import (
    ChecksumMismatchError,
    DestinationNotAccessibleError,
    FileOnTapeError,
    SourceNotFoundError,
    Storage,
    StorageError,
    UnsupportedSchemeError,
)
from grid_lrt.launcher.unpack import ArchiveError, UnsafeArchiveError, safe_extract
from grid_lrt.shared import surl
from grid_lrt.shared.errors import ErrorCode, UsageError
from grid_lrt.shared.locality import Locality
from grid_lrt.shared.redact import redact, redact_url
from grid_lrt.shared.retry import Backoff, retrying

__all__ = ["ARCHIVE_SUFFIXES", "PROTOCOLS", "InputLink", "fetch_inputs", "parse_links"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Transfer protocols for SURLs (see the module docstring).
PROTOCOLS = ("auto", "https", "srm")
#: Downloaded files with these name endings are extracted into ``Input/`` and deleted.
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
#: How many files a "not staged"/"lost" message names.
_SHOW = 3
_FINAL: Tuple[Tuple[Type[StorageError], ErrorCode], ...] = (  # errors not worth a retry
    (SourceNotFoundError, ErrorCode.DOWNLOAD_FAILED),
    (FileOnTapeError, ErrorCode.DATA_NOT_STAGED),
    (UnsupportedSchemeError, ErrorCode.TRANSFER_TOOL_MISSING),
    (DestinationNotAccessibleError, ErrorCode.DOWNLOAD_FAILED),
)
_STAGE_HINT = (
    "stage the data first (lrt stage submit / wait), then reset the token to todo "
    "(lrt tokens reset TYPE)"
)


@dataclass(frozen=True)
class InputLink:
    """One line of ``srm.txt``, ready to copy.

    Attributes:
        line: Line number in ``srm.txt`` (1-based).
        link: The link as written (stripped; SURLs normalised).
        url: The URL to copy from.
        locality_url: The URL to ask for the tape state.
        name: The local file name (basename of the link's path).
    """

    line: int
    link: str
    url: str
    locality_url: str
    name: str


def _fail20(line: int, text: str, why: str, hint: str = "") -> TokenFailure:
    return TokenFailure(
        ErrorCode.NO_DOWNLOAD_FILE, f"srm.txt line {line}: {text!r} {why}", hint=hint
    )


def _basename(path: str) -> str:
    """The file name at the end of ``path`` ("" for a folder path ending in ``/``)."""
    return unquote(path.rsplit("/", 1)[-1])


def _parse_line(number: int, text: str, protocol: str, door: Optional[str] = None) -> InputLink:
    """Turn one non-empty, non-comment line into an :class:`InputLink`."""
    if any(c.isspace() for c in text):
        raise _fail20(number, text, "holds spaces: write one link per line")
    if surl.is_surl(text) and surl.find_site(text) is not None:
        link = surl.normalise(text)
        try:
            path = surl.path_of(link)
            srm_form = surl.to_gfal(link)
            if door:
                srm_form = url = door.rstrip("/") + path
            elif protocol == "https":
                url = surl.to_https(link)
            elif protocol == "srm":
                url = srm_form
            else:
                url = surl.to_gsiftp(link)
        except surl.SurlError as exc:
            raise _fail20(number, text, f"cannot be converted: {exc.message}", exc.hint) from exc
        return InputLink(number, link, url, srm_form, _basename(path))
    parts = urlsplit(text)
    if "://" not in text or not parts.scheme:
        raise _fail20(
            number,
            redact_url(text),
            "is not a URL",
            "write srm://..., gsiftp://..., https://..., davs://... or file:///abs/path",
        )
    name = _basename(parts.path)
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise _fail20(number, redact_url(text), "does not name a file")
    return InputLink(number, text, text, text, name)


def parse_links(
    srm_text: Optional[str], *, protocol: str = "auto", door: Optional[str] = None
) -> List[InputLink]:
    """Read ``srm.txt``: one link per line; blank lines and ``#`` comments are ignored.

    Args:
        srm_text: The attachment's text, or None when the token has none.
        protocol: ``auto``, ``https`` or ``srm`` (how SURLs are copied).
        door: A URL prefix that replaces every SURL's site (``door + /pnfs/...``), for
            both the copy and the tape state: a local mirror, a test archive or the demo.

    Raises:
        TokenFailure: ``NO_DOWNLOAD_FILE`` (20) when there is no file, no link, a line that is
            not a link, or two links that would land in the same local file.
        UsageError: ``protocol`` is not one of :data:`PROTOCOLS`.
    """
    if protocol not in PROTOCOLS:
        raise UsageError(
            f"unknown transfer protocol {protocol!r}", hint=f"use one of {', '.join(PROTOCOLS)}"
        )
    if srm_text is None:
        raise TokenFailure(
            ErrorCode.NO_DOWNLOAD_FILE,
            "the token has no srm.txt attachment listing its input data",
            hint="attach the list of input links as srm.txt (lrt tokens create --srm-file)",
        )
    links: List[InputLink] = []
    seen: Dict[str, int] = {}
    for number, raw in enumerate(srm_text.splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        link = _parse_line(number, text, protocol, door)
        if link.name in seen:
            raise _fail20(
                number,
                redact_url(text),
                f"downloads to {link.name!r}, like line {seen[link.name]}",
                "each input must have its own file name",
            )
        seen[link.name] = number
        links.append(link)
    if not links:
        raise TokenFailure(
            ErrorCode.NO_DOWNLOAD_FILE,
            "srm.txt is empty: it lists no input link",
            hint="put one link per line in srm.txt",
        )
    return links


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def _names(links: Sequence[InputLink]) -> str:
    shown = ", ".join(redact_url(link.link) for link in links[:_SHOW])
    more = len(links) - _SHOW
    return shown + (f" and {more} more" if more > 0 else "")


class _Fetcher:
    """One ``fetch_inputs`` call: the shared state of its worker threads."""

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
                hint = _STAGE_HINT if final is ErrorCode.DATA_NOT_STAGED else exc.hint
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
            _human(size),
            time.monotonic() - started,
            _human(total_bytes),
        )
        return dest


def _run_all(
    pool: ThreadPoolExecutor,
    fetcher: _Fetcher,
    work: Callable[[InputLink], _T],
    links: List[InputLink],
) -> List[_T]:
    """Run ``work`` over ``links`` in ``pool``; on the first failure, cancel the rest, raise it."""
    futures: List[Future[_T]] = [pool.submit(work, link) for link in links]
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    failed = next((f for f in futures if f in done and f.exception() is not None), None)
    if failed is not None:
        fetcher.stop.set()
        for future in futures:
            future.cancel()
        wait(futures)
        exc = failed.exception()
        if exc is not None:
            raise exc
    return [f.result() for f in futures]


def _check_localities(links: List[InputLink], states: Sequence[Optional[str]]) -> None:
    """Refuse gone files (27), then tape-only ones (22); an unknown word is only logged."""
    known = [Locality.of(state) for state in states]
    gone = [link for link, where in zip(links, known) if where is not None and where.gone]
    if gone:
        raise TokenFailure(
            ErrorCode.DATA_LOST,
            f"{len(gone)} of {len(links)} input files are lost or unavailable at the storage: "
            f"{_names(gone)}",
            hint="ask the archive's helpdesk; the token cannot succeed until the data is back",
        )
    on_tape = [
        link for link, where in zip(links, known) if where is not None and where.only_on_tape
    ]
    if on_tape:
        raise TokenFailure(
            ErrorCode.DATA_NOT_STAGED,
            f"{len(on_tape)} of {len(links)} input files are only on tape (NEARLINE): "
            f"{_names(on_tape)}",
            hint=_STAGE_HINT,
        )
    for link, state, where in zip(links, states, known):
        if state is not None and (where is None or not where.on_disk):
            log.warning("input %s has tape state %s; trying to copy it", link.name, state)


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _extract(paths: List[Path], input_dir: Path) -> List[Path]:
    """Extract the archives among ``paths`` into ``input_dir`` (deleting them)."""
    result: List[Path] = []
    for path in paths:
        if not _is_archive(path):
            result.append(path)
            continue
        try:
            members = safe_extract(path, input_dir)
        except UnsafeArchiveError as exc:
            raise TokenFailure(
                ErrorCode.SANDBOX_UNSAFE,
                f"input archive {path.name} refused: {exc.message}",
                hint="the archive holds absolute paths, '..' or links leaving Input/; "
                "repack it with relative member names",
            ) from exc
        except ArchiveError as exc:
            raise TokenFailure(
                ErrorCode.FILES_INCOMPLETE,
                f"input archive {path.name} cannot be read: {exc.message}",
                hint="the file may be truncated or damaged; reset the token to try again",
            ) from exc
        except OSError as exc:
            raise TokenFailure(
                ErrorCode.DOWNLOAD_FAILED,
                f"cannot extract input archive {path.name}: {exc}",
                hint="check the free space in the job folder",
            ) from exc
        path.unlink()
        log.info("extracted %s: %d members", path.name, len(members))
        result.extend(members)
    return result


def fetch_inputs(
    srm_text: Optional[str],
    input_dir: Path,
    *,
    storage_for: Callable[[str], Storage],
    parallel: int = 4,
    attempts: int = 3,
    backoff: float = 2.0,
    protocol: str = "auto",
    door: Optional[str] = None,
    on_status: Callable[[str], None] = lambda status: None,
    sleep: Callable[[float], None] = time.sleep,
) -> List[Path]:
    """Download every input listed in ``srm_text`` into ``input_dir`` and extract the tars.

    Args:
        srm_text: The token's ``srm.txt`` attachment, None when the token has none.
        input_dir: The job's ``Input/`` folder (created if missing).
        storage_for: Returns the storage adapter for a URL (by scheme).
        parallel: How many files are copied at once.
        attempts: Tries per file for transient errors (timeouts, 5xx, busy server).
        backoff: Seconds before the second try; doubled for each further one.
        protocol: How SURLs are copied: ``auto`` (gsiftp), ``https`` or ``srm``.
        door: URL prefix replacing the site of every SURL (see :func:`parse_links`).
        on_status: Called with ``"downloading"`` before the copies and ``"extracting"``
            before the archives are unpacked (the run loop records it in the token).
        sleep: Waits between tries (tests pass a no-op).

    Returns:
        What is now in ``input_dir``, in ``srm.txt`` order: each downloaded file, or for an
        archive the paths it held (folders, files, links; see ``safe_extract``).

    Raises:
        TokenFailure: With the codes listed in the module docstring. A failing file cancels
            the copies not yet started; copies under way finish their current try.
        UsageError: ``protocol`` is unknown.
    """
    links = parse_links(srm_text, protocol=protocol, door=door)
    input_dir.mkdir(parents=True, exist_ok=True)
    fetcher = _Fetcher(
        input_dir, storage_for, attempts=attempts, backoff=backoff, sleep=sleep, total=len(links)
    )
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="input") as pool:
        states = _run_all(pool, fetcher, fetcher.locality, links)
        _check_localities(links, states)
        on_status("downloading")
        log.info("downloading %d input files, %d at once", len(links), max(1, parallel))
        paths = _run_all(pool, fetcher, fetcher.fetch, links)
    log.info(
        "downloaded %d input files, %s in %.1f s",
        len(paths),
        _human(fetcher.bytes),
        time.monotonic() - started,
    )
    if any(_is_archive(p) for p in paths):
        on_status("extracting")
    return _extract(paths, input_dir)
