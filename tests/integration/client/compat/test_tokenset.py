"""TokenSet: bulk creation through _bulk_docs, idempotent re-runs, bulk edits."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from grid_lrt.client.token import TokenHandler, TokenSet
from grid_lrt.shared.errors import ConfigError, UsageError
from tests.support.couchdb import CouchServer
from tests.support.paths import SAMPLE

CONFIG = SAMPLE / "tutorial.cfg"


@pytest.fixture
def th(couchdb_server: CouchServer, couch_db_name: str) -> TokenHandler:
    return TokenHandler(
        "set",
        srv=couchdb_server.url,
        uname=couchdb_server.user,
        pwd=couchdb_server.password,
        dbn=couch_db_name,
    )


def count_requests(th: TokenHandler) -> Counter[str]:
    seen: Counter[str] = Counter()

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        last = urlsplit(response.request.url).path.rsplit("/", 1)[-1]
        seen[f"{response.request.method} {last}"] += 1

    th.database.session.hooks["response"].append(hook)
    return seen


def chunks(n: int) -> dict[int, list[str]]:
    return {
        k: [f"srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/L1/L1_SB{k:03d}.tar"]
        for k in range(n)
    }


def test_creation_is_bulk_not_per_token(th: TokenHandler) -> None:
    ts = TokenSet(th, CONFIG)
    seen = count_requests(th)
    result = ts.create_dict_tokens(chunks(2500), id_append="L1", file_upload="srm.txt")
    assert len(result.changed) == 2500
    assert seen["POST _bulk_docs"] == 3, seen  # batches of 1,000
    assert sum(seen.values()) == 3, seen
    doc = th.database["t_set_L1_SB2499"]
    assert doc["STARTSB"] == "2499" and doc["status"] == "queued" and doc["type"] == "set"
    assert th.database.get_attachment(doc["_id"], "srm.txt").endswith(b"L1_SB2499.tar\n")


def test_rerun_reports_existing_and_never_overwrites(th: TokenHandler) -> None:
    ts = TokenSet(th)
    ts.create_dict_tokens(chunks(3), file_upload="srm.txt")
    doc = th.database["t_set_L000000_SB001"]
    doc["mine"] = "keep"
    th.database.save(doc)
    result = TokenSet(th, CONFIG).create_dict_tokens(chunks(5), file_upload="srm.txt")
    assert sorted(result.existing) == [f"t_set_L000000_SB00{i}" for i in range(3)]
    assert sorted(result.changed) == ["t_set_L000000_SB003", "t_set_L000000_SB004"]
    kept = th.database["t_set_L000000_SB001"]
    assert kept["mine"] == "keep" and kept["status"] == "todo"
    assert ts.tokens == [f"t_set_L000000_SB00{i}" for i in range(5)]


def test_pipeline_step_goes_into_the_id(th: TokenHandler, tmp_path: Path) -> None:
    cfg = tmp_path / "step.cfg"
    cfg.write_text("Token:\n  PIPELINE_STEP: pref_cal1\n")
    TokenSet(th, cfg).create_dict_tokens({"120": ["x"]}, id_append="L9")
    assert "t_set_L9_pref_cal1_SB120" in th.database


def test_bad_keys_and_type_mismatch(th: TokenHandler, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="key 'abc' of the token dict is not a subband number"):
        TokenSet(th).create_dict_tokens({"abc": ["x"]})
    with pytest.raises(UsageError, match="would be created twice"):
        TokenSet(th).create_dict_tokens([("1", ["x"]), ("001", ["y"])])
    cfg = tmp_path / "t.cfg"
    cfg.write_text("Token:\n  type: other\n")
    with pytest.raises(ConfigError, match="differs from the TokenHandler's type 'set'"):
        TokenSet(th, cfg)


def test_bulk_keys_and_attachments(th: TokenHandler) -> None:
    ts = TokenSet(th)
    ts.create_dict_tokens(chunks(30), file_upload="srm.txt")
    seen = count_requests(th)
    assert len(ts.add_keys_to_list("OBSID", 229507)) == 30
    assert len(ts.add_attach_to_list(io.BytesIO(b"\x00parset\xff"), name="x.parset")) == 30
    assert seen["POST _bulk_docs"] == 2, seen
    doc = th.database["t_set_L000000_SB017"]
    assert doc["OBSID"] == "229507"
    assert sorted(doc["_attachments"]) == ["srm.txt", "x.parset"]
    assert th.database.get_attachment(doc["_id"], "x.parset") == b"\x00parset\xff"
    assert len(ts.add_keys_to_list("OBSID", "229507")) == 0, "unchanged tokens are not rewritten"


def test_archive_a_token_and_from_view(
    th: TokenHandler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    TokenSet(th).create_dict_tokens(chunks(2), file_upload="srm.txt")
    files = th.archive_a_token("t_set_L000000_SB000")
    assert sorted(Path(f).name for f in files) == [
        "t_set_L000000_SB000.dump",
        "t_set_L000000_SB000_attachment_srm.txt",
    ]
    files = th.archive_tokens_from_view("todo", delete_on_save=True)
    assert len(files) == 4
    assert th.pool.ids("set") == []
