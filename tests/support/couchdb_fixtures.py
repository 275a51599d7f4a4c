"""The CouchDB fixtures of the test suite (imported into tests/conftest.py to register them).

The session fixture :func:`couchdb_server` finds or starts a server, in this order:

1. ``COUCHDB_URL`` (e.g. ``http://admin:secret@127.0.0.1:5984``): a server someone provides;
   the credentials are parsed out of the URL. It must be on a loopback host.
2. A Docker engine that answers (``docker info`` exits 0) and ``docker compose``: pytest-docker's
   ``docker_services`` with ``tests/docker-compose.yml`` (apache/couchdb:3, admin/admin).
3. pouchdb-server 4.2.0 from ``tools/couch`` (installed by ``tools/install-pouchdb.sh`` if needed),
   in memory, on a free loopback port, in a fresh working directory, with admin/admin.
4. Otherwise the test is skipped, or fails when ``CI=true`` (a green CI run that silently skipped
   the CouchDB tests proves nothing).

The marker hooks that follow from these fixtures live in tests/conftest.py.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests

from grid_lrt.client.localserver import LocalServerError, find_node
from grid_lrt.shared.errors import LrtError
from tests.support.couchdb import (
    DEFAULT_TIMEOUT,
    JSON_HEADERS,
    REAL_COUCHDB_REASON,
    CouchServer,
    unavailable,
)
from tests.support.couchdb_sources import (
    docker_unavailable_reason,
    server_from_docker,
    server_from_url,
)
from tests.support.pouchdb import NODE_HINT, ensure_pouchdb_installed, pouchdb_server

__all__ = [
    "couch_db_name",
    "couchdb_server",
    "docker_compose_file",
    "pouchdb_start_seconds",
    "require_real_couchdb",
]

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"

_START_SECONDS = pytest.StashKey[float]()


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    """pytest-docker: our compose file (used only when a Docker engine answers)."""
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def couchdb_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CouchServer]:
    """A running CouchDB-compatible server: COUCHDB_URL, else Docker, else pouchdb-server, else skip
    (fail under CI=true)."""
    raw = os.environ.get("COUCHDB_URL", "").strip()
    if raw:
        yield server_from_url(raw)
        return

    docker_reason = docker_unavailable_reason()
    if docker_reason is None:
        yield server_from_docker(request)
        return

    try:
        node = find_node()
    except LrtError:
        unavailable(
            f"no CouchDB server: COUCHDB_URL unset, {docker_reason}, and node is missing "
            f"({NODE_HINT})"
        )
    bin_path = ensure_pouchdb_installed(f"COUCHDB_URL unset, {docker_reason}")
    workdir = tmp_path_factory.mktemp("pouchdb-server", numbered=True)
    started = time.monotonic()
    try:
        with pouchdb_server(workdir, node, bin_path) as server:
            request.config.stash[_START_SECONDS] = time.monotonic() - started
            yield server
    except LocalServerError as exc:  # installed but broken: a failure, not a missing component
        pytest.fail(str(exc), pytrace=False)


def pouchdb_start_seconds(config: pytest.Config) -> float | None:
    """How long the pouchdb-server of this session took to answer (None if none was started)."""
    return config.stash.get(_START_SECONDS, None)


@pytest.fixture
def couch_db_name(couchdb_server: CouchServer) -> Iterator[str]:
    """Create a uniquely named database (``test_<12 hex>``) for one test; delete it afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    db_url = couchdb_server.db_url(name)
    r = requests.put(
        db_url, auth=couchdb_server.auth, headers=JSON_HEADERS, timeout=DEFAULT_TIMEOUT
    )
    if r.status_code != 201:
        pytest.fail(f"PUT {db_url}: expected 201, got {r.status_code} {r.text}", pytrace=False)
    yield name
    r = requests.delete(
        db_url, auth=couchdb_server.auth, headers=JSON_HEADERS, timeout=DEFAULT_TIMEOUT
    )
    if r.status_code not in (200, 202, 404):  # 404: the test deleted it itself
        pytest.fail(f"DELETE {db_url}: expected 200, got {r.status_code} {r.text}", pytrace=False)


@pytest.fixture
def require_real_couchdb(couchdb_server: CouchServer) -> CouchServer:
    """Skip (even under CI=true) unless the server is real Apache CouchDB."""
    if couchdb_server.kind != "couchdb":
        pytest.skip(REAL_COUCHDB_REASON)
    return couchdb_server
