"""GRID_LRT's srmlist as the testbed notebook (section 3) uses it."""

from __future__ import annotations

import pytest

from grid_lrt.client.staging.srmlist import (
    ObsidMismatchError,
    slice_dicts,
    srmlist,
)
from grid_lrt.shared.errors import LrtError
from tests.unit.client.surls import JUELICH_LINK, SAMPLE_FILE, SARA, SARA_FILE

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
