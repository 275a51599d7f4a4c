"""What a new user met with `lrt` (issue 12, "found when tried as a new user"), one test each."""

from __future__ import annotations

import re
import shlex

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
