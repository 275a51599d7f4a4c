"""A server admin whose password holds the characters that break naive quoting and redaction.

The fixture server's own login is admin/admin, a password that is also a user name and shows
up everywhere; tests that prove a password never appears log in as this user instead.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Iterator

import requests

from tests.support.couchdb import CouchServer

__all__ = ["SECRET", "USER", "secret_admin"]

USER = "lrt_secret"
#: ``$`` (shell and templates), ``@`` and ``:`` (URL userinfo), ``%41`` (percent-encoding).
SECRET = "c0rpus$pa@ss:w%41rd"


def _admins_url(server: CouchServer, user: str) -> str:
    """Where the server keeps its admins: CouchDB 3's node config, or pouchdb-server's."""
    node = requests.get(f"{server.url}/_node/_local/_config", auth=server.auth, timeout=10)
    base = f"{server.url}/_node/_local/_config" if node.ok else f"{server.url}/_config"
    return f"{base}/admins/{user}"


def _until_accepted(server: CouchServer, user: str, password: str, timeout: float = 10.0) -> None:
    """Wait until the new login works: Apache CouchDB 3.4 hashes a new admin's password in
    the background and refuses it until then (measured: 401 at once, 200 0.3 s later)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = requests.get(f"{server.url}/_session", auth=(user, password), timeout=10)
        if answer.ok or time.monotonic() > deadline:
            assert answer.ok, f"the new admin {user} cannot log in: {answer.text}"
            return
        time.sleep(0.1)


@contextlib.contextmanager
def secret_admin(server: CouchServer, user: str = USER, password: str = SECRET) -> Iterator[str]:
    """Add the admin ``user`` with ``password`` for the block; yields the user name."""
    url = _admins_url(server, user)
    answer = requests.put(url, data=json.dumps(password), auth=server.auth, timeout=10)
    assert answer.ok, answer.text
    _until_accepted(server, user, password)
    try:
        yield user
    finally:
        requests.delete(url, auth=server.auth, timeout=10)
