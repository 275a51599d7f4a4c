"""A step's tokens: links read and grouped per OBSID, chunks of subbands, fields and holds."""

from __future__ import annotations

import base64
import tarfile
from pathlib import Path

import pytest

from grid_lrt.client.campaign.plan import read_links, sandbox_url, step_chunks, step_tokens
from grid_lrt.client.campaign.spec import load_campaign
from grid_lrt.shared.errors import ConfigError
from tests.support.gitkit import make_repos, write_config
from tests.unit.client.campaign.conftest import VALID, Writer


def test_links_are_read_with_obsid_and_subband(folder: Path) -> None:
    path = folder / "mixed.txt"
    path.write_text(
        "# comment\n\n"
        "file:///data/L111_SB002_uv.MS.tar\n"
        "srm://srm.grid.sara.nl:8443//pnfs/grid.sara.nl/data/L222_SB010_uv.MS.tar extra\n"
    )
    assert read_links(path) == [
        ("L111", 2, "file:///data/L111_SB002_uv.MS.tar"),
        ("L222", 10, "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/L222_SB010_uv.MS.tar"),
    ]


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("/data/L1_SB000_x.tar\n", r"line 1: '/data/L1_SB000_x.tar' is not a URL"),
        (
            "file:///a/L1_SB000_x\nfile:///a/L1_SB000_x\n",
            r"line 2: .* listed twice \(also line 1\)",
        ),
        ("file:///a/SB000_x.tar\n", r"line 1: .*no LOFAR observation id"),
        ("file:///a/L1_SBxy_x.tar\n", r"line 1: its subband is not a number"),
        ("# only a comment\n", "lists no links"),
    ],
)
def test_bad_link_files(folder: Path, text: str, pattern: str) -> None:
    path = folder / "bad.txt"
    path.write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        read_links(path)


def test_chunks_per_obsid_of_consecutive_subbands(write: Writer, folder: Path) -> None:
    (folder / "links.txt").write_text(
        "".join(f"file:///d/L9_SB{n:03d}_uv.tar\n" for n in (3, 4, 5, 9))
        + "file:///d/L8_SB000_uv.tar\n"
    )
    campaign = load_campaign(write(VALID))
    chunks = step_chunks(campaign, campaign.steps[1])  # size 2, links from cal
    assert [(c.obsid, c.start, c.subbands) for c in chunks] == [
        ("L8", 0, [0]),
        ("L9", 3, [3, 4]),
        ("L9", 5, [5]),
        ("L9", 9, [9]),
    ]


def test_step_tokens_fields_ids_holds_and_results(write: Writer, folder: Path) -> None:
    campaign = load_campaign(write(VALID))
    cal, target = campaign.steps
    cal_docs = step_tokens(campaign, cal, "file:///s.tar.gz")
    assert [d["_id"] for d in cal_docs] == ["t_t_cal_L654321_SB000", "t_t_cal_L654321_SB004"]
    first = cal_docs[0]
    assert first["OBSID"] == "L654321" and first["STARTSB"] == "000"
    assert first["SBXloc"] == "file:///s.tar.gz" and first["held"] == ""
    assert first["upload"] == {"location": (campaign.workdir / "results" / "cal").as_uri()}
    assert first["campaign"] == {
        "name": "test_campaign",
        "step": "cal",
        "obsid": "L654321",
        "subbands": [0, 1, 2, 3],
    }
    links = base64.b64decode(first["_attachments"]["srm.txt"]["data"]).decode().split()
    assert len(links) == 4 and all("_SB00" in link for link in links)
    target_docs = step_tokens(campaign, target)
    assert len(target_docs) == 4 and {d["held"] for d in target_docs} == {"after:cal"}
    assert "SBXloc" not in target_docs[0] or not target_docs[0]["SBXloc"]
    assert step_tokens(campaign, target) == target_docs  # the same documents every time


def test_a_seed_with_its_own_results_and_sandbox_keeps_them(write: Writer, folder: Path) -> None:
    (folder / "seed.cfg").write_text(
        "apiVersion: 0\nToken:\n  RESULTS_DIR: file:///r/\n  SBXloc: file:///mine.tar\n"
    )
    campaign = load_campaign(write(VALID))
    doc = step_tokens(campaign, campaign.steps[0], "file:///other.tar")[0]
    assert doc["RESULTS_DIR"] == "file:///r/" and "upload" not in doc
    assert doc["SBXloc"] == "file:///mine.tar"


def test_sandboxes_folder_tarball_and_url(write: Writer, folder: Path) -> None:
    text = VALID.replace("    size: 4\n", "    size: 4\n    sandbox: sbx\n")
    campaign = load_campaign(write(text))
    url = sandbox_url(campaign, campaign.steps[0])
    packed = campaign.workdir / "sandboxes" / "cal.tar.gz"
    assert url == packed.as_uri()
    with tarfile.open(packed) as tar:
        assert tar.getnames() == ["master.sh"]
    assert sandbox_url(campaign, campaign.steps[1]) == ""
    first = packed.read_bytes()
    sandbox_url(campaign, campaign.steps[0])
    assert packed.read_bytes() == first  # the same bytes on a re-run
    tarball = folder / "given.tar.gz"
    tarball.write_bytes(first)
    text = VALID.replace("    size: 4\n", "    size: 4\n    sandbox: given.tar.gz\n")
    campaign = load_campaign(write(text))
    assert sandbox_url(campaign, campaign.steps[0]) == tarball.as_uri()


def test_a_sandbox_config_is_checked_then_built_under_the_workdir(
    write: Writer, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repos = make_repos(folder, monkeypatch)
    write_config(folder / "sbx.cfg", repos.base_url)
    text = VALID.replace("    size: 4\n", "    size: 4\n    sandbox: sbx.cfg\n")
    campaign = load_campaign(write(text))
    url = sandbox_url(campaign, campaign.steps[0])
    built = campaign.workdir / "sandboxes" / "cal" / "test_sbx.tar.gz"
    assert url == built.as_uri()
    with tarfile.open(built) as tar:
        assert "master.sh" in tar.getnames() and "tokvar.cfg" in tar.getnames()
    (folder / "sbx.cfg").write_text("apiVersion: 0\nSandbox:\n  name: x\n  colour: red\n")
    with pytest.raises(ConfigError, match=r"sbx.cfg, line 4: unknown Sandbox key 'colour'"):
        load_campaign(write(text))
