"""Download a token's input data (its ``srm.txt`` attachment) into the job's ``Input/`` folder.

::

    srm.txt ──parse──▶ links (line, transfer URL, locality URL, file name)   inputs_links
            ──locality check (all files, before any copy)── NEARLINE → 22, LOST/UNAVAILABLE → 27
            ──copy, ``parallel`` at once, retries with backoff, adler32 check── → 21 / 24
                                                                              inputs_copy
            ──extract *.tar, *.tar.gz, *.tgz into Input/ (safe_extract), delete the tar──

The copies run on daemon threads (:mod:`.inputs_threads`): a SIGTERM/SIGINT while they run
(:class:`~.signals.Interrupted` in the calling thread) starts no further copy and returns at
once, abandoning the copies under way; the run loop puts the token back to todo.

Input archives are extracted with the launcher's limits (``limits``) and one
:class:`~.unpack.LinkLedger` for the job: the links already in the job folder (``job_root``,
by default the folder that holds ``Input/``: the sandbox's) and those of every archive are
resolved again after each archive, so no archive can turn another's link outwards.

Codes (the :class:`~grid_lrt.launcher.failure.TokenFailure` raised):

* 20 ``NO_DOWNLOAD_FILE``: no ``srm.txt``, no link in it, or a line that is not a link.
* 13 ``TRANSFER_TOOL_MISSING``: no adapter on this worker handles a link's scheme.
* 21 ``DOWNLOAD_FAILED``: a source is missing, access is refused, or a transient error
  (timeouts, 5xx) persists through all ``attempts``. Also: the macaroon for a link's door
  (``macaroon=`` in the credentials file, :mod:`.storage.bearer`) has expired, found before
  any request, or the door refused it (401/403); the hint says how to get fresh ones.
* 22 ``DATA_NOT_STAGED``: files are only on tape (NEARLINE); stage them and reset the token.
* 24 ``CHECKSUM_MISMATCH``: the copy's adler32 differs from the storage's, twice.
* 26 ``SANDBOX_UNSAFE``: an input archive holds absolute paths, ``..`` or links leaving
  ``Input/`` (or turning a link of the job outwards), or passes the extraction limits. It is
  the one code that means "archive refused", and it is not retryable, which is right: the same
  archive is refused again. (21 would retry in vain.)
* 27 ``DATA_LOST``: the storage reports files LOST or UNAVAILABLE.
* 96 ``FILES_INCOMPLETE``: an input archive cannot be read (truncated or corrupt): the
  documented meaning "files not downloaded fully" fits, and a new attempt may fetch it whole.
  (An OS error while extracting, such as a full disk, is 21, retryable.)

The tape states are the words of :class:`~grid_lrt.shared.locality.Locality`. How SURLs are
turned into transfer and tape-state URLs: :mod:`.inputs_links`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.inputs_copy import STAGE_HINT, InputFetcher, human_size
from grid_lrt.launcher.inputs_links import PROTOCOLS, InputLink, parse_links
from grid_lrt.launcher.inputs_threads import run_parallel
from grid_lrt.launcher.storage.base import Storage
from grid_lrt.launcher.storage.bearer import MacaroonExpiredError, fresh_macaroon
from grid_lrt.launcher.unpack import (
    DEFAULT_LIMITS,
    ArchiveError,
    ArchiveLimitError,
    LinkLedger,
    UnpackLimits,
    UnsafeArchiveError,
    safe_extract,
)
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.locality import Locality
from grid_lrt.shared.redact import redact_url

__all__ = ["ARCHIVE_SUFFIXES", "PROTOCOLS", "InputLink", "fetch_inputs", "parse_links"]

log = logging.getLogger(__name__)

#: Downloaded files with these name endings are extracted into ``Input/`` and deleted.
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
#: How many files a "not staged"/"lost" message names.
_SHOW = 3


def _names(links: Sequence[InputLink]) -> str:
    shown = ", ".join(redact_url(link.link) for link in links[:_SHOW])
    more = len(links) - _SHOW
    return shown + (f" and {more} more" if more > 0 else "")


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
            hint=STAGE_HINT,
        )
    for link, state, where in zip(links, states, known):
        if state is not None and (where is None or not where.on_disk):
            log.warning("input %s has tape state %s; trying to copy it", link.name, state)


def _check_macaroons(links: Sequence[InputLink]) -> None:
    """Refuse (21) before any request when the macaroon for a link's door has expired."""
    for link in links:
        for url in (link.url, link.locality_url):
            try:
                fresh_macaroon(url)
            except MacaroonExpiredError as exc:
                raise TokenFailure(
                    ErrorCode.DOWNLOAD_FAILED,
                    f"cannot download {redact_url(link.link)} (srm.txt line {link.line}): "
                    f"{exc.message}",
                    hint=exc.hint,
                ) from exc


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _extract(
    paths: List[Path], input_dir: Path, job_root: Path, limits: UnpackLimits
) -> List[Path]:
    """Extract the archives among ``paths`` into ``input_dir`` (deleting them)."""
    result: List[Path] = []
    links = LinkLedger()
    for path in paths:
        if not _is_archive(path):
            result.append(path)
            continue
        try:
            links.seed(job_root)  # once: the links the job had before its inputs
            members = safe_extract(path, input_dir, limits=limits, links=links)
        except UnsafeArchiveError as exc:
            raise TokenFailure(
                ErrorCode.SANDBOX_UNSAFE,
                f"input archive {path.name} refused: {exc.message}",
                hint="the archive holds absolute paths, '..' or links leaving Input/; "
                "repack it with relative member names",
            ) from exc
        except ArchiveLimitError as exc:
            raise TokenFailure(
                ErrorCode.SANDBOX_UNSAFE,
                f"input archive {path.name} refused: {exc.message}",
                hint=exc.hint,
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
    limits: UnpackLimits = DEFAULT_LIMITS,
    job_root: Optional[Path] = None,
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
        limits: How much each archive may unpack to (the launcher's ``unpack_limits``).
        job_root: The job folder whose links are checked again after each archive
            (default: the folder holding ``input_dir``).

    Returns:
        What is now in ``input_dir``, in ``srm.txt`` order: each downloaded file, or for an
        archive the paths it held (folders, files, links; see ``safe_extract``).

    Raises:
        TokenFailure: With the codes listed in the module docstring. A failing file cancels
            the copies not yet started; copies under way finish their current try.
        Interrupted: SIGTERM/SIGINT (see :class:`~.signals.StopSignals`): raised at once;
            no copy starts after it and the copies under way are abandoned.
        UsageError: ``protocol`` is unknown.
    """
    links = parse_links(srm_text, protocol=protocol, door=door)
    _check_macaroons(links)
    input_dir.mkdir(parents=True, exist_ok=True)
    fetcher = InputFetcher(
        input_dir, storage_for, attempts=attempts, backoff=backoff, sleep=sleep, total=len(links)
    )
    started = time.monotonic()
    width = max(1, parallel)
    states = run_parallel(fetcher.locality, links, parallel=width, stop=fetcher.stop, name="input")
    _check_localities(links, states)
    on_status("downloading")
    log.info("downloading %d input files, %d at once", len(links), width)
    paths = run_parallel(fetcher.fetch, links, parallel=width, stop=fetcher.stop, name="input")
    log.info(
        "downloaded %d input files, %s in %.1f s",
        len(paths),
        human_size(fetcher.bytes),
        time.monotonic() - started,
    )
    if any(_is_archive(p) for p in paths):
        on_status("extracting")
    return _extract(paths, input_dir, job_root or input_dir.parent, limits)
