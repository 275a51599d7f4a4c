"""`lrt db create --partitioned` and `--db-partition`, on whichever server the tests have: a server
without partitions (pouchdb-server) is met with a message and nothing left behind."""

from __future__ import annotations

import uuid

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.partitions import is_partitioned
from tests.integration.client.conftest import CliEnv


def test_db_create_partitioned_makes_one_or_says_the_server_cannot(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    server = cli_env.server
    name = f"test_part_{uuid.uuid4().hex[:10]}"
    db = CouchDB(server.url, name, user=server.user, password=server.password)
    try:
        code = main(["db", "create", "--partitioned", name])
        out, err = capsys.readouterr()
        if server.kind == "couchdb":  # Apache CouchDB 3: it has partitions
            assert code == 0, err
            assert f"partitioned database {name} created" in out
            assert is_partitioned(db.info())
        else:
            assert code == 2
            assert "made no partitioned database" in err and "Apache CouchDB 3" in err
            assert "Traceback" not in err
            assert not db.exists()  # the plain database the server made instead is gone
    finally:
        if db.exists():
            db.drop()


def test_db_create_partitioned_of_an_existing_plain_database_keeps_it(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "create", "--partitioned"]) == 2
    assert "existed already, unpartitioned" in capsys.readouterr().err
    assert cli_env.db.exists()


def test_status_of_a_partition_of_a_plain_database_is_a_message(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "status", "cal", "--db-partition", "L1"]) == 1
    err = capsys.readouterr().err
    assert "is not partitioned" in err and "Traceback" not in err
    assert main(["tokens", "status", "cal", "--db-partition", "_x"]) == 2
    assert "cannot name a partition" in capsys.readouterr().err
