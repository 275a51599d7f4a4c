"""The server the phases use (loopback only, admin credentials), and a request counter."""

from __future__ import annotations

import contextlib
import sys
import uuid
from typing import Any, Callable, Iterator, List
from urllib.parse import urlsplit

import requests

from benchlib.pouchdb import own_pouchdb_server
from grid_lrt.client.token import TokenHandler
from grid_lrt.shared.couch import CouchDB, split_credentials

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class Server:
    """A CouchDB-compatible server on loopback, with admin credentials; tracks our databases."""

    def __init__(self, url: str, user: str, password: str, kind: str) -> None:
        self.url, self.user, self.password, self.kind = url, user, password, kind
        self.session = requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "Content-Type": "application/json"}
        )
        if user:
            self.session.auth = (user, password)
        self.created: List[str] = []

    def new_db(self, purpose: str) -> str:
        name = f"bench_{purpose}_{uuid.uuid4().hex[:10]}"
        r = self.session.put(f"{self.url}/{name}", timeout=60)
        if r.status_code not in (201, 202):
            raise RuntimeError(f"PUT /{name}: HTTP {r.status_code} {r.text.strip()}")
        self.created.append(name)
        return name

    def drop_db(self, name: str) -> None:
        with contextlib.suppress(requests.RequestException):
            self.session.delete(f"{self.url}/{name}", timeout=300)
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop_db(name)

    def couch(self, name: str) -> CouchDB:
        return CouchDB(self.url, name, user=self.user or None, password=self.password)

    def handler(self, t_type: str, name: str) -> TokenHandler:
        return TokenHandler(t_type, srv=self.url, uname=self.user, pwd=self.password, dbn=name)

    def doc_count(self, name: str) -> int:
        return int(self.session.get(f"{self.url}/{name}", timeout=60).json()["doc_count"])


def server_from_url(raw: str) -> Server:
    bare, user, password = split_credentials(raw)
    host = urlsplit(bare).hostname or ""
    if host not in LOOPBACK:
        sys.exit(
            f"--url/COUCHDB_URL host {host!r} is not loopback; this benchmark only uses loopback"
        )
    welcome = requests.get(bare + "/", headers={"Accept": "application/json"}, timeout=10).json()
    kind = "couchdb" if welcome.get("couchdb") == "Welcome" else "pouchdb-server"
    return Server(bare, user or "", password or "", kind)


@contextlib.contextmanager
def own_server() -> Iterator[Server]:
    with own_pouchdb_server() as (couch, _folder):
        yield Server(couch.url, couch.user, couch.password, couch.kind)


def count_requests(db: CouchDB) -> Callable[[], int]:
    """Wrap ``db.session.request`` with a counter; returns a function reading it."""
    calls = [0]
    original = db.session.request

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    db.session.request = counted  # type: ignore[method-assign]
    return lambda: calls[0]
