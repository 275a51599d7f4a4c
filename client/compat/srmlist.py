"""GRID_LRT's ``srmlist``, ``slice_dicts`` and ``load_file_into_srmlist``, on :class:`SurlList`.

Old notebooks keep working::

    s_list = srmlist.from_file("srm_L229507_sara.txt")
    s_list.OBSID, s_list.LTA_location          # ('L229507', 'sara')
    d_10 = slice_dicts(s_list.sbn_dict(), 10)   # {'100': srmlist([...10 links]), ...}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grid_lrt.client.staging import chunking
from grid_lrt.client.staging.surllist import SurlList

__all__ = ["load_file_into_srmlist", "slice_dicts", "srmlist"]


class srmlist(SurlList):
    """GRID_LRT's name and constructor for :class:`SurlList`.

    Args:
        check_OBSID: Refuse links of another observation than the first link's.
        check_location: Refuse links of another LTA site than the first link's.
        link: A first link to append.
    """

    def __init__(
        self,
        check_OBSID: bool = True,
        check_location: bool = True,
        link: str | None = None,
    ) -> None:
        super().__init__(check_obsid=check_OBSID, check_location=check_location)
        if link:
            self.append(link)


def slice_dicts(
    srmdict: Mapping[Any, Any] | Iterable[tuple[Any, Any]], slice_size: int = 10
) -> dict[str, SurlList]:
    """GRID_LRT's ``slice_dicts``: :func:`grid_lrt.client.staging.chunking.slice_dicts`, whose
    chunks of plain-string links are ``srmlist`` lists, as GRID_LRT's were."""
    return chunking.slice_dicts(srmdict, slice_size, empty=srmlist())


def load_file_into_srmlist(filename: str | Path) -> srmlist:
    """Read a link file into an :class:`srmlist` (GRID_LRT helper; see :meth:`SurlList.from_file`).

    Raises:
        SrmFileError: The file cannot be read or a line is refused.
    """
    return srmlist.from_file(filename)
