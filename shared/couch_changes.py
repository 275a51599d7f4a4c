"""The ``_changes`` feed, long-polled: how an idle launcher waits for new todo tokens.

One request waits until a change passes the filter or ``wait`` seconds are over. CouchDB
ends it itself (its ``timeout`` parameter); pouchdb-server ignores that parameter and sends
the headers at once and the body when a change comes, so the read timeout ends it there.
A separate ``requests`` session without retries carries it: the database's own session
retries a read that timed out, which would wait two more times.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

import requests
from urllib3.exceptions import ReadTimeoutError

from .couch import CouchDB
from .couch_errors import CouchUnreachableError
from .couch_paths import encode_params

__all__ = ["ChangesFeed"]


class ChangesFeed:
    """Long polls of one database's ``_changes`` (its login, proxies and CA bundle)."""

    def __init__(self, db: CouchDB) -> None:
        self.db = db
        self.session = requests.Session()
        self.session.headers.update(db.session.headers)
        self.session.trust_env, self.session.proxies = False, db.session.proxies
        self.session.verify, self.session.auth = db.session.verify, db.session.auth

    def wait(self, params: Mapping[str, Any], wait: float) -> Optional[Dict[str, Any]]:
        """One long poll of at most ``wait`` seconds: the answer, or None when nothing came.
        Sent once, never retried: the caller asks again.

        Raises:
            CouchUnreachableError: no connection. CouchError: the server refused.
        """
        query = encode_params({**params, "feed": "longpoll", "timeout": int(wait * 1000)})
        try:
            response = self.session.get(
                f"{self.db.url}/_changes",
                params=query,
                timeout=(self.db.doc_timeout[0], wait + 1.0),
                stream=True,
            )
            try:
                if response.status_code >= 400:
                    self.db.raise_for(response)
                body = response.content
            finally:
                response.close()
        except requests.Timeout:
            return None
        except requests.ConnectionError as exc:
            if exc.args and isinstance(exc.args[0], ReadTimeoutError):
                return None  # the body did not come in time: nothing changed
            raise CouchUnreachableError(
                f"cannot reach the CouchDB server {self.db.server_url}: connection failed",
                hint="check the server URL and that the server is up",
            ) from None
        except requests.RequestException as exc:
            raise CouchUnreachableError(
                f"cannot reach the CouchDB server {self.db.server_url}: {type(exc).__name__}",
                hint="check the server URL and that the server is up",
            ) from None
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None
