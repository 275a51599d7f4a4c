"""The PiCaS server as the launcher is told about it: ``PICAS_URL`` checked, then probed.

Two user mistakes used to end ``lrt-launcher`` with a traceback: a URL Python cannot parse (a
bad port: ``ValueError``) and an address that answers, but not as CouchDB (a web page with
HTTP 200: ``JSONDecodeError``). Both are now a :class:`ServerError` (exit 1) whose message
names the variable and the problem; the URL is shown without its ``user:password@`` part.

* :func:`server_address` splits ``PICAS_URL`` into the bare URL and the credentials it may
  carry (percent-decoded, as RFC 3986 means them); the launcher keeps and exports the bare
  URL only.
* :func:`probe` is the launcher's first request: ``GET /<db>`` must answer with CouchDB's JSON
  description of the database.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from typing import TYPE_CHECKING, Any, Dict
from urllib.parse import unquote, urlsplit, urlunsplit

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.redact import redact

if TYPE_CHECKING:  # pragma: no cover - imported late: `lrt-launcher --help` needs no requests
    from grid_lrt.shared.couch import CouchDB

__all__ = ["ServerAddress", "ServerError", "probe", "server_address", "shown_url"]

log = logging.getLogger(__name__)

_HINT = (
    "set PICAS_URL (or url= in ~/.picasrc) to the CouchDB server as http(s)://host:port, "
    "e.g. https://picas-lofar.grid.surfsara.nl:6984"
)


class ServerError(LrtError):
    """``PICAS_URL`` is unusable, or what answers there is not CouchDB: the launcher cannot work."""

    exit_status = 1


@dataclasses.dataclass(frozen=True)
class ServerAddress:
    """``PICAS_URL`` taken apart. ``password`` never shows in ``repr``."""

    url: str
    """``scheme://host[:port][/path]``, no userinfo, no trailing ``/``."""
    user: str = ""
    password: str = dataclasses.field(default="", repr=False)


def shown_url(url: str) -> str:
    """``url`` for a message: everything up to the last ``@`` of its authority is ``***``."""
    head, sep, rest = url.partition("://")
    if not sep:
        head, rest = "", url
    else:
        head += sep
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return redact(head + authority + slash + path)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_address(url: str, *, source: str = "PICAS_URL") -> ServerAddress:
    """Check and split the server URL (``source`` names where it came from, for messages).

    Raises:
        ServerError: not a URL, not http(s), no host, or a port that is no number in 1-65535.
    """
    text = url.strip()
    shown = shown_url(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        what = "a bad port" if "port" in str(exc).lower() else f"a syntax error ({exc})"
        raise ServerError(f"{source} {shown!r} is not a usable URL: {what}", hint=_HINT) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ServerError(f"{source} {shown!r} is not an http:// or https:// URL", hint=_HINT)
    host = parts.hostname
    if not host:
        raise ServerError(f"{source} {shown!r} names no host", hint=_HINT)
    if port == 0:
        raise ServerError(f"{source} {shown!r} is not a usable URL: a bad port", hint=_HINT)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    bare = urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    if parts.scheme.lower() == "http" and not _is_loopback(host):
        log.warning(
            "%s %s is plain http:// to another machine: the PiCaS password crosses the "
            "network unencrypted; use https://",
            source,
            bare,
        )
    return ServerAddress(bare, user, password)


def _describe(response: Any) -> str:
    kind = str(response.headers.get("Content-Type", "")).split(";")[0].strip() or "no type"
    return f"HTTP {response.status_code} with {kind}"


def probe(db: CouchDB) -> Dict[str, Any]:
    """The launcher's first request: the database must answer as CouchDB does; its
    description (``cluster`` tells how many copies a cluster keeps).

    Raises:
        ServerError: the answer is not CouchDB's JSON description of the database.
        CouchError: the server refused (401/403), the database is missing, unreachable...
    """
    response = db.request("GET")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "db_name" not in body:
        raise ServerError(
            f"the server at {db.server_url} answered {_describe(response)}, which is not "
            f"CouchDB's description of the database {db.name!r}",
            hint="PICAS_URL must be the CouchDB address itself (often port 6984 or 5984), "
            "not a web page, a proxy's login page or another service",
        )
    return body
