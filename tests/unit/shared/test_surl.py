"""Per-site SURL knowledge: site detection, OBSID/subband, normalisation, conversions."""

from __future__ import annotations

import dataclasses

import pytest

from grid_lrt.shared import surl
from grid_lrt.shared.errors import LrtError, UsageError

SARA_PATH = (
    "/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
    "L229507_SB100_uv.dppp.MS_3d78b8f1.tar"
)
JUELICH_PATH = (
    "/pnfs/fz-juelich.de/data/lofar/ops/projects/lc7_012/583139/L583139_SB000_uv.MS_900c9fcf.tar"
)
POZNAN_PATH = "/lofar/ops/projects/lc5_014/454004/L454004_SB244_uv.MS_854af5db.tar"

# (site, srm, gsiftp, https, gfal): every row of original-system.md section 4, spelled out.
ROWS = [
    (
        "sara",
        "srm://srm.grid.sara.nl:8443" + SARA_PATH,
        "gsiftp://gridftp.grid.sara.nl:2811" + SARA_PATH,
        "https://lofar-download.grid.sara.nl/lofigrid/SRMFifoGet.py?surl="
        "srm://srm.grid.sara.nl:8443" + SARA_PATH,
        "srm://srm.grid.sara.nl:8443/srm/managerv2?SFN=" + SARA_PATH,
    ),
    (
        "juelich",
        "srm://lofar-srm.fz-juelich.de:8443" + JUELICH_PATH,
        "gsiftp://lofar-gridftp.fz-juelich.de:2811" + JUELICH_PATH,
        "https://lofar-download.fz-juelich.de/webserver-lofar/SRMFifoGet.py?surl="
        "srm://lofar-srm.fz-juelich.de:8443" + JUELICH_PATH,
        "srm://lofar-srm.fz-juelich.de:8443/srm/managerv2?SFN=" + JUELICH_PATH,
    ),
    (
        "poznan",
        "srm://lta-head.lofar.psnc.pl:8443" + POZNAN_PATH,
        "gsiftp://gridftp.lofar.psnc.pl:2811" + POZNAN_PATH,
        "https://lta-download.lofar.psnc.pl/lofigrid/SRMFifoGet.py?surl="
        "srm://lta-head.lofar.psnc.pl:8443" + POZNAN_PATH,
        "srm://lta-head.lofar.psnc.pl:8443/srm/managerv2?SFN=" + POZNAN_PATH,
    ),
]
IDS = [row[0] for row in ROWS]


def test_site_table_holds_the_three_lta_sites() -> None:
    assert sorted(surl.SITES) == ["juelich", "poznan", "sara"]
    sara = surl.SITES["sara"]
    assert sara.srm_prefix == "srm://srm.grid.sara.nl:8443"
    assert sara.gsiftp_prefix == "gsiftp://gridftp.grid.sara.nl:2811"
    assert sara.https_prefix == "https://lofar-download.grid.sara.nl/lofigrid/SRMFifoGet.py?surl="
    assert sara.gfal_prefix == "srm://srm.grid.sara.nl:8443/srm/managerv2?SFN="
    with pytest.raises(dataclasses.FrozenInstanceError):
        sara.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        surl.SITES["x"] = sara  # type: ignore[index]


@pytest.mark.parametrize(("name", "srm", "gsiftp", "https", "gfal"), ROWS, ids=IDS)
def test_srm_to_every_form(name: str, srm: str, gsiftp: str, https: str, gfal: str) -> None:
    assert surl.site_of(srm).name == name
    assert surl.to_gsiftp(srm) == gsiftp
    assert surl.to_https(srm) == https
    assert surl.to_gfal(srm) == gfal
    assert surl.to_srm(srm) == srm


@pytest.mark.parametrize(("name", "srm", "gsiftp", "https", "gfal"), ROWS, ids=IDS)
def test_every_form_back_to_srm(name: str, srm: str, gsiftp: str, https: str, gfal: str) -> None:
    for form in (gsiftp, https, gfal):
        assert surl.site_of(form).name == name
        assert surl.to_srm(form) == srm


@pytest.mark.parametrize(("name", "srm", "gsiftp", "https", "gfal"), ROWS, ids=IDS)
def test_gfal_of_gsiftp_has_managerv2(
    name: str, srm: str, gsiftp: str, https: str, gfal: str
) -> None:
    # GRID_LRT turned a gsiftp link into plain srm without managerv2.
    assert surl.to_gfal(gsiftp) == gfal
    assert "/srm/managerv2?SFN=/" in surl.to_gfal(gsiftp)


@pytest.mark.parametrize(("name", "srm", "gsiftp", "https", "gfal"), ROWS, ids=IDS)
def test_conversions_are_idempotent(
    name: str, srm: str, gsiftp: str, https: str, gfal: str
) -> None:
    assert surl.to_gsiftp(gsiftp) == gsiftp
    assert surl.to_https(https) == https
    assert surl.to_gfal(gfal) == gfal


