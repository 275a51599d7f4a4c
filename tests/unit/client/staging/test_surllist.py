"""srmlist/SurlList: list behaviour, checks on every mutator, files, conversions, slicing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import List

import pytest

from grid_lrt.client.staging.srmlist import (
    InvalidLinkError,
    LocationMismatchError,
    ObsidMismatchError,
    SrmFileError,
    SrmListError,
    SubbandError,
    SurlList,
    load_file_into_srmlist,
    slice_dicts,
    srmlist,
)
from grid_lrt.shared.errors import ConfigError, LrtError, UsageError
from tests.support.paths import DATA, SAMPLE

SARA_FILE = DATA / "srm_50_sara.txt"
SAMPLE_FILE = SAMPLE / "srm_L229507_sara.txt"
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
JUELICH_LINK = (
    "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/data/lofar/ops/projects/lc7_012/"
    "583139/L583139_SB000_uv.MS_900c9fcf.tar"
)
POZNAN = "srm://lta-head.lofar.psnc.pl:8443/lofar/ops/projects/lc5_014/454004/"


def sara(sb: int, obsid: str = "L229507") -> str:
    return f"{SARA}{obsid}_SB{sb:03d}_uv.dppp.MS_0000abcd.tar"


@pytest.fixture
def s_list() -> srmlist:
    """The notebook's way: read the file, split on whitespace, append each link."""
    result = srmlist()
    for item in SARA_FILE.read_text().split():
        result.append(item)
    return result


# ---- the notebook's expectations (GRID_LRT testbed notebook, section 3) --------------------


def test_notebook_properties(s_list: srmlist) -> None:
    assert s_list.OBSID == "L229507" == s_list.obsid
    assert s_list.LTA_location == "sara" == s_list.lta_location
    assert len(s_list) == 51
    assert s_list[0] == SARA + "L229507_SB100_uv.dppp.MS_3d78b8f1.tar"


def test_notebook_juelich_append_is_an_attribute_error(s_list: srmlist) -> None:
    with pytest.raises(AttributeError) as info:
        s_list.append(JUELICH_LINK)
    assert str(info.value) == "Different OBSID than previous items"
    assert isinstance(info.value, ObsidMismatchError)
    assert isinstance(info.value, LrtError)
    assert "L229507" in info.value.detail and "L583139" in info.value.detail
    assert len(s_list) == 51


def test_notebook_four_forms_of_the_first_file(s_list: srmlist) -> None:
    path = "/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
    name = "L229507_SB100_uv.dppp.MS_3d78b8f1.tar"
    # The notebook needed g_list[-1] ("list is backwards"); now the order is the input order.
    assert next(s_list.gsi_links()) == "gsiftp://gridftp.grid.sara.nl:2811" + path + name
    assert next(s_list.http_links()) == (
        "https://lofar-download.grid.sara.nl/lofigrid/SRMFifoGet.py?surl="
        "srm://srm.grid.sara.nl:8443" + path + name
    )
    assert (
        next(s_list.gfal_links()) == "srm://srm.grid.sara.nl:8443/srm/managerv2?SFN=" + path + name
    )


def test_generators_yield_in_input_order(s_list: srmlist) -> None:
    for gen in (s_list.gsi_links(), s_list.http_links(), s_list.gfal_links()):
        subbands = [link.split("_SB")[1][:3] for link in gen]
        assert subbands == [str(sb) for sb in range(100, 151)]
    assert [s_list.srm_replace(g) for g in s_list.gsi_links()] == list(s_list)


def test_notebook_slice_dicts(s_list: srmlist) -> None:
    d_10 = slice_dicts(s_list.sbn_dict())
    assert list(d_10) == ["100", "110", "120", "130", "140", "150"]
    assert len(d_10["140"]) == 10
    assert d_10["140"][0].endswith("L229507_SB140_uv.dppp.MS_a99ed735.tar")
    assert d_10["140"][6].endswith("L229507_SB146_uv.dppp.MS_9f12d505.tar")
    assert len(d_10["150"]) == 1
    assert type(d_10["100"]) is srmlist
    assert d_10["100"].OBSID == "L229507"
    assert repr(d_10["150"]) == repr([SARA + "L229507_SB150_uv.dppp.MS_f6fc7fc5.tar"])
    assert str(d_10["150"]) == str([SARA + "L229507_SB150_uv.dppp.MS_f6fc7fc5.tar"])
    d_1 = slice_dicts(s_list.sbn_dict(), 1)
    assert len(d_1) == 51 and list(d_1)[:2] == ["100", "101"]
    d_50 = slice_dicts(s_list.sbn_dict(), 50)
    assert list(d_50) == ["100", "150"]
    assert [len(v) for v in d_50.values()] == [50, 1]


