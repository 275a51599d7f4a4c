"""Fixtures of the client's integration tests: the PiCaS environment of an `lrt` command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.pool import CouchTokenPool
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.pools import pool_of


@dataclass
class CliEnv:
    """The database an ``lrt`` command run in-process talks to, and a home folder for it."""

    server: CouchServer
    name: str
    db: CouchDB
    pool: CouchTokenPool
    home: Path


@pytest.fixture
def cli_env(
    couchdb_server: CouchServer, couch_db_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> CliEnv:
    """``PICAS_*`` set for the test database, ``HOME`` an empty folder (no ~/.picasrc)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PICAS_URL", couchdb_server.url)
    monkeypatch.setenv("PICAS_DB", couch_db_name)
    monkeypatch.setenv("PICAS_USR", couchdb_server.user)
    monkeypatch.setenv("PICAS_USR_PWD", couchdb_server.password)
    db = couch(couchdb_server, couch_db_name)
    return CliEnv(couchdb_server, couch_db_name, db, pool_of(db), home)
