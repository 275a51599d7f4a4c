"""The CouchDB-compatible server of the test suite: the value tests get, and its vocabulary.

Tests import :class:`CouchServer` from here. The rest of the CouchDB test support:

- tests/support/couchdb_fixtures.py: the pytest fixtures (``couchdb_server`` finds or starts a
  server: ``COUCHDB_URL``, else Docker, else pouchdb-server, else skip; ``couch_db_name``,
  ``require_real_couchdb``), registered by being imported into tests/conftest.py;
- tests/support/couchdb_sources.py: a server someone provides (``COUCHDB_URL``) or Docker runs;
- tests/support/pouchdb.py: pouchdb-server, installed if needed and started through the package's
  one spawner (``grid_lrt.client.localserver``), as the tests and the benchmarks want it.

See shared/reference/test-infrastructure.md §1 for pouchdb-server's gaps; tests that need real
CouchDB 3 behaviour (auth and ``_security`` defaults) use the ``couchdb3`` marker or the
``require_real_couchdb`` fixture, which skip on pouchdb-server even under CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests

from tests.support.helpers import in_ci

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

# Credentials of the servers we start ourselves (Docker and pouchdb-server).
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"

JSON_HEADERS = {"Accept": "application/json"}
DEFAULT_TIMEOUT = 60.0  # seconds; pouchdb-server can hang on some requests (reference §1.5)

REAL_COUCHDB_REASON = (
    "needs real Apache CouchDB 3 (auth/_security defaults, partitioned databases); "
    "pouchdb-server does not implement them"
)

ServerKind = Literal["couchdb", "pouchdb-server"]


class CouchSession(requests.Session):
    """A ``requests.Session`` with a default timeout (pouchdb-server can hang, not fail)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class CouchServer:
    """A running CouchDB-compatible server.

    ``url`` carries no credentials (``http://127.0.0.1:PORT``, no trailing slash); ``kind`` is
    ``"couchdb"`` for Apache CouchDB (welcome JSON has ``"couchdb": "Welcome"``) or
    ``"pouchdb-server"``.
    """

    url: str
    user: str
    password: str
    kind: ServerKind

    @property
    def auth(self) -> tuple[str, str] | None:
        """``(user, password)`` for ``requests``' ``auth=``; None without credentials."""
        return (self.user, self.password) if self.user else None

    @property
    def url_with_credentials(self) -> str:
        """``url`` with ``user:password@`` embedded (for clients that only take a URL)."""
        if not self.user:
            return self.url
        parts = urlsplit(self.url)
        userinfo = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))

    @property
    def is_real_couchdb(self) -> bool:
        return self.kind == "couchdb"

    def session(self) -> requests.Session:
        """A new ``requests.Session`` with auth and ``Accept: application/json``.

        The caller owns it: close it (``with server.session() as s: ...``).
        """
        s = CouchSession()
        s.auth = self.auth
        s.headers.update(JSON_HEADERS)
        return s

    def db_url(self, name: str) -> str:
        return f"{self.url}/{quote(name, safe='')}"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it under ``CI=true`` (a missing component must not pass silently)."""
    if in_ci():
        pytest.fail(
            f"{reason} (CI=true: a missing CouchDB server fails instead of skipping)", pytrace=False
        )
    pytest.skip(reason)


def is_loopback(host: str | None) -> bool:
    return host is not None and host.lower().strip("[]") in LOOPBACK_HOSTS


def kind_of(welcome: dict[str, Any], url: str) -> ServerKind:
    """Which server answered with this welcome document (fails the test for anything else)."""
    if welcome.get("couchdb") == "Welcome":
        return "couchdb"
    if "express-pouchdb" in welcome:
        return "pouchdb-server"
    pytest.fail(
        f"{url} is neither Apache CouchDB nor pouchdb-server: welcome document {welcome!r}",
        pytrace=False,
    )
