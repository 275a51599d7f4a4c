"""sbn_dict and slice_dicts: subband keys and chunks of consecutive subbands."""

from __future__ import annotations

from typing import List

import pytest

from grid_lrt.client.staging.srmlist import (
    SrmListError,
    SubbandError,
    SurlList,
    slice_dicts,
    srmlist,
)
from grid_lrt.shared.errors import UsageError
from tests.unit.client.surls import JUELICH_LINK, SARA, sara

# ---- sbn_dict and slice_dicts --------------------------------------------------------------


def test_sbn_dict_default_and_custom_pattern() -> None:
    s = srmlist(link=sara(7))
    pairs = list(s.sbn_dict())
    assert [(key, list(value)) for key, value in pairs] == [("007", [sara(7)])]
    assert type(pairs[0][1]) is srmlist and pairs[0][1] == [sara(7)]
    abn = SurlList([f"{SARA}L229507_ABN_{n}.tar" for n in (3, 1, 2)])
    assert [k for k, _ in abn.sbn_dict(pref="ABN_", suff=r"\.")] == ["3", "1", "2"]
    assert type(next(abn.sbn_dict(pref="ABN_", suff=r"\."))[1]) is SurlList


def test_sbn_dict_without_match_names_link_and_pattern() -> None:
    abn = SurlList([f"{SARA}L229507_ABN_1.tar"])
    with pytest.raises(SubbandError) as info:
        dict(abn.sbn_dict())
    assert "L229507_ABN_1.tar" in str(info.value) and "SB(.+?)_" in str(info.value)
    assert isinstance(info.value, AttributeError)


def _lists(n_list: List[int]) -> srmlist:
    s = srmlist()
    s.extend(sara(n) for n in n_list)
    return s


def test_slice_gaps_are_not_compacted() -> None:
    d = slice_dicts(_lists([n for n in range(25) if n != 9]).sbn_dict())
    assert list(d) == ["000", "010", "020"]
    assert [len(v) for v in d.values()] == [9, 10, 5]
    assert d["010"][0] == sara(10)


def test_slice_empty_chunks_are_dropped_and_start_is_lowest_key() -> None:
    d = slice_dicts(_lists([3, 4, 40, 41, 12]).sbn_dict(), 5)
    assert list(d) == ["003", "008", "038"]
    assert list(d["003"]) == [sara(3), sara(4)]
    assert list(d["008"]) == [sara(12)]
    assert list(d["038"]) == [sara(40), sara(41)]


def test_slice_subbands_above_999() -> None:
    links = [f"{SARA}L229507_SB{n}_uv.MS_x.tar" for n in (998, 999, 1000, 1001, 1010)]
    d = slice_dicts(SurlList(links).sbn_dict(), 2)
    assert list(d) == ["998", "1000", "1010"]
    assert [len(v) for v in d.values()] == [2, 2, 1]
    assert type(d["1000"]) is SurlList


def test_slice_sorts_numerically_not_as_strings() -> None:
    d = slice_dicts({"100": sara(100), "99": sara(99), "0101": sara(101)}, 2)
    assert list(d) == ["099", "101"]
    assert list(d["099"]) == [sara(99), sara(100)]


def test_slice_accepts_dicts_pairs_and_plain_values() -> None:
    pairs = [("001", sara(1)), (2, [sara(2)]), ("001", sara(11))]
    d = slice_dicts(pairs, 10)
    assert list(d) == ["001"] and list(d["001"]) == [sara(1), sara(11), sara(2)]
    assert type(d["001"]) is srmlist
    assert slice_dicts({}) == {}
    assert slice_dicts(iter([])) == {}


def test_slice_bad_input() -> None:
    with pytest.raises(SubbandError, match="'ABC' is not a whole number"):
        slice_dicts({"ABC": sara(1)})
    for size in (0, -1, 2.5, True):
        with pytest.raises(UsageError):
            slice_dicts({"1": sara(1)}, size)  # type: ignore[arg-type]
    with pytest.raises(SrmListError):
        slice_dicts({"1": sara(1), "2": JUELICH_LINK})
