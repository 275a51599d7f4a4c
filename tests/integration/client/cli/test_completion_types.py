"""TAB on a TYPE argument offers the token types of the real test database, within seconds
and silently nothing when the server does not answer."""

from __future__ import annotations

import os
from typing import Dict

import pytest

from grid_lrt.client.cli.completers import TIMEOUT
from grid_lrt.client.cli.main import main
from tests.integration.client.conftest import CliEnv
from tests.support.completion import complete
from tests.support.paths import DATA

CAL = "L229507_cal1"
TARGET = "L229507_targ1"


@pytest.fixture
def two_types(cli_env: CliEnv, capsys: pytest.CaptureFixture[str]) -> Dict[str, str]:
    """The test database with tokens of two types; the environment ``lrt`` runs with."""
    for t_type in (CAL, TARGET):
        srm = str(DATA / "srm_50_sara.txt")
        assert main(["tokens", "create", t_type, "--srm", srm, "--size", "25"]) == 0
    capsys.readouterr()
    return dict(os.environ)  # cli_env set PICAS_* and HOME here


def test_a_type_completes_with_the_types_of_the_database(two_types: Dict[str, str]) -> None:
    done = complete("lrt tokens status ", two_types)
    assert done.returncode == 0, done.stderr
    assert done.words == [CAL, TARGET]
    assert done.stdout == "" and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "line",
    [
        "lrt tokens status L229507_t",
        "lrt tokens reset L229507_t",
        "lrt tokens archive L229507_t",
        "lrt report L229507_t",
        "lrt stage release L229507_t",
        "lrt submit --backend local --type L229507_t",
        "lrt jobs status L229507_t",
    ],
)
def test_a_prefix_completes_the_matching_type_only(line: str, two_types: Dict[str, str]) -> None:
    assert complete(line, two_types).words == [TARGET]


def test_url_and_db_on_the_line_choose_the_database(
    two_types: Dict[str, str], cli_env: CliEnv
) -> None:
    env = {k: v for k, v in two_types.items() if k not in ("PICAS_URL", "PICAS_DB")}
    line = f"lrt tokens list --url {cli_env.server.url} --db {cli_env.name} L"
    assert complete(line, env).words == [CAL, TARGET]
    line = f"lrt tokens list --url {cli_env.server.url} --db {cli_env.name}_none L"
    assert complete(line, env).words == []


def test_an_unreachable_server_completes_nothing_quietly(
    two_types: Dict[str, str], cli_env: CliEnv
) -> None:
    env = {**two_types, "PICAS_URL": "http://127.0.0.1:9"}
    done = complete("lrt tokens status ", env)
    assert done.returncode == 0
    assert done.words == []
    assert done.stdout == "" and done.stderr.strip() == ""
    assert done.seconds < TIMEOUT + 10  # the interpreter's start-up included
    password = cli_env.server.password
    if password:
        assert password not in done.stdout + done.stderr
