"""The packaged sample campaign (client/data/campaign) is valid, and `lrt campaign sample`
writes it with its inputs as local files."""

from __future__ import annotations

import tarfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from grid_lrt.client.campaign.plan import read_links, step_chunks
from grid_lrt.client.campaign.spec import load_campaign
from grid_lrt.client.cli.main import main
from grid_lrt.client.devtools.tapefolder import TapeFolder
from tests.support.paths import ROOT

SAMPLE = ROOT / "client" / "data" / "campaign" / "campaign.yaml"


def test_the_packaged_sample_loads() -> None:
    campaign = load_campaign(SAMPLE)
    cal, target = campaign.steps
    assert (cal.name, cal.size, target.after, target.group_by) == ("cal", 4, "cal", "subband-group")
    assert [c.subbands for c in step_chunks(campaign, cal)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(step_chunks(campaign, target)) == 4


def test_sample_writes_the_campaign_and_its_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert main(["campaign", "sample", str(folder)]) == 0
    assert "lrt campaign run" in capsys.readouterr().out
    links = read_links(folder / "srm_L654321.txt")
    assert [sb for _obsid, sb, _link in links] == list(range(8))
    for _obsid, subband, link in links:
        path = Path(unquote(urlsplit(link).path))
        assert path.is_relative_to(folder / "archive")
        with tarfile.open(path) as tar:
            assert tar.getnames() == [f"L654321_SB{subband:03d}_uv.MS/table.dat"]
    assert load_campaign(folder / "campaign.yaml").steps[0].srm == folder / "srm_L654321.txt"
    assert main(["campaign", "sample", str(folder)]) == 2  # not over a non-empty folder
    assert "is not empty" in capsys.readouterr().err


def test_a_staged_sample_of_240_subbands_mostly_on_tape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "big"
    assert main(["campaign", "sample", str(folder), "--subbands", "240", "--stage"]) == 0
    out = capsys.readouterr().out
    door = (folder / "archive" / "disk").as_uri()
    assert "240 input files, 216 of them on tape" in out
    assert f"export LRT_DATA_DOOR={door}" in out
    campaign = load_campaign(folder / "campaign.yaml")
    cal, target = campaign.steps
    assert cal.stage and not target.stage and (cal.size, target.size) == (20, 10)
    assert len(step_chunks(campaign, cal)) == 12 and len(step_chunks(campaign, target)) == 24
    links = [link for _obsid, _sb, link in read_links(folder / "srm_L654321.txt")]
    assert len(links) == 240 and all(
        link.startswith("srm://srm.grid.sara.nl:8443/") for link in links
    )
    archive = TapeFolder(folder / "archive")
    assert sum(archive.is_online(link) for link in links) == 24
    assert len(list((folder / "archive" / "tape").rglob("*.tar"))) == 240


def test_sample_subbands_must_be_an_observation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["campaign", "sample", str(tmp_path / "x"), "--subbands", "0"]) == 2
    assert "1 to 488 subbands" in capsys.readouterr().err
