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
