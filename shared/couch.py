"""A small CouchDB client on ``requests``: the only module that speaks CouchDB's HTTP API.

One ``requests.Session`` per database handle (connection reuse), bounded retries with
exponential backoff on connection errors and 500/502/503/504, and translation of HTTP failures
into our own exceptions at this boundary:

==========================  =================================================
HTTP / transport            raised
==========================  =================================================
connection refused, DNS,    :class:`CouchUnreachableError` (after the retries)
timeouts
401, 403                    :class:`CouchAuthError`
404 on the database         :class:`DatabaseNotFoundError`
404 on a document           :class:`DocumentNotFoundError`
409                         :class:`ConflictError`
anything else >= 400        :class:`CouchError`
==========================  =================================================

Works with Apache CouchDB 2/3 and with pouchdb-server (which needs ``Accept: application/json``
to answer JSON). Credentials are never part of a message, a ``repr`` or a log line.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .couch_errors import (
    VIEW_TIMEOUT_ENV,
    ConflictError,
    CouchAuthError,
    CouchError,
    CouchUnreachableError,
    DatabaseNotFoundError,
    DocumentNotFoundError,
    error_for,
    unreachable,
)
from .couch_paths import doc_path, encode_params, path_segment, split_credentials
from .errors import LrtError

__all__ = [
    "ConflictError",
    "CouchAuthError",
    "CouchDB",
    "CouchError",
    "CouchUnreachableError",
    "DatabaseNotFoundError",
    "Document",
    "DocumentNotFoundError",
    "split_credentials",
]

log = logging.getLogger(__name__)

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "COPY"})


def view_read_timeout() -> float:
    """Seconds to wait for a view query's answer: ``LRT_VIEW_TIMEOUT``, else 600.

    Raises:
        LrtError: the variable is not a positive number of seconds.
    """
    text = os.environ.get(VIEW_TIMEOUT_ENV, "").strip()
    if not text:
        return 600.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise LrtError(
            f"{VIEW_TIMEOUT_ENV}={text!r} is not a number of seconds",
            hint=f"set {VIEW_TIMEOUT_ENV} to a positive number, e.g. {VIEW_TIMEOUT_ENV}=3600",
        )
    return seconds


class Document(Dict[str, Any]):
    """A CouchDB document: a plain ``dict`` with ``id`` and ``rev`` shortcuts."""

    @property
    def id(self) -> str:
        return str(self.get("_id", ""))

    @property
    def rev(self) -> str:
        return str(self.get("_rev", ""))


class CouchDB:
    """One database on one CouchDB(-compatible) server.

    Args:
        url: Server URL, ``http(s)://host:port``. Credentials in the URL are accepted and moved
            out of it (into HTTP basic auth).
        db: Database name.
        user: User name (overrides one in the URL).
        password: Password (overrides one in the URL).
        timeout: ``(connect, read)`` seconds of view queries. Reads are long because CouchDB
            builds a view's index on the first query after many writes; the default read
            timeout is ``LRT_VIEW_TIMEOUT`` seconds (600 when unset).
        doc_timeout: ``(connect, read)`` seconds of every other request (documents, bulk
            writes, attachments): a server that takes longer is treated as not answering.
        retries: Attempts after the first on connection errors and 500/502/503/504.
        backoff: Backoff factor in seconds (0.5 → waits 0, 1, 2, 4 s ...).
    """

    def __init__(
        self,
        url: str,
        db: str,
        *,
        user: Optional[str] = None,
        password: Optional[str] = None,
        timeout: Optional[Tuple[float, float]] = None,
        doc_timeout: Tuple[float, float] = (10.0, 120.0),
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        bare, url_user, url_password = split_credentials(url)
        if not db:
            raise LrtError("no database name given", hint="set PICAS_DB or database= in ~/.picasrc")
        self.server_url = bare
        self.name = db
        self.url = f"{bare}/{quote(db, safe='')}"
        self.timeout = timeout or (10.0, view_read_timeout())
        self.doc_timeout = doc_timeout
        self.session = requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "Content-Type": "application/json"}
        )
        # Proxy and CA settings from the environment, looked up once for this one server
        # (requests would otherwise scan os.environ on every request: ~10 % of a launcher's
        # time in a tight claim loop).
        self.session.trust_env = False
        self.session.proxies = requests.utils.get_environ_proxies(bare)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.session.verify = bundle
        user = user if user else url_user
        password = password if password is not None and user else url_password
        if user:
            self.session.auth = (user, password or "")
        self.user = user or ""
        self._retries = retries
        self._read_retries = min(retries, 2)
        retry = Retry(
            total=retries,
            connect=retries,
            read=self._read_retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=_IDEMPOTENT,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"CouchDB({self.server_url!r}, {self.name!r}, user={self.user!r})"

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str = "",
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        data: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
        doc_id: Optional[str] = None,
    ) -> requests.Response:
        """Send one request to ``<db>/<path>`` and translate failures into ``CouchError``s."""
        url = f"{self.url}/{path}" if path else self.url
        view = "/_view/" in path
        timeout = self.timeout if view else self.doc_timeout
        try:
            response = self.session.request(
                method,
                url,
                params=encode_params(params or {}),
                data=json.dumps(body) if body is not None else data,
                headers=dict(headers or {}),
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise unreachable(
                exc,
                self.server_url,
                connect_attempts=self._retries + 1,
                read_attempts=self._read_retries + 1 if method in _IDEMPOTENT else 1,
                wait=timeout[1],
                view=view,
            ) from None
        if response.status_code >= 400:
            self._raise_for(response, doc_id)
        return response

    def raise_for(self, response: requests.Response, doc_id: Optional[str] = None) -> None:
        """Raise the ``CouchError`` of an error answer (any answer of status >= 400)."""
        self._raise_for(response, doc_id)

    def _raise_for(self, response: requests.Response, doc_id: Optional[str]) -> None:
        try:
            payload = response.json()
            error, reason = str(payload.get("error", "")), str(payload.get("reason", ""))
        except ValueError:
            error, reason = "", response.text[:200]
        raise error_for(
            response.status_code,
            error=error,
            reason=reason,
            server=self.server_url,
            db=self.name,
            user=self.user,
            doc_id=doc_id,
        )

    # -- database ----------------------------------------------------------------------------

    def info(self) -> Dict[str, Any]:
        """``GET /db``: raises :class:`DatabaseNotFoundError` when it does not exist."""
        return dict(self.request("GET").json())

    def exists(self) -> bool:
        try:
            self.info()
        except DatabaseNotFoundError:
            return False
        return True

    def create(self, *, partitioned: bool = False) -> bool:
        """Create the database; False when it existed already. ``partitioned``: ask for a
        partitioned database (``?partitioned=true``, Apache CouchDB 3); a server that ignores
        the parameter makes a plain one, which :func:`is_partitioned` of :meth:`info` tells."""
        try:
            self.request("PUT", params={"partitioned": "true"} if partitioned else None)
        except CouchError as exc:
            if exc.status == 412:
                return False
            raise
        return True

    def drop(self) -> None:
        """Delete the whole database."""
        self.request("DELETE")

    # -- documents ---------------------------------------------------------------------------

    def get(self, doc_id: str, **params: Any) -> Document:
        return Document(self.request("GET", doc_path(doc_id), params=params, doc_id=doc_id).json())

    def get_or_none(self, doc_id: str) -> Optional[Document]:
        try:
            return self.get(doc_id)
        except DocumentNotFoundError:
            return None

    def __getitem__(self, doc_id: str) -> Document:
        return self.get(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        try:
            self.request("HEAD", doc_path(doc_id), doc_id=doc_id)
        except DocumentNotFoundError:
            return False
        return True

    def save(self, doc: Dict[str, Any]) -> str:
        """PUT ``doc`` (with its ``_rev`` if it has one); sets and returns the new ``_rev``.

        Raises:
            ConflictError: ``doc["_rev"]`` is not the current revision.
        """
        doc_id = str(doc["_id"])
        result = self.request("PUT", doc_path(doc_id), body=doc, doc_id=doc_id).json()
        doc["_rev"] = result["rev"]
        return str(result["rev"])

    def delete(self, doc_id: str, rev: str) -> None:
        """Delete one document revision (a real delete, not ``_purge``)."""
        self.request("DELETE", doc_path(doc_id), params={"rev": rev}, doc_id=doc_id)

    def bulk_docs(self, docs: Sequence[Mapping[str, Any]], batch_size: int = 1000) -> List[Any]:
        """Write many documents through ``_bulk_docs``, ``batch_size`` per request.

        Returns the per-document results in input order: ``{"ok": True, "id", "rev"}`` or
        ``{"id", "error": "conflict", ...}``; a conflict is data here, not an exception.
        """
        results: List[Any] = []
        for start in range(0, len(docs), batch_size):
            chunk = list(docs[start : start + batch_size])
            results.extend(self.request("POST", "_bulk_docs", body={"docs": chunk}).json())
        return results

    def all_docs(self, keys: Optional[Iterable[str]] = None, **params: Any) -> Dict[str, Any]:
        if keys is not None:
            return dict(
                self.request("POST", "_all_docs", params=params, body={"keys": list(keys)}).json()
            )
        return dict(self.request("GET", "_all_docs", params=params).json())

    # -- views -------------------------------------------------------------------------------

    def view(
        self, ddoc: str, name: str, *, partition: Optional[str] = None, **params: Any
    ) -> Dict[str, Any]:
        """Query ``_design/<ddoc>/_view/<name>``; JSON-valued parameters are encoded for you.
        ``partition``: the view of a partitioned design document, in that partition only
        (``_partition/<partition>/_design/...``)."""
        path = f"_design/{quote(ddoc, safe='')}/_view/{quote(name, safe='')}"
        if partition is not None:
            path = f"_partition/{path_segment(partition)}/{path}"
        keys = params.pop("keys", None)
        if keys is not None:
            response = self.request("POST", path, params=params, body={"keys": list(keys)})
        else:
            response = self.request("GET", path, params=params, doc_id=f"_design/{ddoc}")
        return dict(response.json())

    def iter_view(
        self, ddoc: str, name: str, *, page: int = 1000, **params: Any
    ) -> Iterator[Dict[str, Any]]:
        """All rows of a map view, ``page`` rows per request.

        Pages continue at the last key, skipping the rows already seen with that key
        (pouchdb-server ignores ``startkey_docid``, so that is not used).
        """
        params = dict(params, reduce=False, limit=page)
        while True:
            rows = self.view(ddoc, name, **params)["rows"]
            yield from rows
            if len(rows) < page:
                return
            last_key = rows[-1]["key"]
            same = sum(1 for row in rows if row["key"] == last_key)
            if params.get("startkey") == last_key and "skip" in params:
                same += int(params["skip"])
            params.update(startkey=last_key, skip=same)

    # -- attachments -------------------------------------------------------------------------

    def put_attachment(
        self, doc_id: str, rev: str, name: str, data: bytes, content_type: str
    ) -> str:
        """Add or replace one attachment; returns the document's new ``_rev``."""
        response = self.request(
            "PUT",
            f"{doc_path(doc_id)}/{path_segment(name, safe='/')}",
            params={"rev": rev},
            data=data,
            headers={"Content-Type": content_type},
            doc_id=doc_id,
        )
        return str(response.json()["rev"])

    def get_attachment(self, doc_id: str, name: str) -> bytes:
        """The raw bytes of one attachment (asked for with ``Accept: */*``, not JSON)."""
        response = self.request(
            "GET",
            f"{doc_path(doc_id)}/{path_segment(name, safe='/')}",
            headers={"Accept": "*/*"},
            doc_id=doc_id,
        )
        return bytes(response.content)

    def delete_attachment(self, doc_id: str, rev: str, name: str) -> str:
        response = self.request(
            "DELETE",
            f"{doc_path(doc_id)}/{path_segment(name, safe='/')}",
            params={"rev": rev},
            doc_id=doc_id,
        )
        return str(response.json()["rev"])
