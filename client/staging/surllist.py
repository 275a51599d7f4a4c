"""Lists of SURLs of one observation at one LTA site.

:class:`SurlList` behaves like a list of ``str`` (``len``, indexing, iteration, ``==`` with a
list, the same ``repr``), but every way of adding a link checks it: empty items are ignored,
whitespace and CR/LF are stripped, a two-field line keeps its SURL, the link is normalised, a
duplicate is dropped, and a link of another observation (OBSID) or another site is refused::

    links = SurlList.from_file("srm_L229507_sara.txt")
    links.obsid, links.lta_location              # ('L229507', 'sara')
    chunks = slice_dicts(links.sbn_dict(), 10)   # {'100': SurlList([...10 links]), ...}

Mismatch errors also subclass ``AttributeError``, which is what GRID_LRT raised. Chunking by
subband lives in :mod:`.chunking`, file reading in :mod:`.linkfile`, and GRID_LRT's name and
constructor (``srmlist``) in :mod:`grid_lrt.client.compat.srmlist`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, overload

from grid_lrt.client.staging.errors import (
    InvalidLinkError,
    LocationMismatchError,
    ObsidMismatchError,
    SubbandError,
)
from grid_lrt.client.staging.linkfile import EXAMPLE_LINK, read_link_file
from grid_lrt.shared import surl

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["SurlList"]

_Item = Union[str, "SurlList"]


class SurlList(MutableSequence[str]):
    """A checked list of SURLs: one observation (OBSID) at one LTA site, no duplicates.

    Args:
        links: Links to add, in order (a single ``str`` is one link).
        check_obsid: Refuse links whose OBSID differs from the first link's.
        check_location: Refuse links whose site differs from the first link's.

    Raises:
        SrmListError: A link is refused (see :meth:`append`).
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self, links: Iterable[_Item] = (), *, check_obsid: bool = True, check_location: bool = True
    ) -> None:
        self._setup(check_obsid, check_location)
        self.extend(links)

    def _setup(self, check_obsid: bool, check_location: bool) -> None:
        self._items: list[str] = []
        self._seen: set[str] = set()
        self._check_obsid = bool(check_obsid)
        self._check_loc = bool(check_location)

    @classmethod
    def _new(cls, check_obsid: bool, check_location: bool) -> Self:
        """Make an empty list of this class without calling a subclass's ``__init__``."""
        new = cls.__new__(cls)
        new._setup(check_obsid, check_location)
        return new

    def _empty_like(self) -> Self:
        return self._new(self._check_obsid, self._check_loc)

    # ---- construction from files ---------------------------------------------------------

    @classmethod
    def from_file(
        cls, path: str | Path, *, check_obsid: bool = True, check_location: bool = True
    ) -> Self:
        """Read one link per line (CRLF is fine; blank lines and ``#`` comments are skipped).

        Raises:
            SrmFileError: The file cannot be read, or a line is refused; the message names the
                file and the line number.
        """
        return read_link_file(path, cls._new(check_obsid, check_location))

    # ---- the checks ----------------------------------------------------------------------

    def stringify_item(self, item: object) -> str:
        """Return ``item`` without surrounding whitespace, CR and LF (GRID_LRT name).

        Raises:
            InvalidLinkError: ``item`` is not a ``str``.
        """
        if not isinstance(item, str):
            msg = f"An srm list holds str links, not {type(item).__name__}: {item!r}."
            raise InvalidLinkError(msg)
        return item.strip()

    def trim_spaces(self, item: str) -> str:
        """Return the first SURL field of a line, normalised (GRID_LRT name).

        A two-field line such as ``srm://… file://…`` keeps the SURL.

        Raises:
            InvalidLinkError: No field of the line is an ``srm://``/``gsiftp://`` link.
        """
        for field in item.split():
            if surl.is_surl(field):
                return surl.normalise(field)
        msg = f"Not an srm:// or gsiftp:// link: {item!r}."
        raise InvalidLinkError(msg, hint=f"Links look like {EXAMPLE_LINK}.")

    def _prepare(self, item: str | None) -> str | None:
        """Return the link to store for ``item``, or None for an empty item."""
        if item is None:
            return None
        text = self.stringify_item(item)
        return self.trim_spaces(text) if text else None

    def _check(self, link: str, ref: str | None) -> None:
        """Check ``link`` on its own and against ``ref``, a link already in the list."""
        try:
            new_obsid = surl.obsid_of(link) if self._check_obsid else ""
            new_site = surl.site_of(link).name if self._check_loc else ""
        except surl.SurlError as exc:
            raise InvalidLinkError(exc.message, hint=exc.hint) from exc
        if ref is None:
            return
        if self._check_obsid and new_obsid != (held := surl.obsid_of(ref)):
            raise ObsidMismatchError(
                "Different OBSID than previous items",
                hint="Put each observation (OBSID) in its own SURL list; from Python, "
                "srmlist(check_OBSID=False) accepts a mixed one.",
                detail=f"this list holds {held}; {link} has {new_obsid}",
            )
        if self._check_loc and new_site != (held := surl.site_of(ref).name):
            raise LocationMismatchError(
                "Appended srm link not the same location as previous links!",
                hint="Put each LTA site's links in their own SURL list; from Python, "
                "srmlist(check_location=False) accepts a mixed one.",
                detail=f"this list is on {held}; {link} is on {new_site}",
            )

    def check_str_location(self, item: str) -> str:
        """Return the site name of a link, or ``''`` for an unknown site (GRID_LRT name)."""
        site = surl.find_site(item)
        return site.name if site is not None else ""

    def check_location(self, item: _Item) -> str:
        """Like :meth:`check_str_location`; for a list, the site of its links (GRID_LRT name)."""
        if isinstance(item, SurlList):
            return item.lta_location or ""
        return self.check_str_location(item)

    # ---- the MutableSequence protocol; every way in goes through insert/__setitem__ --------

    def insert(self, index: int, value: _Item) -> None:
        """Insert a link (checked, see :meth:`append`); a :class:`SurlList` inserts its links."""
        if isinstance(value, SurlList):  # all or nothing
            staged = self.copy()
            pos = min(max(index + len(self), 0) if index < 0 else index, len(self))
            for link in list(value):
                pos += staged._insert_one(pos, link)
            self._adopt(staged)
            return
        self._insert_one(index, value)

    def _adopt(self, other: SurlList) -> None:
        self._items, self._seen = other._items, other._seen

    def _insert_one(self, index: int, value: str) -> bool:
        link = self._prepare(value)
        if link is None or link in self._seen:
            return False
        self._check(link, self._items[0] if self._items else None)
        self._items.insert(index, link)
        self._seen.add(link)
        return True

    def append(self, value: _Item) -> None:
        """Add a link at the end after checking it.

        Empty items and duplicates are silently ignored. Surrounding whitespace and CR/LF are
        stripped, a two-field line keeps its SURL field, and the link is normalised.

        Raises:
            InvalidLinkError: Not a SURL, no OBSID (with OBSID checks), unknown site (with
                location checks).
            ObsidMismatchError: Another observation than the first link's.
            LocationMismatchError: Another LTA site than the first link's.
        """
        self.insert(len(self), value)

    def extend(self, values: Iterable[_Item]) -> None:
        """Append each link of ``values`` (a single ``str`` is one link); all or nothing."""
        # A copy, as ``values`` may be ``self``.
        snapshot: list[_Item] = [values] if isinstance(values, str) else list(values)
        staged = self.copy()
        for value in snapshot:
            staged.append(value)
        self._adopt(staged)

    def __iadd__(self, values: Iterable[_Item]) -> Self:
        self.extend(values)
        return self

    def __add__(self, other: Iterable[_Item]) -> Self:
        new = self.copy()
        new.extend(other)
        return new

    def __radd__(self, other: Iterable[_Item]) -> Self:
        new = self._empty_like()
        new.extend(other)
        new.extend(self)
        return new

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Self: ...
    def __getitem__(self, index: int | slice) -> str | Self:
        if isinstance(index, slice):
            new = self._empty_like()
            new._items = self._items[index]
            new._seen = set(new._items)
            return new
        return self._items[index]

    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, slice):
            candidate: list[Any] = list(self._items)
            candidate[index] = [value] if isinstance(value, str) else list(value)
            rebuilt = self._empty_like()
            rebuilt.extend(candidate)
            self._adopt(rebuilt)
            return
        old = self._items[index]
        link = self._prepare(value)
        if link is None:
            raise InvalidLinkError("Cannot set an empty link; use del to remove one.")
        if link == old:
            return
        if link in self._seen:
            raise InvalidLinkError(f"Link {link!r} is already in the list.")
        others = [item for item in self._items if item != old]
        self._check(link, others[0] if others else None)
        self._items[self._items.index(old)] = link
        self._seen.discard(old)
        self._seen.add(link)

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            del self._items[index]
            self._seen = set(self._items)
        else:
            self._seen.discard(self._items.pop(index))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value.strip() in self._seen

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SurlList):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._items)

    def copy(self) -> Self:
        """Return a shallow copy with the same checks."""
        return self[:]

    __copy__ = copy

    def clear(self) -> None:
        """Remove every link (the OBSID and site are free again)."""
        self._items.clear()
        self._seen.clear()

    def reverse(self) -> None:
        """Reverse the list in place."""
        self._items.reverse()

    def sort(self, *, key: Callable[[str], Any] | None = None, reverse: bool = False) -> None:
        """Sort the list in place, like :meth:`list.sort`."""
        self._items.sort(key=key, reverse=reverse)

    # ---- what the list holds -------------------------------------------------------------

    @property
    def obsid(self) -> str | None:
        """OBSID of the first link (``'L229507'``), or None for an empty list or no OBSID."""
        try:
            return surl.obsid_of(self._items[0]) if self._items else None
        except surl.NoObsidError:
            return None

    OBSID = obsid

    @property
    def site(self) -> surl.Site | None:
        """The :class:`~grid_lrt.shared.surl.Site` of the first link, or None."""
        return surl.find_site(self._items[0]) if self._items else None

    @property
    def lta_location(self) -> str | None:
        """Site name of the first link (``'sara'``, ``'juelich'``, ``'poznan'``), or None."""
        site = self.site
        return site.name if site is not None else None

    LTA_location = lta_location

    # ---- conversions ---------------------------------------------------------------------

    # GRID_LRT's per-link conversions: any form of a link in, one form out.
    gsi_replace = staticmethod(surl.to_gsiftp)
    srm_replace = staticmethod(surl.to_srm)
    http_replace = staticmethod(surl.to_https)
    gfal_replace = staticmethod(surl.to_gfal)

    def gsi_links(self) -> Iterator[str]:
        """Yield the ``gsiftp://`` links (globus-url-copy, uberftp), in list order."""
        return map(surl.to_gsiftp, list(self._items))

    def http_links(self) -> Iterator[str]:
        """Yield the ``https://`` download links (wget), in list order."""
        return map(surl.to_https, list(self._items))

    def gfal_links(self) -> Iterator[str]:
        """Yield the gfal links (staging and state checks), in list order."""
        return map(surl.to_gfal, list(self._items))

    def sbn_dict(self, pref: str = "SB", suff: str = "_") -> Iterator[tuple[str, Self]]:
        """Yield ``(subband, one-link list)`` pairs, subband from regex ``pref + '(.+?)' + suff``.

        Feed the result to :func:`slice_dicts` or ``dict()``. For ``…_ABN_123.tar`` use
        ``pref='ABN_', suff=r'\\.'``.

        Raises:
            SubbandError: The pattern does not match a link (raised when that link is reached).
        """
        for link in list(self._items):
            try:
                key = surl.subband_of(link, pref, suff)
            except surl.NoSubbandError as exc:
                raise SubbandError(exc.message, hint=exc.hint) from exc
            single = self._empty_like()
            single._items, single._seen = [link], {link}
            yield key, single
