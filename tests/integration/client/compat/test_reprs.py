"""The notebook side of the compat API against the real server: a TokenSet and the overview
show themselves as tables, and bulk calls over more than one batch draw a progress bar."""

from __future__ import annotations

from typing import Any, List

import pytest

from grid_lrt.client import tokendocs
from grid_lrt.client.token import TokenHandler, TokenSet
from tests.support.couchdb import CouchServer


@pytest.fixture
def th(couchdb_server: CouchServer, couch_db_name: str) -> TokenHandler:
    handler = TokenHandler(
        t_type="shown",
        srv=couchdb_server.url,
        uname=couchdb_server.user,
        pwd=couchdb_server.password,
        dbn=couch_db_name,
    )
    handler.add_overview_view()
    handler.add_status_views()
    return handler


def chunks(n: int) -> dict[int, list[str]]:
    return {k: [f"srm://srm.grid.sara.nl:8443/pnfs/L1/L1_SB{k:04d}.tar"] for k in range(n)}


def test_token_set_and_overview_reprs(th: TokenHandler, couchdb_server: CouchServer) -> None:
    ts = TokenSet(th)
    assert repr(ts).endswith("tokens=0>\n(no tokens)")
    ts.create_dict_tokens(chunks(12), id_append="L1", file_upload="srm.txt")
    th.set_view_to_status("todo", "locked")
    th.reset_tokens("locked", key=["STARTSB", "003"])
    lines = repr(ts).splitlines()
    assert (
        lines[0] == f"<TokenSet type='shown' db={th.database.name!r} tokens=12: todo 1, locked 11>"
    )
    assert lines[3:5] == ["t_shown_L1_SB000  locked", "t_shown_L1_SB001  locked"]
    assert "t_shown_L1_SB003  todo" in lines and lines[-1] == "... and 2 more"
    overview = th.list_tokens_from_view("overview_total")
    assert repr(overview).splitlines()[3:] == [
        "locked      11",
        "todo         1",
        "------  ------",
        "total       12",
    ]
    assert "<td>locked</td><td>11</td>" in overview._repr_html_()
    shown = repr(ts) + ts._repr_html_() + repr(overview) + overview._repr_html_()
    assert couchdb_server.password not in shown and couchdb_server.url not in shown


def test_bulk_calls_over_one_batch_draw_a_bar(
    th: TokenHandler, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    bars: List[str] = []
    real = tokendocs.progress_bar

    def recording(total: int, desc: str, unit: str = "it", **options: Any) -> Any:
        bars.append(f"{desc} {total}")
        return real(total, desc, unit, **options)  # a real tqdm bar (hidden: not a terminal)

    monkeypatch.setattr(tokendocs, "progress_bar", recording)
    monkeypatch.setattr(tokendocs, "BATCH", 10)  # a batch of the bars (not of the requests)
    ts = TokenSet(th)
    assert len(ts.create_dict_tokens(chunks(25), id_append="L1")) == 25
    (tmp_path / "a.parset").write_text("steps = []\n")
    assert len(ts.add_attach_to_list(str(tmp_path / "a.parset"))) == 25
    assert len(ts.add_keys_to_list("OBSID", "L1")) == 25
    assert len(th.set_view_to_status("todo", "locked")) == 25
    assert len(th.reset_tokens("locked")) == 25
    assert len(th.delete_tokens("todo")) == 25
    assert bars == [
        "creating tokens 25",
        "attaching a.parset 25",
        "setting OBSID 25",
        "setting locked 25",
        "resetting tokens 25",
        "deleting tokens 25",
    ]
    ts.create_dict_tokens(chunks(5), id_append="L1")
    th.purge_tokens()  # five tokens: one batch, no bar
    assert len(bars) == 6 and ts.tokens == []
