"""The door side of the test tape archive (tests/support/tape_archive.py): macaroons, redirects.

:func:`door_reads` wraps the archive's WebDAV application. For GET/HEAD/PROPFIND of a file:

* with ``archive.macaroon_secret`` set, ``Authorization: Bearer <m>`` (or ``?authz=<m>``) must
  hold a macaroon that :func:`grid_lrt.client.devtools.macaroons.check` accepts for the path at
  ``archive.site``: 401 without one, 403 with a refused one. The reason is logged and kept in
  ``archive.refusals``; the macaroon never is;
* with ``archive.redirect_base`` set, GET/HEAD (once allowed) answer 302 to
  ``redirect_base + path``, as a dCache door sends its clients to a pool.

Other requests (writes, folders, missing files, the Tape REST API) pass unchanged.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterable, List, Optional
from urllib.parse import parse_qs

__all__ = ["door_reads"]

log = logging.getLogger("tests.support.tape_archive")

_Start = Callable[..., Any]
_App = Callable[[Dict[str, Any], _Start], Iterable[bytes]]
_READS = ("GET", "HEAD", "PROPFIND")


def _token(env: Dict[str, Any]) -> str:
    header = str(env.get("HTTP_AUTHORIZATION", ""))
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return (parse_qs(str(env.get("QUERY_STRING", ""))).get("authz") or [""])[0]


def _refused(archive: Any, env: Dict[str, Any], start: _Start) -> Optional[List[bytes]]:
    """None when the request's macaroon lets it read the path; else the 401/403 answer."""
    from grid_lrt.client.devtools.macaroons import check

    method, path = env["REQUEST_METHOD"], env.get("PATH_INFO", "/")
    token = _token(env)
    if not token:
        why, status = "no macaroon", "401 Unauthorized"
    else:
        problem = check(archive.macaroon_secret, token, site=archive.site, path=path)
        if problem is None:
            return None
        why, status = f"macaroon refused: {problem}", "403 Forbidden"
    log.info("tape archive: %s %s refused (%s)", method, path, why)
    archive.refusals.append((method, path, why))
    body = f"{why}\n".encode()
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    if status.startswith("401"):
        headers.append(("WWW-Authenticate", 'Bearer realm="lrt-mock"'))
    start(status, headers)
    return [b""] if method == "HEAD" else [body]


def door_reads(archive: Any, app: _App) -> _App:
    """``app`` behind the archive's macaroon check and redirect (module docstring)."""

    def middleware(env: Dict[str, Any], start: _Start) -> Iterable[bytes]:
        method, path = env["REQUEST_METHOD"], env.get("PATH_INFO", "/")
        if method not in _READS or not archive.exists(path):
            return app(env, start)
        if archive.macaroon_secret is not None:
            refused = _refused(archive, env, start)
            if refused is not None:
                return refused
        if archive.redirect_base is not None and method in ("GET", "HEAD"):
            start("302 Found", [("Location", archive.redirect_base.rstrip("/") + path),
                                ("Content-Length", "0")])  # fmt: skip
            return [b""]
        return app(env, start)

    return middleware
