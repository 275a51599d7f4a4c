"""GRID_LRT's ``state_all``: where are my files (tape, disk, lost)? Seed API, bugs fixed.

``main(filename)`` reads a link file (one link per line; ``srm://``/``gsiftp://`` SURLs of any
of the three LTA sites become their gfal form; ``https://``, ``davs://``, ``mock://`` and
``file://`` URLs pass through unchanged) and reads every file's ``user.status`` concurrently
(:func:`grid_lrt.client.staging.gfal.check_states`). A file whose check fails is reported with
state ``ERROR`` instead of stopping the run; :func:`percent_staged` of an empty list is 0.0.

``verbose=True`` writes one ``name STATE`` line per file to ``stream`` (default stdout), as
GRID_LRT did; library callers pass ``verbose=False``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import List, Optional, Sequence, TextIO, Tuple
from urllib.parse import urlsplit

from grid_lrt.client.compat.srmlist import load_file_into_srmlist
from grid_lrt.client.staging.base import FileState
from grid_lrt.client.staging.errors import SrmFileError
from grid_lrt.client.staging.gfal import check_states
from grid_lrt.client.staging.locality import status_url
from grid_lrt.shared import surl

__all__ = [
    "check_status",
    "gfal_link",
    "load_file_into_srmlist",
    "main",
    "percent_staged",
    "read_links",
]

log = logging.getLogger(__name__)

_GREEN, _RED, _RESET = "\033[32m", "\033[31m", "\033[0m"


def gfal_link(link: str) -> str:
    """The URL gfal2 reads the state from: the gfal form of an LTA SURL (or, with
    ``$LRT_STATUS_DOOR`` set, the door's https URL of it); other URLs unchanged.

    Raises:
        grid_lrt.shared.surl.SurlError: An ``srm://``/``gsiftp://`` link of no known site.
    """
    return status_url(link)


def _filename(url: str) -> str:
    """The file name of a URL (the SFN path for the SRM form; the query is not part of it)."""
    if "?SFN=" in url:
        path = url.split("?SFN=", 1)[1]
    else:
        path = urlsplit(url).path
    return path.rstrip("/").rsplit("/", 1)[-1] or url


def _say(name: str, state: FileState, error: str, stream: Optional[TextIO]) -> None:
    out = stream if stream is not None else sys.stdout
    colour = _GREEN if state.on_disk else _RED
    tail = f"  ({error})" if error else ""
    out.write(f"{name} {colour}{state.value}{_RESET}{tail}\n")


def check_status(
    surl_link: str, verbose: bool = True, *, stream: Optional[TextIO] = None
) -> Tuple[str, str]:
    """Return ``(file name, state)`` of one file from its ``user.status``.

    The state is ONLINE, NEARLINE, ONLINE_AND_NEARLINE, UNAVAILABLE, LOST, or ERROR when the
    check failed (the reason is logged and, with ``verbose``, written).

    Raises:
        grid_lrt.client.staging.gfal.GfalMissingError: No gfal2 bindings.
        grid_lrt.shared.surl.SurlError: An SRM link of no known site.
    """
    url = gfal_link(surl_link)
    _, state, error = check_states([url], workers=1)[0]
    name = _filename(url)
    if error:
        log.warning("%s: %s", name, error)
    if verbose:
        _say(name, state, error, stream)
    return name, state.value


def read_links(filename: str | Path) -> List[str]:
    """Read a link file into gfal URLs (first field of each line; blanks and ``#`` skipped).

    Raises:
        SrmFileError: The file cannot be read, or a SURL line is of no known site (the message
            names the file and the line).
    """
    path = Path(filename)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SrmFileError(f"Cannot read link file {path}: {exc}") from exc
    links: List[str] = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        try:
            links.append(gfal_link(fields[0]))
        except surl.SurlError as exc:
            raise SrmFileError(f"{path}, line {number}: {exc.message}", hint=exc.hint) from exc
    return links


def main(
    filename: str | Path,
    verbose: bool = True,
    *,
    workers: int = 16,
    stream: Optional[TextIO] = None,
    printout: Optional[bool] = None,
) -> List[Tuple[str, str]]:
    """Check every link of ``filename``; return ``[(file name, state), ...]`` in file order.

    Checks run concurrently (at most ``workers`` at a time); a failed check gives state
    ``ERROR`` for that file and the others still run.

    Raises:
        SrmFileError: The file cannot be read or holds a SURL of an unknown site.
        grid_lrt.client.staging.gfal.GfalMissingError: No gfal2 bindings.
    """
    if printout is not None:  # the testbed notebook's name for ``verbose``
        verbose = printout
    urls = read_links(filename)
    results: List[Tuple[str, str]] = []
    for url, state, error in check_states(urls, workers=workers):
        name = _filename(url)
        if error:
            log.warning("%s: %s", name, error)
        if verbose:
            _say(name, state, error, stream)
        results.append((name, state.value))
    return results


def percent_staged(results: Sequence[Tuple[str, str]]) -> float:
    """Fraction (0.0-1.0) of ``results`` that are on disk; 0.0 for no results.

    ``results`` are ``(name, state)`` pairs as :func:`main` returns them; ONLINE and
    ONLINE_AND_NEARLINE count as staged, every other state (also ERROR) as not staged.
    """
    if not results:
        return 0.0
    staged = sum(1 for _, state in results if str(state).strip() in _ON_DISK)
    return staged / len(results)


_ON_DISK = frozenset(s.value for s in FileState if s.on_disk)
