"""Request paths and parameters of the CouchDB client: credentials out of the server URL,
document ids and attachment names quoted as one path each, view parameters as JSON."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import LrtError

__all__ = ["doc_path", "encode_params", "path_segment", "split_credentials"]

# View/query parameters CouchDB expects as JSON values.
_JSON_PARAMS = frozenset({"key", "keys", "startkey", "endkey", "start_key", "end_key"})


def split_credentials(url: str) -> Tuple[str, Optional[str], Optional[str]]:
    """Split ``http://user:pw@host:port/`` into the bare URL and the credentials."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        raise LrtError(
            f"{url!r} is not a server URL",
            hint="give it as http(s)://host:port, e.g. https://picas-lofar.grid.surfsara.nl:6984",
        )
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    bare = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    user = parts.username or None
    password = parts.password or None
    return bare, user, password


def path_segment(text: str, safe: str = "") -> str:
    """``text`` quoted for a URL path, dot segments (``.``, ``..``) included: left as they
    are, the HTTP client would resolve them and reach another document or the database."""
    parts = quote(text, safe=safe).split("/")
    return "/".join(part.replace(".", "%2E") if part in (".", "..") else part for part in parts)


def doc_path(doc_id: str) -> str:
    if doc_id.startswith("_design/"):
        return "_design/" + path_segment(doc_id[len("_design/") :])
    if doc_id.startswith("_local/"):
        return "_local/" + path_segment(doc_id[len("_local/") :])
    return path_segment(doc_id)


def encode_params(params: Mapping[str, Any]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if name in _JSON_PARAMS:
            out[name] = json.dumps(value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out
