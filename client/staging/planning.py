"""Splitting a SURL list into staging requests the LTA accepts.

ASTRON's LTA FAQ asks for requests of **at most 1,000 files and under 5 TB**, and for **at
most 5,000 files over all of a user's running requests**. :func:`plan_requests` groups the
links by site and OBSID (one request never spans two sites: each site stages its own tape),
keeps the list's order inside a group, and cuts each group into batches within both request
limits (sizes count where the list gives them). :func:`fits` says whether a batch may go now
beside the files already in flight; what does not fit waits in the local queue
(:mod:`.stagebook`).

A SURL list line may carry the file's size in bytes after the link (``srm://... 123456``),
as LTA catalogue exports do; without sizes only the file count limits a request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from grid_lrt.shared import surl
from grid_lrt.shared.errors import ConfigError

__all__ = [
    "MAX_FILES",
    "MAX_IN_FLIGHT",
    "MAX_REQUEST_BYTES",
    "Batch",
    "fits",
    "plan_requests",
    "read_sized_list",
]

#: ASTRON's limits (LTA FAQ).
MAX_FILES = 1000
MAX_REQUEST_BYTES = 5 * 10**12
MAX_IN_FLIGHT = 5000


@dataclass
class Batch:
    """One request to be: files of one site and OBSID, within the request limits."""

    site: str
    obsid: str
    surls: List[str]
    size: Optional[int] = None  #: bytes, when every file's size is known
    source: str = ""  #: the SURL list it came from

    def __len__(self) -> int:
        return len(self.surls)

    def describe(self) -> str:
        where = f"{self.obsid or 'no OBSID'} at {self.site}"
        size = f", {self.size / 1e12:.2f} TB" if self.size is not None else ""
        return f"{where}: {len(self.surls)} files{size}"


@dataclass
class SizedList:
    links: List[str] = field(default_factory=list)
    sizes: Dict[str, int] = field(default_factory=dict)


def read_sized_list(path: Path) -> SizedList:
    """The SURLs of ``path`` (first word of each line; ``#`` comments and blanks skipped) and
    the sizes given after them.

    Raises:
        ConfigError: unreadable file, or a size that is not a whole number of bytes.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read SURL list {path}: {exc.strerror}") from None
    found = SizedList()
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        link = words[0]
        if link in found.sizes or link in found.links:
            continue
        found.links.append(link)
        if len(words) > 1 and not words[1].startswith("#"):
            if not words[1].isdigit():
                raise ConfigError(
                    f"{path}, line {number}: {words[1]!r} after the SURL is not a size in bytes",
                    hint="a line is a SURL, optionally followed by its size in bytes",
                )
            found.sizes[link] = int(words[1])
    return found


def _group(links: Iterable[str]) -> Dict[Tuple[str, str], List[str]]:
    groups: Dict[Tuple[str, str], List[str]] = defaultdict(list)
    for link in links:
        groups[(surl.site_of(link).name, surl.obsid_of(link))].append(link)
    return groups


def plan_requests(
    links: Sequence[str],
    sizes: Optional[Dict[str, int]] = None,
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_REQUEST_BYTES,
    source: str = "",
) -> List[Batch]:
    """Batches of ``links`` per site and OBSID, each within ``max_files`` and ``max_bytes``.

    Raises:
        ConfigError: one file alone is larger than ``max_bytes``.
    """
    sizes = sizes or {}
    batches: List[Batch] = []
    for (site, obsid), group in sorted(_group(links).items()):
        current: List[str] = []
        total = 0
        for link in group:
            size = sizes.get(link, 0)
            if size > max_bytes:
                raise ConfigError(
                    f"{link} alone is {size / 1e12:.2f} TB, over the LTA's "
                    f"{max_bytes / 1e12:.0f} TB per request",
                    hint="stage it on its own after asking the LTA helpdesk",
                )
            if current and (len(current) >= max_files or total + size >= max_bytes):
                batches.append(_batch(site, obsid, current, sizes, source))
                current, total = [], 0
            current.append(link)
            total += size
        if current:
            batches.append(_batch(site, obsid, current, sizes, source))
    return batches


def _batch(site: str, obsid: str, links: List[str], sizes: Dict[str, int], source: str) -> Batch:
    known = all(link in sizes for link in links)
    size = sum(sizes[link] for link in links) if known else None
    return Batch(site, obsid, list(links), size, source)


def fits(batch_files: int, in_flight: int, *, limit: int = MAX_IN_FLIGHT) -> bool:
    """Whether a request of ``batch_files`` may go beside ``in_flight`` files now."""
    return in_flight + batch_files <= limit
