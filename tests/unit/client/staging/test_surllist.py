"""SurlList: list behaviour, checks on every mutator, cleaning, files, conversions."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from grid_lrt.client.staging.srmlist import (
    InvalidLinkError,
    LocationMismatchError,
    ObsidMismatchError,
    SrmFileError,
    SurlList,
    load_file_into_srmlist,
    srmlist,
)
from grid_lrt.shared.errors import ConfigError, LrtError
from tests.unit.client.surls import DATA, JUELICH_LINK, POZNAN, SARA_FILE, sara

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