def test_sample_package_data_is_the_test_file() -> None:
    assert SAMPLE_FILE.read_bytes() == SARA_FILE.read_bytes()


# ---- list behaviour ---------------------------------------------------------------------------


def test_behaves_like_a_list(s_list: srmlist) -> None:
    plain = SARA_FILE.read_text().split()
    assert s_list == plain and plain == s_list
    assert s_list != plain[:-1]
    assert repr(s_list) == repr(plain)
    assert list(s_list) == plain
    assert s_list[-1] == plain[-1]
    assert s_list[2:4] == plain[2:4] and type(s_list[2:4]) is srmlist
    assert plain[7] in s_list and "srm://nope" not in s_list
    assert s_list.index(plain[3]) == 3 and s_list.count(plain[3]) == 1
    assert list(reversed(s_list)) == plain[::-1]
    assert s_list != "not a list"


def test_mutators_that_remove(s_list: srmlist) -> None:
    plain = SARA_FILE.read_text().split()
    assert s_list.pop() == plain[-1]
    assert s_list.pop(0) == plain[0]
    s_list.remove(plain[1])
    del s_list[0]
    del s_list[0:2]
    assert list(s_list) == plain[5:-1]
    s_list.reverse()
    assert list(s_list) == plain[5:-1][::-1]
    s_list.sort()
    assert list(s_list) == sorted(plain[5:-1])
    s_list.clear()
    assert len(s_list) == 0 and [s_list.OBSID, s_list.LTA_location] == [None, None]
    s_list.append(JUELICH_LINK)  # the list is empty, so another observation is fine
    assert s_list.OBSID == "L583139" and s_list.LTA_location == "juelich"


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s.append(JUELICH_LINK), id="append"),
        pytest.param(lambda s: s.extend([sara(1), JUELICH_LINK]), id="extend"),
        pytest.param(lambda s: s.insert(0, JUELICH_LINK), id="insert"),
        pytest.param(lambda s: s.__setitem__(0, JUELICH_LINK), id="setitem"),
        pytest.param(lambda s: s.__setitem__(slice(0, 1), [JUELICH_LINK]), id="setslice"),
        pytest.param(lambda s: s.__iadd__([JUELICH_LINK]), id="iadd"),
        pytest.param(lambda s: s + [JUELICH_LINK], id="add"),  # noqa: RUF005
        pytest.param(lambda s: [JUELICH_LINK] + s, id="radd"),  # noqa: RUF005
        pytest.param(lambda s: s.append(srmlist(link=JUELICH_LINK)), id="append-srmlist"),
    ],
)
def test_every_mutator_checks(mutate: object) -> None:
    s = srmlist(link=sara(0))
    s.append(sara(2))
    with pytest.raises(ObsidMismatchError):
        mutate(s)  # type: ignore[operator]
    assert list(s) == [sara(0), sara(2)]


def test_setitem_replaces_and_checks_against_the_others() -> None:
    s = SurlList([sara(0), sara(1)])
    s[1] = sara(5) + "\r\n"
    assert list(s) == [sara(0), sara(5)]
    s[-1] = sara(5)  # same link: no-op
    with pytest.raises(InvalidLinkError, match="already in the list"):
        s[0] = sara(5)
    with pytest.raises(InvalidLinkError):
        s[0] = ""
    single = SurlList([sara(0)])
    single[0] = JUELICH_LINK  # nothing else in the list to disagree with
    assert single.OBSID == "L583139"


