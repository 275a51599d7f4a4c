"""Building database handles for commands from ``--url``/``--db`` and the PiCaS credentials.

The server URL is checked here, before anything is sent (issue 9, findings 11 and 14):

* ``--url`` must not carry ``user:password@``: argv is visible to every user in ``ps`` and
  stays in the shell history. Credentials come from ``PICAS_USR``/``PICAS_USR_PWD`` or
  ``~/.picasrc``;
* a URL that does not parse (``http://[::1``, a port out of range) or is not http(s) is a
  message naming where it came from (``--url``, ``$PICAS_URL``, ``~/.picasrc``), never with its
  credentials;
* credentials sent over plain ``http://`` to a host that is not this machine are warned about,
  once per command: anyone on the path can read them.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from typing import Any, Dict
from urllib.parse import urlsplit

import requests

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.couch_errors import CouchError, CouchUnreachableError
from grid_lrt.shared.credentials import PicasCredentials
from grid_lrt.shared.errors import ConfigError, UsageError
from grid_lrt.shared.pool import CouchTokenPool

from ..credentials import picas_cred

__all__ = [
    "add_connection_options",
    "check_answers",
    "check_server_url",
    "credentials",
    "database",
    "pool",
]

log = logging.getLogger(__name__)

_URL_EXAMPLE = "https://picas-lofar.grid.surfsara.nl:6984"
_WARNED = "_lrt_warned_plain_http"


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "server",
        "The password is never a flag: it comes from PICAS_USR_PWD or password= in ~/.picasrc.",
    )
    group.add_argument(
        "--url",
        help="CouchDB server URL, without user or password "
        "(default: $PICAS_URL, url= in ~/.picasrc)",
    )
    group.add_argument("--db", help="database name (default: $PICAS_DB, database= in ~/.picasrc)")


def _shown(url: str) -> str:
    """``url`` with anything before an ``@`` (a user, a password) replaced by ``***``."""
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    tail = (rest if sep else url).rsplit("@", 1)[1]
    return f"{scheme}://***@{tail}" if sep else f"***@{tail}"


def _has_userinfo(url: str) -> bool:
    _, sep, rest = url.strip().partition("://")
    authority = (rest if sep else url).split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return "@" in authority


def _check_url(url: str, source: str) -> str:
    """The host of ``url``, once it is a valid http(s) server URL.

    Raises:
        UsageError: it does not parse, has no host, or is not http(s).
    """
    hint = f"give it as http(s)://host:port, e.g. {_URL_EXAMPLE}"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise UsageError(
            f"{source} {_shown(url)!r} is not a valid server URL ({exc})", hint=hint
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{source} {_shown(url)!r} is not a valid server URL", hint=hint)
    return parts.hostname


def check_server_url(url: str, source: str) -> str:
    """The host of ``url``, once it is an http(s) server URL without a user or password.

    Raises:
        UsageError: it holds ``user:password@``, does not parse, or is not http(s).
    """
    if _has_userinfo(url):
        raise UsageError(
            f"{source} must not hold a user name or password",
            hint="give the server only, e.g. " + _URL_EXAMPLE,
        )
    return _check_url(url, source)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _warn_plain_http(args: argparse.Namespace, creds: PicasCredentials, host: str) -> None:
    """Warn (once per command) when credentials would cross the network unencrypted."""
    if getattr(args, _WARNED, False) or _is_loopback(host):
        return
    if urlsplit(creds.url.strip()).scheme != "http":
        return
    if not (creds.user or creds.password or _has_userinfo(creds.url)):
        return
    setattr(args, _WARNED, True)
    log.warning(
        "the PiCaS user and password go to %s over plain http, unencrypted: anyone on the "
        "network path can read them; use an https:// URL",
        host,
    )


def _creds(args: argparse.Namespace) -> PicasCredentials:
    """The credentials of the command, its URL checked.

    Raises:
        UsageError: ``--url`` carries a user or password, or a URL is malformed.
        ConfigError: no database is named anywhere.
    """
    url_arg = getattr(args, "url", None)
    if url_arg and _has_userinfo(url_arg):
        raise UsageError(
            "--url must not hold a user name or password: other users see the command line "
            "(ps) and it stays in your shell history",
            hint="give the user in PICAS_USR (or user= in ~/.picasrc) and the password in "
            "PICAS_USR_PWD (or password= in ~/.picasrc, chmod 600); --url only the server",
        )
    creds = picas_cred(dbn=getattr(args, "db", None), url=url_arg)
    origin = creds.sources.get("url")
    if url_arg:
        source = "--url"
    elif origin is None:
        source = "the default URL"
    else:
        source = origin if origin.startswith("$") else f"url= in {origin}"
    host = _check_url(creds.url, source)
    if not creds.database:
        raise ConfigError(
            "no PiCaS database given",
            hint="set PICAS_DB, add database=NAME to ~/.picasrc, or pass --db NAME",
        )
    _warn_plain_http(args, creds, host)
    return creds


def credentials(args: argparse.Namespace) -> PicasCredentials:
    """The command's PiCaS credentials, checked (for the pilots' 0600 credentials file)."""
    return _creds(args)


def database(args: argparse.Namespace) -> CouchDB:
    """The database the command names (nothing is sent yet)."""
    creds = _creds(args)
    return CouchDB(creds.url, creds.database, user=creds.user or None, password=creds.password)


def _is_couchdb(db: CouchDB) -> bool:
    """Whether the server's root answers as CouchDB (or pouchdb-server) does: its welcome
    (``{"couchdb": "Welcome", ...}``, ``{"express-pouchdb": "Welcome!", ...}``), or its JSON
    error (a server that wants a login for everything)."""
    try:
        response = db.session.get(db.server_url + "/", timeout=db.doc_timeout)
        body = response.json()
    except (requests.RequestException, ValueError):
        return False
    if not isinstance(body, dict):
        return False
    welcome = any(str(value).startswith("Welcome") for value in body.values())
    return welcome or "couchdb" in body or {"error", "reason"} <= set(body)


def _not_couchdb(db: CouchDB, what: str) -> ConfigError:
    return ConfigError(
        f"{db.server_url} is not a CouchDB server: it answered {what}",
        hint="give the CouchDB address itself (PICAS_URL, url= in ~/.picasrc or --url; "
        "often port 6984 or 5984), not a web page, a proxy's login page or another service",
    )


def check_answers(db: CouchDB) -> Dict[str, Any]:
    """One request: the database answers as CouchDB does; its description (``GET /db``).

    Raises:
        ConfigError: what answers is not CouchDB (a web page, another service).
        CouchError: an unreachable server, a refused login, a missing database.
    """
    try:
        response = db.request("GET")
    except CouchUnreachableError:
        raise
    except CouchError as exc:
        if not _is_couchdb(db):
            raise _not_couchdb(db, f"HTTP {exc.status} without CouchDB's JSON") from None
        raise
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "db_name" not in body:
        kind = str(response.headers.get("Content-Type", "")).split(";")[0].strip()
        raise _not_couchdb(db, f"HTTP {response.status_code} with {kind or 'no type'}")
    return body


def pool(args: argparse.Namespace) -> CouchTokenPool:
    """The token pool of the database the command names, checked to answer (one request):
    an unreachable server, a refused login, a missing database or a server that is not
    CouchDB end the command with a message here, before any work."""
    db = database(args)
    tokens = CouchTokenPool(db, partition=getattr(args, "db_partition", None) or None)
    tokens.described(check_answers(db))
    return tokens
