"""GRID_LRT's and ASTRON 2.0's ``stager_access`` functions on whichever service the credentials
select: the StageIT simulator with an ``api_token=`` ~/.stagingrc, the LTA simulator with a
user/password (issue 11)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.client.devtools.stageit_simulator import StageItSimulator
from grid_lrt.client.staging import stage_all_LTA, stager_access
from grid_lrt.client.staging.lta import LtaStager
from grid_lrt.client.staging.stageit import StageItNotOfferedError, StageItStager
from grid_lrt.shared import surl

TOKEN = "tok-compat-71c2a9e5d3"
PASSWORD = "lta-compat-Pw"
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507"


def sara(n: int, extra: str = "") -> list[str]:
    return [f"{SARA}/L229507_SB{i:03d}_uv{extra}.MS.tar" for i in range(n)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in (
        "LOFAR_LTA_TOKEN",
        "LOFAR_LTA_HOST",
        "LRT_STAGEIT_URL",
        "LOFAR_LTA_USER",
        "LOFAR_LTA_PWD",
        "LRT_LTA_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    stager_access.set_default_stager(None)
    yield tmp_path
    stager_access.set_default_stager(None)  # closes the stager used


@pytest.fixture
def stageit(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StageItSimulator]:
    with StageItSimulator(token=TOKEN, delay=0.2, doors="https://127.0.0.1:2880") as sim:
        for key, value in sim.client_env.items():
            monkeypatch.setenv(key, value)
        sim.write_stagingrc(home / ".stagingrc")
        yield sim


@pytest.fixture
def lta(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LtaSimulator]:
    with LtaSimulator(user="alice", password=PASSWORD, delay=0.05) as sim:
        monkeypatch.setenv("LRT_LTA_URL", sim.url)
        (home / ".stagingrc").write_text(f"user=alice\npassword={PASSWORD}\n")
        (home / ".stagingrc").chmod(0o600)
        yield sim


def _until_done(stageid: int) -> str:
    deadline = time.monotonic() + 10
    while (status := stager_access.get_status(stageid)) in ("new", "scheduled", "in progress"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return status


def test_stageit_every_function(stageit: StageItSimulator) -> None:
    links = sara(2)
    stageid = stager_access.stage(links[0])
    assert isinstance(stageid, int)
    assert isinstance(stager_access.default_stager(), StageItStager)
    assert stageit.requests_seen[0].body["surls"] == [links[0]]
    assert stager_access.get_surls_requested(stageid) == [links[0]]
    assert stager_access.get_surls_pending(stageid) == [links[0]]
    assert _until_done(stageid) == "success"
    assert stager_access.get_surls_online(stageid) == [links[0]]
    assert stager_access.get_surls_pending(stageid) == []
    assert stager_access.get_surls_failed(stageid) == {}
    assert stager_access.get_srm_token(stageid)
    (entry,) = stager_access.get_macaroons(stageid)
    assert list(entry) == ["sara"] and entry["sara"].startswith("MDA")
    assert stager_access.get_webdav_urls_requested(stageid) == {
        links[0]: "https://127.0.0.1:2880" + surl.path_of(links[0])
    }
    assert stager_access.get_gridftp_urls_requested(stageid) == {links[0]: surl.to_gsiftp(links[0])}
    progress = stager_access.get_progress()
    assert progress[str(stageid)]["currentStatusCode"] == "C"
    assert str(stageid) in stager_access.get_progress("C", only_last24h=True)
    assert stager_access.get_progress("C", exclude=True) == {}
    assert stager_access.reschedule(stageid)["current_status_code"] == "S"
    assert stager_access.get_status(stageid) == "scheduled"
    stager_access.abort(stageid)
    assert stager_access.get_status(stageid) == "aborted"
    with pytest.raises(StageItNotOfferedError, match="not offered by StageIT"):
        stager_access.get_storage_info()


def test_stageit_failed_files_and_notifications(stageit: StageItSimulator) -> None:
    bad = sara(1, extra="_fail")[0]
    stageid = stager_access.stage([*sara(1), bad], send_notifications=False)
    assert stageit.requests_seen[0].body["notify"] is False
    assert _until_done(stageid) == "partial"
    assert list(stager_access.get_surls_failed(stageid)) == [bad]


def test_stageit_stage_all_lta(stageit: StageItSimulator, tmp_path: Path) -> None:
    srm = tmp_path / "srm.txt"
    srm.write_text("\n".join(sara(4)) + "\n")
    stageid = stage_all_LTA.main(srm)
    assert stageit.calls["POST requests/"] == 1
    assert stage_all_LTA.get_stage_status(stageid) in ("new", "scheduled")
    assert len(stager_access.get_progress()[str(stageid)]["surls"]) == 4


def test_xmlrpc_seed_functions(lta: LtaSimulator) -> None:
    stageid = stager_access.stage(sara(1)[0])
    assert isinstance(stager_access.default_stager(), LtaStager)
    assert lta.calls["add_getid"] == 1
    assert stager_access.get_progress()[str(stageid)]["File count"] == "1"
    assert stager_access.get_srm_token(stageid)
    assert _until_done(stageid) == "success"
    assert stager_access.get_surls_online(stageid) == sara(1)
    assert stager_access.reschedule(stageid) is True
    stager_access.abort(stageid)
    assert stager_access.get_status(stageid) == "aborted"
    assert stager_access.get_storage_info()


@pytest.mark.parametrize(
    "call",
    [
        lambda: stager_access.get_surls_requested(1),
        lambda: stager_access.get_surls_pending(1),
        lambda: stager_access.get_surls_failed(1),
        lambda: stager_access.get_macaroons(1),
        lambda: stager_access.get_webdav_urls_requested(1),
        lambda: stager_access.get_gridftp_urls_requested(1),
        lambda: stager_access.get_progress("S"),
        lambda: stager_access.get_progress(only_last24h=True),
    ],
)
def test_xmlrpc_refuses_the_20_only_functions(lta: LtaSimulator, call: object) -> None:
    with pytest.raises(stager_access.NeedsStageItError, match="needs StageIT") as info:
        call()  # type: ignore[operator]
    assert "api_token=" in info.value.hint and PASSWORD not in str(info.value)
    assert sum(lta.calls.values()) == 0
