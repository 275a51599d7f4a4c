"""The seed TokenHandler API against the real server, with the original's bugs fixed."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import yaml

from grid_lrt.client.token import TokenHandler
from grid_lrt.shared.couch import CouchAuthError, DatabaseNotFoundError
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.schema import TokenState
from tests.support.couchdb import CouchServer


@pytest.fixture
def th(couchdb_server: CouchServer, couch_db_name: str) -> TokenHandler:
    handler = TokenHandler(
        t_type="demo",
        srv=couchdb_server.url,
        uname=couchdb_server.user,
        pwd=couchdb_server.password,
        dbn=couch_db_name,
    )
    handler.add_overview_view()
    handler.add_status_views()
    return handler


def test_views_are_created_and_loaded(th: TokenHandler) -> None:
    assert set(th.views) == {"overview_total", "todo", "locked", "done", "error"}
    th.add_view(v_name="mine", cond="doc.x == 1")
    th.add_mapreduce_view("pref_overview", 'doc.PIPELINE_STEP == "pref_cal1"')
    assert {"mine", "pref_overview"} <= set(th.load_views())
    assert repr(th.views["mine"]) == "<ViewDefinition '_design/demo/_view/mine'>"
    th.del_view("mine")
    assert "mine" not in th.views
    with pytest.raises(UsageError, match="view 'nope' does not exist"):
        th.list_tokens_from_view("nope")


def test_create_token_keeps_user_keys_and_never_overwrites(th: TokenHandler, caplog) -> None:
    tid = th.create_token(keys={"status": "queued", "output": 0, "manual_int": 1024}, append="m")
    assert tid == "t_demo_m"
    doc = th.database[tid]
    assert (doc["status"], doc["output"], doc["manual_int"], doc["lock"]) == ("queued", 0, 1024, 0)
    th.create_token(keys={"manual_int": 1}, append="m")
    assert th.database[tid]["manual_int"] == 1024
    assert "already existed and were left untouched: t_demo_m" in caplog.text


def test_attachments_are_binary_safe(th: TokenHandler, tmp_path: Path) -> None:
    blob = bytes(range(256))
    tid = th.create_token(append="att", attach=[io.BytesIO(blob), "z_first.bin"])
    th.add_attachment(tid, io.StringIO("line\n"), "logs/out.txt")
    # in name order, not in the order added (which Apache CouchDB does not keep)
    assert th.list_attachments(tid) == ["logs/out.txt", "z_first.bin"]
    saved = th.get_attachment(tid, "z_first.bin", savename=str(tmp_path / "x.bin"))
    assert Path(saved).read_bytes() == blob
    assert (
        Path(th.get_attachment(tid, "logs/out.txt", savename=str(tmp_path / "o"))).read_text()
        == "line\n"
    )


def test_rows_and_lengths_like_couchdb_python(th: TokenHandler) -> None:
    th.create_token(append="a")
    rows = th.list_tokens_from_view("todo")
    assert len(rows) == 1
    row = rows[0]
    assert row.id == row["key"] == row.value == "t_demo_a"
    assert set(row.keys()) == {"id", "key", "value"}


def test_set_status_locks_and_reset_scrubs(th: TokenHandler) -> None:
    for n in range(3):
        th.create_token(append=str(n))
    th.set_view_to_status(view_name="todo", status="locked")
    assert len(th.list_tokens_from_view("todo")) == 0
    assert len(th.list_tokens_from_view("locked")) == 3
    assert th.database["t_demo_0"]["lock"] == 1
    result = th.reset_tokens("locked")
    assert len(result) == 3
    doc = th.database["t_demo_0"]
    assert (doc["scrub_count"], doc["lock"], doc["status"]) == (1, 0, "todo")
    assert len(th.reset_tokens("todo")) == 0, "todo tokens are not re-scrubbed"


def test_reset_and_delete_with_key_filter(th: TokenHandler) -> None:
    th.create_token(keys={"OBSID": "L1", "done": 5, "lock": 5, "output": 21}, append="x")
    th.create_token(keys={"OBSID": "L2", "done": 5, "lock": 5, "output": 21}, append="y")
    assert len(th.reset_tokens("error", key=["OBSID", "L1"])) == 1
    assert th.database["t_demo_y"]["output"] == 21
    result = th.delete_tokens("error", key=["OBSID", "L2"])
    assert result.changed == ["t_demo_y"]
    assert "t_demo_y" not in th.database, "a real delete"


def test_remove_error_clear_and_purge(th: TokenHandler) -> None:
    th.create_token(keys={"done": 5, "lock": 5, "output": 99}, append="bad")
    th.create_token(append="ok")
    th.remove_error()
    assert "t_demo_bad" not in th.database and "t_demo_ok" in th.database
    th.clear_all_views()
    assert th.load_views() == {}
    assert "t_demo_ok" not in th.database
    th.create_token(append="again")
    th.purge_tokens()
    assert th.pool.counts("demo") == dict.fromkeys(TokenState, 0)
    assert th.database.get_or_none("_design/demo") is None


def test_archive_tokens_twice_and_delete_after(th: TokenHandler, tmp_path: Path) -> None:
    th.create_token(keys={"OBSID": "L1"}, append="a", attach=[io.BytesIO(b"\x00\xff"), "r/x.bin"])
    (tmp_path / "demo").mkdir()  # the original failed when the folder existed
    (tmp_path / "demo" / "mine.txt").write_text("the user's own file")
    out = th.archive_tokens(compress=True, dest=tmp_path)
    assert Path(out).name == "tokens_demo.tar.gz"
    assert (tmp_path / "demo" / "mine.txt").is_file(), "a folder of the same name is not touched"
    first = Path(out).read_bytes()
    out = th.archive_tokens(delete_on_save=True, compress=True, dest=tmp_path)
    assert Path(out).name == "tokens_demo.1.tar.gz", "the first archive is never replaced"
    assert (tmp_path / "tokens_demo.tar.gz").read_bytes() == first
    with tarfile.open(out) as tar:
        names = sorted(tar.getnames())
        assert names == ["demo", "demo/t_demo_a.dump", "demo/t_demo_a_attachment_r%2Fx.bin"]
        dump = yaml.safe_load(tar.extractfile("demo/t_demo_a.dump").read())  # type: ignore[union-attr]
        assert dump["OBSID"] == "L1" and dump["_attachments"]["r/x.bin"]["length"] == 2
        assert tar.extractfile("demo/t_demo_a_attachment_r%2Fx.bin").read() == b"\x00\xff"  # type: ignore[union-attr]
    assert "t_demo_a" not in th.database


def test_unknown_database_is_a_clear_error(couchdb_server: CouchServer) -> None:
    with pytest.raises(DatabaseNotFoundError, match="'missing_db' does not exist"):
        TokenHandler(
            "x",
            srv=couchdb_server.url,
            uname=couchdb_server.user or "u",
            pwd=couchdb_server.password,
            dbn="missing_db",
        )


def test_wrong_password_is_a_clear_error(couchdb_server: CouchServer, couch_db_name: str) -> None:
    if not couchdb_server.user:
        pytest.skip("the server given by COUCHDB_URL has no admin user to log in as")
    with pytest.raises(
        CouchAuthError, match=f"refused the login of user '{couchdb_server.user}'"
    ) as info:
        TokenHandler(
            "x",
            srv=couchdb_server.url,
            uname=couchdb_server.user,
            pwd="wrong-password",
            dbn=couch_db_name,
        )
    assert "wrong-password" not in str(info.value) + info.value.hint
