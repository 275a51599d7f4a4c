"""Servers the test suite does not start itself: ``COUCHDB_URL``, and Docker's CouchDB 3.

- ``COUCHDB_URL`` (e.g. ``http://admin:secret@127.0.0.1:5984``): a server someone provides; the
  credentials are parsed out of the URL. It must be on a loopback host and log in as an admin.
- A Docker engine that answers (``docker info`` exits 0) and ``docker compose``: pytest-docker's
  ``docker_services`` with ``tests/docker-compose.yml`` (apache/couchdb:3, admin/admin).
"""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
import requests

from grid_lrt.client.localserver import welcome_document
from tests.support.couchdb import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    JSON_HEADERS,
    CouchServer,
    is_loopback,
    kind_of,
)

DOCKER_START_TIMEOUT = 120.0


# --------------------------------------------------------------------------------------------------
# a. COUCHDB_URL
# --------------------------------------------------------------------------------------------------


def server_from_url(raw: str) -> CouchServer:
    """Parse ``COUCHDB_URL`` (credentials may be embedded) and check that the server answers."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        pytest.fail(f"COUCHDB_URL={raw!r} is not an http(s) URL", pytrace=False)
    if not is_loopback(parts.hostname):
        pytest.fail(
            f"COUCHDB_URL host {parts.hostname!r} is not a loopback address "
            "(127.0.0.1, ::1, localhost); the test suite only talks to local servers",
            pytrace=False,
        )
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    welcome = welcome_document(url, timeout=10.0)
    if welcome is None:
        pytest.fail(
            f"COUCHDB_URL is set but {url}/ does not answer with a welcome document", pytrace=False
        )
    server = CouchServer(url=url, user=user, password=password, kind=kind_of(welcome, url))
    _check_admin(server)
    return server


def _check_admin(server: CouchServer) -> None:
    """The fixtures create and delete databases, which needs an admin. Fail early otherwise:
    pouchdb-server with an admin configured hangs on an anonymous ``PUT /db`` (reference §1.5.2)."""
    try:
        r = requests.get(
            server.url + "/_session", auth=server.auth, headers=JSON_HEADERS, timeout=10.0
        )
    except requests.RequestException as exc:
        pytest.fail(f"GET {server.url}/_session failed: {exc}", pytrace=False)
    who = f"user {server.user!r}" if server.user else "anonymous (no user:password@ in COUCHDB_URL)"
    if r.status_code != 200:
        pytest.fail(
            f"COUCHDB_URL: {who} cannot log in: HTTP {r.status_code} {r.text.strip()}",
            pytrace=False,
        )
    roles = (r.json().get("userCtx") or {}).get("roles") or []
    if "_admin" not in roles:
        pytest.fail(
            f"COUCHDB_URL: {who} is not a server admin (roles {roles}); the tests create and "
            "delete databases, so put an admin's credentials into the URL: "
            "http://USER:PASSWORD@127.0.0.1:PORT",
            pytrace=False,
        )


# --------------------------------------------------------------------------------------------------
# b. Docker (pytest-docker)
# --------------------------------------------------------------------------------------------------


def _run_quiet(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def docker_unavailable_reason() -> str | None:
    """None if a Docker engine answers and compose and pytest-docker are there; else why not."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    info = _run_quiet(["docker", "info"], timeout=5.0)
    if info is None or info.returncode != 0:
        return "Docker engine does not answer (`docker info` failed)"
    compose = _run_quiet(["docker", "compose", "version"], timeout=5.0)
    if compose is None or compose.returncode != 0:
        return "Docker engine answers but `docker compose` is missing"
    try:
        import pytest_docker  # noqa: F401
    except ImportError:
        return "Docker engine answers but pytest-docker is not installed"
    return None


def _couchdb_up(url: str, auth: tuple[str, str]) -> bool:
    try:
        r = requests.get(url + "/_up", auth=auth, headers=JSON_HEADERS, timeout=2.0)
    except requests.RequestException:
        return False
    return r.status_code == 200


def server_from_docker(request: pytest.FixtureRequest) -> CouchServer:
    """CouchDB 3 from ``tests/docker-compose.yml``, waited for and set up as a single node."""
    services = request.getfixturevalue("docker_services")
    port = services.port_for("couchdb", 5984)
    url = f"http://127.0.0.1:{port}"
    auth = (ADMIN_USER, ADMIN_PASSWORD)
    services.wait_until_responsive(
        check=lambda: _couchdb_up(url, auth), timeout=DOCKER_START_TIMEOUT, pause=0.5
    )
    # Finish the single-node setup: CouchDB 3 doesn't create the system databases by itself.
    for db in ("_users", "_replicator"):
        r = requests.put(f"{url}/{db}", auth=auth, headers=JSON_HEADERS, timeout=30.0)
        if r.status_code not in (201, 202, 412):
            pytest.fail(
                f"creating {db} on the Docker CouchDB: HTTP {r.status_code} {r.text}", pytrace=False
            )
    welcome = welcome_document(url, timeout=10.0) or {}
    return CouchServer(
        url=url, user=ADMIN_USER, password=ADMIN_PASSWORD, kind=kind_of(welcome, url)
    )
