"""Slicing subband → links pairs into chunks of consecutive subband numbers::

    chunks = slice_dicts(links.sbn_dict(), 10)   # {'100': SurlList([...10 links]), ...}

GRID_LRT's ``slice_dicts`` (:mod:`grid_lrt.client.compat.srmlist`) is this function with
``srmlist`` chunks for plain-string links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from grid_lrt.client.staging.errors import SubbandError
from grid_lrt.client.staging.surllist import SurlList
from grid_lrt.shared.errors import UsageError

__all__ = ["slice_dicts"]


def slice_dicts(
    srmdict: Mapping[Any, Any] | Iterable[tuple[Any, Any]],
    slice_size: int = 10,
    *,
    empty: SurlList | None = None,
) -> dict[str, SurlList]:
    """Group subband → links pairs into chunks of ``slice_size`` consecutive subband numbers.

    Keys are subband numbers (``'100'`` or ``100``), sorted by value; ``start`` is the lowest.
    Chunk ``k`` is named ``format(start + k*slice_size, '03')`` and holds the keys
    ``start + k*slice_size + i`` for ``i < slice_size``. Missing subbands are gaps, not
    compacted: without SB009, chunk ``'000'`` has 9 links and the next chunk is ``'010'``.
    Empty chunks are left out. Subbands above 999 work (chunk ``'1000'``).

    Args:
        srmdict: A mapping or an iterable of ``(key, links)`` pairs, e.g. ``s.sbn_dict()``;
            values are a link, a :class:`SurlList` or an iterable of links. Repeated keys are
            merged.
        slice_size: Subband numbers per chunk, at least 1.
        empty: The list the chunks are made like when no value is a list (plain-string
            links): default an empty :class:`SurlList` with every check on.

    Returns:
        Chunk name → list of links, in ascending order; the lists are of the values' class
        (``empty``'s for plain strings) with the same checks.

    Raises:
        UsageError: ``slice_size`` is not a positive integer.
        SubbandError: A key is not a whole number.
        SrmListError: The links do not fit in one list (other OBSID or site).
    """
    if isinstance(slice_size, bool) or not isinstance(slice_size, int) or slice_size < 1:
        raise UsageError(f"slice_size must be a whole number of at least 1, not {slice_size!r}.")
    pairs = srmdict.items() if isinstance(srmdict, Mapping) else srmdict
    by_number: dict[int, list[Any]] = {}
    proto: SurlList | None = None
    for key, value in pairs:
        try:
            number = int(key)
        except (TypeError, ValueError) as exc:
            hint = "Use sbn_dict with a pref/suff that captures only the subband digits."
            raise SubbandError(f"Subband key {key!r} is not a whole number.", hint=hint) from exc
        by_number.setdefault(number, []).append(value)
        if proto is None and isinstance(value, SurlList):
            proto = value
    if not by_number:
        return {}
    template = proto if proto is not None else (empty if empty is not None else SurlList())
    start = min(by_number)
    sliced: dict[str, SurlList] = {}
    for number in sorted(by_number):
        name = format(start + (number - start) // slice_size * slice_size, "03")
        chunk = sliced.setdefault(name, template._empty_like())
        for value in by_number[number]:
            if isinstance(value, (str, SurlList)):
                chunk.append(value)
            else:
                chunk.extend(value)
    return {name: chunk for name, chunk in sliced.items() if chunk}