def test_slice_assignment_and_insert_keep_order_and_drop_duplicates() -> None:
    s = SurlList([sara(0), sara(1), sara(2)])
    s[1:2] = [sara(7), sara(0), sara(8)]
    assert list(s) == [sara(0), sara(7), sara(8), sara(2)]
    s.insert(1, sara(9))
    s.insert(-1, SurlList([sara(3), sara(4)]))
    assert list(s) == [sara(0), sara(9), sara(7), sara(8), sara(3), sara(4), sara(2)]
    s.insert(100, sara(6))
    assert s[-1] == sara(6)


def test_add_and_copy_return_new_checked_lists() -> None:
    s = srmlist(link=sara(0))
    t = s + [sara(1)]  # noqa: RUF005 - the operators are under test
    u = [sara(2)] + s  # noqa: RUF005
    assert type(t) is srmlist and list(t) == [sara(0), sara(1)]
    assert list(u) == [sara(2), sara(0)]
    assert list(s) == [sara(0)]
    c = copy.copy(s)
    c.append(sara(3))
    assert len(s) == 1 and len(c) == 2
    d = copy.deepcopy(c)
    assert d == c and d is not c


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(SurlList())


# ---- append's cleaning -------------------------------------------------------------------------


def test_empty_items_and_duplicates_are_ignored() -> None:
    s = srmlist()
    for item in ("", "  ", "\r\n", sara(1), sara(1), sara(1) + "\n", " " + sara(1)):
        s.append(item)
    assert list(s) == [sara(1)]
    s.append(None)  # type: ignore[arg-type]
    assert len(s) == 1


def test_crlf_and_whitespace_are_stripped() -> None:
    # GRID_LRT stripped "\n" and then threw that away stripping "\r" from the original.
    s = srmlist()
    s.append(sara(1) + "\r\n")
    s.append("\t" + sara(2) + " \n")
    assert list(s) == [sara(1), sara(2)]


def test_two_field_line_keeps_the_surl() -> None:
    s = srmlist()
    s.append(sara(1) + " file:///data/L229507_SB001.tar")
    s.append("file:///data/L229507_SB002.tar " + sara(2))
    gsi = "gsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/L229507_SB003_x.tar"
    s.append(gsi + "   file:///x")  # GRID_LRT returned None for gsiftp lines with spaces
    assert list(s) == [sara(1), sara(2), gsi]
    assert s.trim_spaces(sara(4) + " file:///x") == sara(4)


def test_double_slashes_are_fixed_on_the_first_item_too() -> None:
    s = srmlist()
    s.append("srm://lta-head.lofar.psnc.pl:8443//lofar/ops/projects/x/454004/L454004_SB001_a.tar")
    s.append(POZNAN + "L454004_SB002_a.tar")
    assert (
        s[0] == "srm://lta-head.lofar.psnc.pl:8443/lofar/ops/projects/x/454004/L454004_SB001_a.tar"
    )
    t = srmlist(link="srm://srm.grid.sara.nl:8443//pnfs/grid.sara.nl/data/L229507_SB001_a.tar")
    assert t[0] == "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/L229507_SB001_a.tar"
    t.append("srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/L229507_SB001_a.tar")
    assert len(t) == 1  # duplicates are detected after normalising


def test_location_mismatch_message_and_type() -> None:
    s = srmlist(check_OBSID=False, link=sara(1))
    with pytest.raises(AttributeError) as info:
        s.append(JUELICH_LINK)
    assert str(info.value) == "Appended srm link not the same location as previous links!"
    assert isinstance(info.value, LocationMismatchError)
    assert "sara" in info.value.detail and "juelich" in info.value.detail


def test_checks_can_be_switched_off() -> None:
    s = srmlist(check_OBSID=False, check_location=False, link=sara(1))
    s.append(JUELICH_LINK)
    s.append("srm://srm.example.org:8443/pnfs/data/no_obsid_here.tar")
    assert len(s) == 3 and s.OBSID == "L229507" and s.LTA_location == "sara"
    t = srmlist(check_location=False)
    t.append("srm://srm.example.org:8443/pnfs/data/L1_SB000_x.tar")
    assert t.LTA_location is None and t.check_location(t[0]) == ""
    with pytest.raises(ObsidMismatchError):
        t.append(sara(1))
    with pytest.raises(LrtError):  # conversion needs a known site
        list(t.gsi_links())


