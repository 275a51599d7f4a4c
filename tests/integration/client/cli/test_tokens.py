"""`lrt tokens ...` and `lrt db ...` in-process: output, exit codes, clear errors, no tracebacks."""

from __future__ import annotations

import io
import json
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.token import TokenHandler
from grid_lrt.client.tokendocs import create_tokens
from grid_lrt.shared.schema import TokenState, new_token
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.paths import DATA
from tests.support.pools import pool_of


@pytest.fixture
def env(
    couchdb_server: CouchServer, couch_db_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PICAS_URL", couchdb_server.url)
    monkeypatch.setenv("PICAS_DB", couch_db_name)
    monkeypatch.setenv("PICAS_USR", couchdb_server.user)
    monkeypatch.setenv("PICAS_USR_PWD", couchdb_server.password)
    return couch_db_name


def make_tokens(n_error: int = 0, n_todo: int = 0) -> TokenHandler:
    th = TokenHandler("cli")
    for i in range(n_error):
        th.create_token(
            keys={"lock": 1, "done": 2, "output": 21, "OBSID": f"L{i % 2}"}, append=f"e{i}"
        )
    for i in range(n_todo):
        th.create_token(append=f"t{i}")
    return th


def test_create_status_json_and_rerun(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["tokens", "create", "cli", "--srm", str(DATA / "srm_50_sara.txt"), "--size", "10"])
        == 0
    )
    assert "cli: 6 created" in capsys.readouterr().out
    assert (
        main(["tokens", "create", "cli", "--srm", str(DATA / "srm_50_sara.txt"), "--size", "10"])
        == 0
    )
    assert "0 created, 6 already existed" in capsys.readouterr().out
    assert main(["tokens", "status", "cli", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["types"]["cli"]["todo"] == 6 and status["types"]["cli"]["total"] == 6
    assert main(["tokens", "status", "cli"]) == 0
    table = capsys.readouterr().out
    assert "todo" in table and "total" in table
    assert main(["tokens", "list", "cli", "todo"]) == 0
    assert capsys.readouterr().out.split() == [f"t_cli_L229507_SB{n}" for n in range(100, 151, 10)]


def test_reset_needs_confirmation_for_many(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    th = make_tokens(n_error=7)
    assert main(["tokens", "reset", "cli", "error"]) == 2
    err = capsys.readouterr().err
    assert "not confirmed" in err and "--yes" in err and "Traceback" not in err
    assert th.pool.counts("cli")["error"] == 7
    assert main(["tokens", "reset", "cli", "error", "--dry-run"]) == 0
    assert "would reset 7 tokens" in capsys.readouterr().out
    assert main(["tokens", "reset", "cli", "error", "--key", "OBSID", "L0", "--yes"]) == 0
    assert "4 reset" in capsys.readouterr().out
    assert main(["tokens", "reset", "cli", "error", "--yes"]) == 0
    assert th.pool.counts("cli")["todo"] == 7


def test_delete_few_without_prompt_and_archive(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    th = make_tokens(n_error=2, n_todo=1)
    assert main(["tokens", "delete", "cli", "error"]) == 0
    assert "2 deleted" in capsys.readouterr().out
    argv = ["tokens", "archive", "cli", "--dest", str(tmp_path), "--delete", "--yes"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "archived 1 tokens" in out and "deleted 0" in out and "kept 1 not finished" in out
    assert main([*argv, "--all-states"]) == 0
    assert "deleted 1" in capsys.readouterr().out
    assert (tmp_path / "tokens_cli.tar.gz").is_file() and (
        tmp_path / "tokens_cli.1.tar.gz"
    ).is_file()
    assert sum(th.pool.counts("cli").values()) == 0


@pytest.mark.parametrize(
    ("argv", "message", "status"),
    [
        (["tokens", "list", "cli", "nosuchview"], "view 'nosuchview' does not exist", 2),
        (
            ["tokens", "status", "cli", "--db", "missing_db"],
            "database 'missing_db' does not exist",
            1,
        ),
        (["tokens", "create", "cli", "--srm", "/nonexistent/srm.txt"], "/nonexistent/srm.txt", 2),
    ],
)
def test_user_mistakes_give_one_clear_error(
    env: str, argv: list[str], message: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == status
    err = capsys.readouterr().err
    assert message in err and err.startswith("error:") and "Traceback" not in err


def test_bad_srm_line_names_file_and_line(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    srm = tmp_path / "srm.txt"
    srm.write_text((DATA / "srm_50_sara.txt").read_text().splitlines()[0] + "\nnot a link\n")
    assert main(["tokens", "create", "cli", "--srm", str(srm)]) == 2
    err = capsys.readouterr().err
    assert "srm.txt" in err and "line 2" in err and "Traceback" not in err


def test_bad_yaml_names_file_line_and_key(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("Token:\n  a: 1\nSandbx: {}\n")
    assert (
        main(
            [
                "tokens",
                "create",
                "cli",
                "--srm",
                str(DATA / "srm_50_sara.txt"),
                "--config",
                str(cfg),
            ]
        )
        == 2
    )
    assert "bad.cfg, line 3: unknown section 'Sandbx'" in capsys.readouterr().err


def test_unreachable_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PICAS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PICAS_DB", "x")
    assert main(["tokens", "status", "cli"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the CouchDB server http://127.0.0.1:9" in err and "Traceback" not in err


def test_no_database_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("PICAS_DB", "PICAS_URL", "PICAS_USR", "PICAS_USR_PWD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["tokens", "status", "x"]) == 2
    assert "no PiCaS database given" in capsys.readouterr().err


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["tokens", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "lrt tokens reset" in out


def test_srm_convert_and_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["srm", "convert", str(DATA / "srm_50_sara.txt"), "--to", "gsiftp"]) == 0
    lines = capsys.readouterr().out.split()
    assert len(lines) == 51 and lines[0].startswith("gsiftp://gridftp.grid.sara.nl:2811/pnfs/")
    assert "L229507_SB100_" in lines[0] and "L229507_SB150_" in lines[-1], "input order"
    assert (
        main(
            ["srm", "split", str(DATA / "srm_50_sara.txt"), "--size", "10", "--out", str(tmp_path)]
        )
        == 0
    )
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"srm_50_sara_SB{n}.txt" for n in range(100, 151, 10)]
    assert len((tmp_path / "srm_50_sara_SB150.txt").read_text().split()) == 1
    assert main(["srm", "split", str(DATA / "srm_50_sara.txt"), "--size", "0"]) == 2
    assert "--size must be at least 1" in capsys.readouterr().err


def test_status_watch_redraws_until_nothing_runs(
    env: str, couchdb_server: CouchServer, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tokens(n_error=1, n_todo=2)
    tokens = pool_of(couch(couchdb_server, env))

    def finish(doc: Dict[str, Any]) -> bool:
        doc.update(lock=1, done=2, output=0)
        return True

    todo = tokens.ids("cli", TokenState.TODO)
    later = threading.Timer(1.0, lambda: tokens.update(todo, finish))
    later.start()
    try:
        assert main(["tokens", "status", "cli", "--watch", "0.3"]) == 0
    finally:
        later.join()
    out = capsys.readouterr().out
    frames = out.split("\n\n")
    assert len(frames) >= 2 and out.count(", final]") == 1
    assert frames[0].split("todo")[1].split()[0] == "2"
    assert frames[-1].split("todo")[1].split()[0] == "0" and "final]" in frames[-1]
    assert main(["tokens", "status", "cli", "--watch", "--json"]) == 2
    assert "--watch draws a table" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bulk_creation_shows_progress_at_a_terminal_only(
    env: str, couchdb_server: CouchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = pool_of(couch(couchdb_server, env))
    docs = [new_token("bulk", f"t_bulk_{i:04d}") for i in range(1200)]  # three batches
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert len(create_tokens(tokens, docs)) == 1200
    shown = screen.getvalue()
    assert "creating tokens:" in shown and "0/1200" in shown and "token/s" in shown
    pipe = io.StringIO()  # not a terminal: no bar
    monkeypatch.setattr(sys, "stderr", pipe)
    assert create_tokens(tokens, docs).existing[:1] == ["t_bulk_0000"]
    assert "creating tokens" not in pipe.getvalue()


def test_creation_and_updates_stream_a_batch_at_a_time(
    env: str, couchdb_server: CouchServer
) -> None:
    """Issue 13 (pools of 10^6 tokens): no operation holds the whole set in memory; the
    first batch is on the server before the next documents are even made or read."""
    db = couch(couchdb_server, env)
    tokens = pool_of(db)
    seen: Dict[str, int] = {}

    def documents() -> Iterator[Dict[str, Any]]:
        for n in range(2500):
            if n == 1500:
                seen["stored when the 1500th is made"] = db.info()["doc_count"]
            yield new_token("stream", f"t_stream_{n:05d}")

    assert len(create_tokens(tokens, documents(), progress=None)) == 2500
    assert seen["stored when the 1500th is made"] >= 1000  # the first batch was written

    calls: List[int] = []

    def mark(doc: Dict[str, Any]) -> bool:
        calls.append(1)
        if len(calls) == 1500:
            done = tokens.docs([f"t_stream_{n:05d}" for n in range(1000)])
            seen["marked when the 1500th is read"] = sum(1 for d in done if d.get("mark"))
        doc["mark"] = True
        return True

    result = tokens.update(tokens.ids("stream"), mark)
    assert len(result.changed) == 2500
    assert seen["marked when the 1500th is read"] == 1000  # a batch read, changed, written
