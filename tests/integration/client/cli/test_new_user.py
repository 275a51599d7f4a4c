"""What a new user met with `lrt` (issue 12, "found when tried as a new user"), one test each."""

from __future__ import annotations

import http.server
import io
import json
import re
import shlex
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from grid_lrt.client.cli import dev
from grid_lrt.client.cli.main import build_parser, main
from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.client.token import TokenHandler
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.schema import TokenState
from tests.integration.client.conftest import CliEnv
from tests.support.paths import DATA


def test_missing_database_hint_names_a_command_that_works(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"{cli_env.name}_new"
    assert main(["tokens", "status", "x", "--db", name]) == 1
    err = capsys.readouterr().err
    hinted = re.search(r"`(lrt [^`]+)`", err)
    assert hinted is not None, err
    words = shlex.split(hinted.group(1))
    assert words == ["lrt", "db", "create", name]
    build_parser().parse_args(words[1:])  # it parses (exit 2 would raise SystemExit)
    server = cli_env.server
    db = CouchDB(server.url, name, user=server.user, password=server.password)
    try:
        assert main(words[1:]) == 0
        assert f"database {name} created" in capsys.readouterr().out
        assert main(["tokens", "status", "x", "--db", name]) == 0
    finally:
        db.drop()


def test_db_create_name_and_a_different_db_is_refused(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "create", "one", "--db", "two"]) == 2
    assert "two databases named" in capsys.readouterr().err


