"""Held-until-staged tokens: release moves exactly the tokens whose files are all online.

The locality checker is injected here (the gfal2 checker is tested against real gfal2 in
test_gfal.py, and end to end with the simulator in test_stage_e2e.py); CouchDB is real.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import pytest

from grid_lrt.client.staging.base import FileState
from grid_lrt.client.staging.release import release_staged, status_url
from grid_lrt.client.token import TokenHandler, TokenSet
from grid_lrt.shared.schema import TokenState
from tests.support.couchdb import CouchServer

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/x/1/L1_SB{:03d}_uv.MS_a.tar"


class Locality:
    """Locality by URL, as a storage would report it; changes when the test says so."""

    def __init__(self) -> None:
        self.states: Dict[str, FileState] = {}
        self.calls = 0

    def __call__(self, urls: Sequence[str]) -> List[Tuple[str, FileState, str]]:
        self.calls += 1
        return [(u, self.states.get(u, FileState.NEARLINE), "") for u in urls]


@pytest.fixture
def th(couchdb_server: CouchServer, couch_db_name: str) -> TokenHandler:
    return TokenHandler(
        "stg",
        srv=couchdb_server.url,
        uname=couchdb_server.user,
        pwd=couchdb_server.password,
        dbn=couch_db_name,
    )


def test_status_url_forms() -> None:
    link = SARA.format(1)
    assert (
        status_url(link)
        == "srm://srm.grid.sara.nl:8443/srm/managerv2?SFN=/pnfs/grid.sara.nl/data/lofar/ops/projects/x/1/L1_SB001_uv.MS_a.tar"
    )
    assert (
        status_url(link, "https://127.0.0.1:9/")
        == "https://127.0.0.1:9/pnfs/grid.sara.nl/data/lofar/ops/projects/x/1/L1_SB001_uv.MS_a.tar"
    )
    assert status_url("mock://h/f?user.status=ONLINE") == "mock://h/f?user.status=ONLINE"


def test_release_exactly_when_all_files_online(th: TokenHandler) -> None:
    chunks = {
        0: [SARA.format(0), SARA.format(1)],
        2: [SARA.format(2), SARA.format(3)],
        4: [SARA.format(4)],
    }
    TokenSet(th).create_dict_tokens(chunks, id_append="L1", file_upload="srm.txt", hold="staging")
    assert th.pool.counts("stg")[TokenState.WAITING] == 3
    assert th.pool.counts("stg")[TokenState.TODO] == 0, "held tokens are never todo"
    where = Locality()

    report = release_staged(th.pool, "stg", where)
    assert report.released == [] and sorted(report.waiting.values()) == [1, 2, 2]

    where.states[status_url(SARA.format(0))] = FileState.ONLINE  # half of chunk 0
    where.states[status_url(SARA.format(2))] = FileState.ONLINE_AND_NEARLINE
    where.states[status_url(SARA.format(3))] = FileState.ONLINE  # all of chunk 2
    where.states[status_url(SARA.format(4))] = FileState.LOST
    report = release_staged(th.pool, "stg", where)
    assert report.released == ["t_stg_L1_SB002"]
    assert report.lost == {"t_stg_L1_SB004": [status_url(SARA.format(4))]}
    assert report.waiting == {"t_stg_L1_SB000": 1}
    assert th.pool.ids("stg", TokenState.TODO) == ["t_stg_L1_SB002"]
    assert "lost" in th.database["t_stg_L1_SB004"]["launcher_status"]
    assert th.database["t_stg_L1_SB002"]["status"] == "todo"

    where.states[status_url(SARA.format(1))] = FileState.ONLINE
    assert release_staged(th.pool, "stg", where).released == ["t_stg_L1_SB000"]
    counts = th.pool.counts("stg")
    assert (counts[TokenState.TODO], counts[TokenState.WAITING]) == (2, 1)
    assert where.calls == 3, "one concurrent check per pass, not one per token"


def test_token_without_list_is_reported(th: TokenHandler) -> None:
    th.create_token(keys={"held": "staging"}, append="nolist")
    report = release_staged(th.pool, "stg", Locality())
    assert "no srm.txt" in report.errors["t_stg_nolist"]
