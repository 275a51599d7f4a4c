"""``srm.txt`` into input links (``parse_links``, :mod:`grid_lrt.launcher.inputs_links`).

No I/O: the lines, the errors that name them (code 20), and SURLs turned into transfer and
tape-state URLs for each protocol.
"""

from __future__ import annotations

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.inputs import parse_links
from grid_lrt.shared.errors import ErrorCode, UsageError

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc0_012/229507"
SURL = f"{SARA}/L229507_SB100_uv.MS_f5baa3f0.tar"


def _code(excinfo: pytest.ExceptionInfo[TokenFailure]) -> int:
    return int(excinfo.value.code)


def test_no_srm_txt_is_20() -> None:
    with pytest.raises(TokenFailure) as excinfo:
        parse_links(None)
    assert excinfo.value.code is ErrorCode.NO_DOWNLOAD_FILE
    assert "srm.txt" in excinfo.value.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   \n# another\n"])
def test_empty_srm_txt_is_20_and_says_empty(text: str) -> None:
    with pytest.raises(TokenFailure) as excinfo:
        parse_links(text)
    assert _code(excinfo) == 20
    assert "empty" in excinfo.value.message


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("not a link", "spaces"),
        ("/data/L1_SB000.tar", "not a URL"),
        ("https://host/folder/", "does not name a file"),
        ("srm://srm.grid.sara.nl:9999/pnfs/L229507_SB000.tar", "cannot be converted"),
    ],
)
def test_bad_line_is_20_naming_the_line(line: str, why: str) -> None:
    text = f"# inputs\n{SURL}\n\n{line}\n"
    with pytest.raises(TokenFailure) as excinfo:
        parse_links(text)
    assert _code(excinfo) == 20
    assert "line 4" in excinfo.value.message
    assert why in excinfo.value.message


def test_two_links_to_one_file_name_are_refused() -> None:
    text = "file:///a/x.tar\nhttps://h/b/x.tar\n"
    with pytest.raises(TokenFailure) as excinfo:
        parse_links(text)
    assert _code(excinfo) == 20
    assert "line 2" in excinfo.value.message and "line 1" in excinfo.value.message


def test_surl_auto_copies_over_gsiftp_and_asks_tape_state_over_srm() -> None:
    text = f"  {SURL}  \n# comment\nmock://h/x/f.dat?size=3\n"
    first, second = parse_links(text)
    assert first.line == 1
    assert first.url == (
        "gsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/lofar/ops/projects/"
        "lc0_012/229507/L229507_SB100_uv.MS_f5baa3f0.tar"
    )
    assert first.locality_url == (
        "srm://srm.grid.sara.nl:8443/srm/managerv2?SFN=/pnfs/grid.sara.nl/data/lofar/ops/"
        "projects/lc0_012/229507/L229507_SB100_uv.MS_f5baa3f0.tar"
    )
    assert first.name == "L229507_SB100_uv.MS_f5baa3f0.tar"
    assert (second.line, second.url, second.locality_url, second.name) == (
        3,
        "mock://h/x/f.dat?size=3",
        "mock://h/x/f.dat?size=3",
        "f.dat",
    )


def test_surl_protocols() -> None:
    [https] = parse_links(SURL, protocol="https")
    assert https.url == ("https://lofar-download.grid.sara.nl/lofigrid/SRMFifoGet.py?surl=" + SURL)
    assert https.name == "L229507_SB100_uv.MS_f5baa3f0.tar"  # not SRMFifoGet.py
    [srm] = parse_links(SURL, protocol="srm")
    assert srm.url == srm.locality_url
    assert srm.url.startswith("srm://srm.grid.sara.nl:8443/srm/managerv2?SFN=/pnfs/")
    # A gsiftp link of a known site is converted too; of an unknown host it stays as written.
    poznan = "srm://lta-head.lofar.psnc.pl:8443//lofar/ops/L1/L1_SB001_uv.MS.tar"
    [pz] = parse_links(poznan)
    assert pz.url == "gsiftp://gridftp.lofar.psnc.pl:2811/lofar/ops/L1/L1_SB001_uv.MS.tar"
    [other] = parse_links("gsiftp://gridftp.example.org:2811/data/L1_SB002.tar")
    assert other.url == "gsiftp://gridftp.example.org:2811/data/L1_SB002.tar"
    with pytest.raises(UsageError):
        parse_links(SURL, protocol="ftp")


def test_percent_escapes_are_decoded_in_file_names() -> None:
    [link] = parse_links("https://h/data/a%20b.dat")
    assert link.name == "a b.dat"
