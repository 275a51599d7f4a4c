"""A tiny CouchDB client (standard library) for the driver."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any, Tuple
from urllib.parse import quote

from benchlib.picas_baseline.protocol import DESIGN_DOC


class Couch:
    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Accept": "application/json", "Authorization": f"Basic {token}"}

    def request(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")


def view(couch: Couch, db: str, name: str, query: str = "") -> Any:
    status, body = couch.request("GET", f"/{quote(db)}/_design/{DESIGN_DOC}/_view/{name}{query}")
    if status != 200:
        raise RuntimeError(f"view {name} of {db}: HTTP {status} {body}")
    return body