def test_first_item_is_checked_too() -> None:
    with pytest.raises(InvalidLinkError, match="observation id"):
        srmlist(link="srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/sksp/cal_SB000.tar")
    with pytest.raises(InvalidLinkError, match="not on a known LTA site"):
        srmlist(link="srm://srm.example.org:8443/pnfs/data/L1_SB000_x.tar")


@pytest.mark.parametrize(
    "bad", ["hello world", "file:///data/L229507_SB001.tar", "/pnfs/grid.sara.nl/L229507_x.tar"]
)
def test_not_a_surl_names_the_line(bad: str) -> None:
    s = srmlist()
    with pytest.raises(InvalidLinkError) as info:
        s.append(bad)
    assert repr(bad) in str(info.value)
    assert isinstance(info.value, AttributeError)


def test_non_string_item_is_refused() -> None:
    with pytest.raises(InvalidLinkError, match="not int"):
        srmlist().append(5)  # type: ignore[arg-type]


def test_seed_helper_methods(s_list: srmlist) -> None:
    assert s_list.stringify_item(" a\r\n") == "a"
    assert s_list.check_location(JUELICH_LINK) == "juelich"
    assert s_list.check_location(s_list) == "sara"
    assert s_list.check_str_location("srm://nowhere/x") == ""
    gsi = s_list.gsi_replace(s_list[0])
    assert s_list.gfal_replace(gsi) == next(s_list.gfal_links())
    assert s_list.http_replace(gsi) == next(s_list.http_links())
    assert s_list.site is not None and s_list.site.name == "sara"


# ---- files ---------------------------------------------------------------------------------


def test_from_file_and_helper(tmp_path: Path) -> None:
    for loaded in (srmlist.from_file(SARA_FILE), load_file_into_srmlist(str(SARA_FILE))):
        assert type(loaded) is srmlist and len(loaded) == 51 and loaded.OBSID == "L229507"
    modern = SurlList.from_file(SARA_FILE)
    assert type(modern) is SurlList and modern == srmlist.from_file(SARA_FILE)
    juelich = SurlList.from_file(DATA / "srm_juelich.txt")
    assert (juelich.OBSID, juelich.LTA_location, len(juelich)) == ("L583139", "juelich", 4)
    poznan = SurlList.from_file(DATA / "srm_poznan.txt")
    assert (poznan.OBSID, poznan.LTA_location, len(poznan)) == ("L454004", "poznan", 4)


def test_from_file_crlf_comments_blanks(tmp_path: Path) -> None:
    path = tmp_path / "links.txt"
    path.write_bytes(
        b"# my links\r\n\r\n"
        + sara(1).encode()
        + b"\r\n  "
        + sara(2).encode()
        + b"  \r\n"
        + b"   # indented comment\r\n"
        + sara(1).encode()
        + b"\r\n"
    )
    assert list(SurlList.from_file(path)) == [sara(1), sara(2)]


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "links.txt"
    path.write_text(f"# header\n{sara(1)}\n\nthis is not a link\n{sara(2)}\n")
    with pytest.raises(SrmFileError) as info:
        SurlList.from_file(path)
    message = str(info.value)
    assert str(path) in message and "line 4" in message
    assert "'this is not a link'" in message
    assert "srm://srm.grid.sara.nl:8443/pnfs/" in message  # what a valid line looks like
    assert isinstance(info.value, ConfigError) and isinstance(info.value, AttributeError)


def test_mismatch_in_file_names_file_line_and_values(tmp_path: Path) -> None:
    path = tmp_path / "links.txt"
    path.write_text(f"{sara(1)}\n{sara(2, obsid='L229508')}\n")
    with pytest.raises(SrmFileError) as info:
        SurlList.from_file(path)
    message = str(info.value)
    assert "line 2" in message and "Different OBSID than previous items" in message
    assert "L229507" in message and "L229508" in message
    path.write_text(f"{sara(1)}\n{JUELICH_LINK.replace('L583139', 'L229507')}\n")
    with pytest.raises(SrmFileError, match=r"line 2: Appended srm link not the same location"):
        SurlList.from_file(path)


def test_unreadable_file_is_an_srm_file_error(tmp_path: Path) -> None:
    with pytest.raises(SrmFileError, match="Cannot read srm list"):
        SurlList.from_file(tmp_path / "missing.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SrmFileError):
        SurlList.from_file(binary)


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