class _WebPage(http.server.BaseHTTPRequestHandler):
    """A web server that is not CouchDB: an HTML page for every path, with a chosen status."""

    status = 200

    def do_GET(self) -> None:
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[200, 404, 401])
def web_page(request: pytest.FixtureRequest) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    server.status = request.param  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("verb", [["tokens", "status", "x"], ["db", "info"]])
def test_a_web_page_is_not_a_couchdb_server(
    web_page: str,
    verb: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PICAS_URL", web_page)
    monkeypatch.setenv("PICAS_DB", "sksp")
    monkeypatch.delenv("PICAS_USR", raising=False)
    monkeypatch.delenv("PICAS_USR_PWD", raising=False)
    assert main(verb) == 2
    err = capsys.readouterr().err
    assert f"{web_page} is not a CouchDB server" in err
    assert "<html" not in err and "does not exist" not in err and "Traceback" not in err


def _tokens(cli_env: CliEnv, n_error: int) -> TokenHandler:
    th = TokenHandler("nu")
    for i in range(n_error):
        th.create_token(keys={"lock": 1, "done": 2, "output": 21, "OBSID": "L1"}, append=f"e{i}")
    return th


def test_delete_key_matching_none_says_so(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _tokens(cli_env, 2)
    assert main(["tokens", "delete", "nu", "error", "--key", "OBSID", "L9"]) == 0
    out = capsys.readouterr().out
    assert "--key OBSID L9 matched none of the 2 tokens of type nu in error" in out
    assert "no tokens of type" not in out
    assert sum(cli_env.pool.counts("nu").values()) == 2


def test_status_of_a_type_without_tokens_hints_on_stderr(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "status", "nosuchtype"]) == 0
    captured = capsys.readouterr()
    assert "total" in captured.out
    assert "no tokens of type nosuchtype" in captured.err
    assert "lrt tokens status" in captured.err


def test_status_json_has_one_shape_for_one_type_and_all(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _tokens(cli_env, 1)
    assert main(["tokens", "status", "nu", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["tokens", "status", "--json"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert set(one) == set(every) == {"database", "types"}
    assert one["types"]["nu"] == every["types"]["nu"]
    assert one["types"]["nu"]["error"] == 1 and one["types"]["nu"]["total"] == 1


def test_status_help_documents_no_view(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["tokens", "status", "--help"])
    out = capsys.readouterr().out
    assert "VIEW" not in out and "example" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_declining_at_the_terminal_is_no_error(
    cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _tokens(cli_env, 7)
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    assert main(["tokens", "reset", "nu", "error"]) == 0
    err = capsys.readouterr().err
    assert "[y/N]" in err and "answered no: reset of 7 tokens cancelled" in err
    assert cli_env.pool.counts("nu")[TokenState.ERROR] == 7
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    argv = ["tokens", "archive", "nu", "--dest", str(cli_env.home / "a"), "--delete"]
    assert main(argv) == 0
    assert "answered no: nothing was archived or deleted" in capsys.readouterr().err
    assert not (cli_env.home / "a").exists()


def test_no_terminal_and_no_yes_is_still_a_usage_error(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _tokens(cli_env, 7)
    assert main(["tokens", "delete", "nu", "error"]) == 2
    err = capsys.readouterr().err
    assert "not confirmed" in err and "--yes" in err


def _srm_lines(n: int) -> list[str]:
    return (DATA / "srm_50_sara.txt").read_text(encoding="utf-8").splitlines()[:n]


def test_split_without_out_writes_a_folder_named_after_the_list_and_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    links = tmp_path / "obs.txt"
    links.write_text("\n".join(_srm_lines(25)) + "\n", encoding="utf-8")
    assert main(["srm", "split", str(links), "--size", "10"]) == 0
    assert sorted(p.name for p in (tmp_path / "obs_chunks").iterdir()) == [
        "obs_SB100.txt",
        "obs_SB110.txt",
        "obs_SB120.txt",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obs.txt", "obs_chunks"]
    capsys.readouterr()
    (tmp_path / "obs_chunks" / "obs_SB100.txt").write_text("mine\n", encoding="utf-8")
    assert main(["srm", "split", str(links), "--size", "10"]) == 2
    err = capsys.readouterr().err
    assert "exist already" in err and "--force" in err
    assert (tmp_path / "obs_chunks" / "obs_SB100.txt").read_text(encoding="utf-8") == "mine\n"
    assert main(["srm", "split", str(links), "--size", "10", "--force"]) == 0
    assert len((tmp_path / "obs_chunks" / "obs_SB100.txt").read_text().split()) == 10


def test_duplicate_lines_are_counted_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _srm_lines(3)
    links = tmp_path / "dups.txt"
    links.write_text("\n".join([*lines, lines[0], lines[1]]) + "\n", encoding="utf-8")
    assert main(["srm", "convert", str(links), "--to", "srm"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.split()) == 3
    assert "2 duplicate lines dropped (5 links, 3 different)" in captured.err


def test_stage_status_of_an_unknown_id_fails_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("LOFAR_LTA_TOKEN", "LOFAR_LTA_HOST"):
        monkeypatch.delenv(name, raising=False)
    with LtaSimulator(user="lta-user", password="lta-secret") as lta:
        monkeypatch.setenv("LRT_LTA_URL", lta.url)
        monkeypatch.setenv("LOFAR_LTA_USER", "lta-user")
        monkeypatch.setenv("LOFAR_LTA_PWD", "lta-secret")
        assert main(["stage", "status", "987654"]) == 1
    err = capsys.readouterr().err
    assert "stage request 987654 is unknown" in err and "lrt stage status" in err


def _export(line: str) -> dict[str, str]:
    words = shlex.split(line)
    assert words[0] == "export"
    return dict(word.split("=", 1) for word in words[1:])


def test_lta_simulator_prints_a_usable_export_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("LRT_SIM_LTA_PWD", raising=False)
    for name in ("LOFAR_LTA_TOKEN", "LOFAR_LTA_HOST"):
        monkeypatch.delenv(name, raising=False)
    results: list[int] = []

    def while_running(*_stop: object) -> int:  # runs instead of the wait for Ctrl-C
        printed = capsys.readouterr().out.splitlines()
        exports = _export(printed[1])
        assert exports["LOFAR_LTA_PWD"] == "lta-secret"  # the loopback simulator's password
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        submitted = tmp_path / "srm.txt"
        submitted.write_text(_srm_lines(1)[0] + "\n", encoding="utf-8")
        results.append(main(["stage", "submit", str(submitted)]))
        return 0

    monkeypatch.setattr(dev, "run_until_stopped", while_running)
    assert main(["dev", "lta-simulator", "--port", "0", "--delay", "0.1"]) == 0
    assert results == [0]  # the exported credentials were accepted


def test_lta_simulator_with_a_chosen_password_names_the_variable() -> None:
    line = dev.lta_exports("http://127.0.0.1:1/", "u", password_from_env=True)
    assert _export(line)["LOFAR_LTA_PWD"] == "$LRT_SIM_LTA_PWD"
    assert 'LOFAR_LTA_PWD="$LRT_SIM_LTA_PWD"' in line  # the shell expands it