def test_gfal_rewrites_only_the_port_after_the_host() -> None:
    link = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/L584430_SB8443_uv.MS.tar"
    assert surl.to_gfal(link) == (
        "srm://srm.grid.sara.nl:8443/srm/managerv2?SFN="
        "/pnfs/grid.sara.nl/data/lofar/ops/L584430_SB8443_uv.MS.tar"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "gsiftp://dcachepool12.fz-juelich.de:2811" + JUELICH_PATH,
            "srm://lofar-srm.fz-juelich.de:8443" + JUELICH_PATH,
        ),
        (
            "gsiftp://door02.lofar.psnc.pl:2811" + POZNAN_PATH,
            "srm://lta-head.lofar.psnc.pl:8443" + POZNAN_PATH,
        ),
    ],
)
def test_former_gridftp_doors_still_convert(old: str, new: str) -> None:
    assert surl.to_srm(old) == new


def test_unknown_site_names_the_link() -> None:
    link = "srm://srm.example.org:8443/pnfs/example.org/data/L123456_SB000_uv.MS.tar"
    assert surl.find_site(link) is None
    with pytest.raises(surl.UnknownSiteError) as info:
        surl.site_of(link)
    assert link in str(info.value)
    assert "sara" in info.value.hint
    assert isinstance(info.value, LrtError)
    assert isinstance(info.value, ValueError)
    with pytest.raises(surl.UnknownSiteError):
        surl.to_gsiftp(link)


def test_site_is_recognised_by_host_not_by_path() -> None:
    # A Juelich-looking word in the path does not make a SARA link Juelich's.
    link = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/fz-juelich.de/L1_SB000_x.tar"
    assert surl.site_of(link).name == "sara"


def test_a_known_host_with_a_foreign_prefix_cannot_convert() -> None:
    with pytest.raises(surl.NotASurlError) as info:
        surl.to_gsiftp("srm://other.grid.sara.nl:8443/pnfs/grid.sara.nl/L1_SB000_x.tar")
    assert "other.grid.sara.nl" in str(info.value)


@pytest.mark.parametrize(
    ("link", "obsid"),
    [
        (ROWS[0][1], "L229507"),
        (ROWS[1][2], "L583139"),
        (ROWS[2][3], "L454004"),
        ("srm://x/pnfs/L1_SB000_L2.tar", "L1"),
    ],
)
def test_obsid_is_first_l_digits(link: str, obsid: str) -> None:
    assert surl.obsid_of(link) == obsid


def test_link_without_obsid_names_the_link() -> None:
    link = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/user/sksp/cal_SB000.tar"
    with pytest.raises(surl.NoObsidError) as info:
        surl.obsid_of(link)
    assert link in str(info.value)


def test_subband_default_and_custom_patterns() -> None:
    assert surl.subband_of(ROWS[0][1]) == "100"
    assert surl.subband_of(ROWS[2][1]) == "244"
    assert surl.subband_of("srm://x:1/pnfs/L1_ABN_123.tar", pref="ABN_", suff=r"\.") == "123"
    assert surl.subband_of("srm://x:1/p/L1_SB1234_uv.MS.tar") == "1234"


def test_subband_no_match_names_link_and_pattern() -> None:
    link = "srm://x:1/pnfs/L1_ABN_123.tar"
    with pytest.raises(surl.NoSubbandError) as info:
        surl.subband_of(link)
    assert link in str(info.value)
    assert "SB(.+?)_" in str(info.value)


def test_subband_bad_pattern_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        surl.subband_of("srm://x:1/L1_SB1_x", pref="(")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "srm://srm.grid.sara.nl:8443//pnfs/grid.sara.nl/data/L1_SB000_x.tar",
            "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/L1_SB000_x.tar",
        ),
        (
            "  srm://lta-head.lofar.psnc.pl:8443//lofar/ops/L1_SB000_x.tar\r\n",
            "srm://lta-head.lofar.psnc.pl:8443/lofar/ops/L1_SB000_x.tar",
        ),
        (
            "gsiftp://gridftp.lofar.psnc.pl:2811//lofar/ops/L1_SB000_x.tar",
            "gsiftp://gridftp.lofar.psnc.pl:2811/lofar/ops/L1_SB000_x.tar",
        ),
        # Only Poznan gets the //lofar fix, and the host is never touched.
        (
            "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/L1_SB000_x.tar",
            "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/L1_SB000_x.tar",
        ),
        (
            "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data//lofar/L1_SB000_x.tar",
            "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data//lofar/L1_SB000_x.tar",
        ),
    ],
)
def test_normalise(raw: str, clean: str) -> None:
    assert surl.normalise(raw) == clean
    assert surl.normalise(clean) == clean


def test_conversions_normalise_first() -> None:
    assert surl.to_gsiftp("srm://lta-head.lofar.psnc.pl:8443//lofar/ops/L1_SB0_x.tar") == (
        "gsiftp://gridftp.lofar.psnc.pl:2811/lofar/ops/L1_SB0_x.tar"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ROWS[0][1], True),
        (ROWS[1][2], True),
        (ROWS[2][4], True),
        ("srm://host/p", True),
        ("file:///tmp/L1_SB000.tar", False),
        ("/pnfs/grid.sara.nl/data/L1_SB000.tar", False),
        ("srm://srm.grid.sara.nl:8443", False),
        ("srm://srm.grid.sara.nl:8443/", False),
        (ROWS[0][1] + " file:///tmp/x", False),
        (" " + ROWS[0][1], False),
        (ROWS[0][1] + "\n", False),
        (ROWS[0][3], False),
        ("", False),
    ],
)
def test_is_surl(text: str, expected: bool) -> None:
    assert surl.is_surl(text) is expected
