"""What a new user met with `lrt` (issue 12, "found when tried as a new user"), one test each."""

from __future__ import annotations

import http.server
import re
import shlex
import threading
from pathlib import Path
from typing import Iterator

import pytest

from grid_lrt.client.cli.main import build_parser, main
from grid_lrt.shared.couch import CouchDB
from tests.integration.client.conftest import CliEnv


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
