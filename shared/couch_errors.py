"""Exceptions of the CouchDB client, and the HTTP-status-to-exception translation."""

from __future__ import annotations

import shlex
from typing import Optional

import requests
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from .errors import LrtError

__all__ = [
    "TRANSIENT_STATUSES",
    "ConflictError",
    "CouchAuthError",
    "CouchError",
    "CouchUnreachableError",
    "DatabaseNotFoundError",
    "DocumentNotFoundError",
    "error_for",
    "unreachable",
]


#: Answers of a server that is restarting, overloaded or behind a failing proxy: worth a retry.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


class CouchError(LrtError):
    """A CouchDB request failed; ``status`` is the HTTP status (0 when none came back)."""

    def __init__(self, message: str, *, status: int = 0, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status

    @property
    def transient(self) -> bool:
        """True when the same request may succeed later: no answer, or a 5xx answer."""
        return self.status in TRANSIENT_STATUSES


class CouchUnreachableError(CouchError):
    """The server did not answer, even after the retries."""

    @property
    def transient(self) -> bool:
        return True


class CouchAuthError(CouchError):
    """The server refused the credentials (401) or the user's rights (403)."""


class DatabaseNotFoundError(CouchError):
    """The database does not exist on the server."""


class DocumentNotFoundError(CouchError):
    """The document (or attachment, or view) does not exist."""


class ConflictError(CouchError):
    """The write lost a race: the document changed since its ``_rev`` was read (HTTP 409)."""


def error_for(
    status: int,
    *,
    error: str,
    reason: str,
    server: str,
    db: str,
    user: str,
    doc_id: Optional[str],
) -> CouchError:
    """The exception for a failed response (``error``/``reason`` from CouchDB's JSON body)."""
    what = f"document {doc_id!r} in " if doc_id else ""
    where = f"{what}database {db!r} on {server}"
    if status == 401:
        return CouchAuthError(
            f"the server {server} refused the login of user {user!r}: {reason}",
            status=status,
            hint="check PICAS_USR / PICAS_USR_PWD (or user=/password= in ~/.picasrc)",
        )
    if status == 403:
        return CouchAuthError(
            f"user {user!r} may not do this on {where}: {reason}",
            status=status,
            hint="ask the database admin for write/admin rights on this database",
        )
    if status == 404 and (not doc_id or reason in ("Database does not exist.", "no_db_file")):
        return DatabaseNotFoundError(
            f"database {db!r} does not exist on {server}",
            status=status,
            hint="check PICAS_DB (or database= in ~/.picasrc); "
            f"create it with `lrt db create {shlex.quote(db)}` if it should exist",
        )
    if status == 404:
        return DocumentNotFoundError(f"{where} not found ({reason or error})", status=status)
    if status == 409:
        return ConflictError(
            f"{where}: update conflict, the document changed since it was read",
            status=status,
        )
    return CouchError(f"{where}: HTTP {status} {error}: {reason}".rstrip(": "), status=status)


#: The environment variable of the read timeout of view queries (seconds).
VIEW_TIMEOUT_ENV = "LRT_VIEW_TIMEOUT"

_SERVER_HINT = (
    "check the server URL (PICAS_URL or url= in ~/.picasrc), that the server is up, and that "
    "this machine may connect to it"
)


def timed_out(exc: requests.RequestException) -> bool:
    """True when a request reached the server and no answer came in time. When the retries of
    a read timeout run out, ``requests`` raises a ``ConnectionError`` (urllib3's
    ``MaxRetryError``), not a ``Timeout``; a ``ConnectTimeout`` is no connection at all."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.Timeout):
        return True
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, ReadTimeoutError)


def unreachable(
    exc: requests.RequestException,
    server: str,
    *,
    connect_attempts: int,
    read_attempts: int,
    wait: float,
    view: bool,
) -> CouchUnreachableError:
    """The :class:`CouchUnreachableError` of a request that got no answer: a refused or cut
    connection, or no answer within ``wait`` seconds (``read_attempts`` times)."""
    if not timed_out(exc):
        return CouchUnreachableError(
            f"cannot reach the CouchDB server {server} after {connect_attempts} attempts: "
            "connection failed (refused, reset or name not resolved)",
            hint=_SERVER_HINT,
        )
    tries = f"{read_attempts} attempt{'s' if read_attempts > 1 else ''}"
    if view:
        return CouchUnreachableError(
            f"the CouchDB server {server} did not answer a view query within {wait:g} s "
            f"({tries}): after many writes a server brings a view's index up to date on the "
            "next query, which can take longer than that (it goes on without us)",
            hint=f"run the command again in a while, or wait longer for each answer: "
            f"{VIEW_TIMEOUT_ENV}=3600 (seconds; the default is 600)",
        )
    return CouchUnreachableError(
        f"the CouchDB server {server} did not answer within {wait:g} s ({tries})",
        hint=_SERVER_HINT,
    )
