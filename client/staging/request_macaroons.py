"""A StageIT request's macaroons, each matched to the WebDAV door (and folder) it opens.

StageIT gives one macaroon per LTA site of a finished request, and the request's WebDAV URLs
(``convert2webdav``). :func:`request_macaroons` pairs them: each macaroon is kept for its
site's door plus the deepest folder holding the request's files there, so the launcher picks
the most specific one and requests of other OBSIDs at one door do not mix up. ``lrt stage
macaroons`` and the campaign's staging (``stage: true``) both use it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from grid_lrt.shared.surl import SITES

from .base import StageRequest, StagingError
from .macaroon_store import KeptMacaroon, door_of
from .stageit import StageItStager

__all__ = ["NoMacaroonsError", "request_macaroons", "webdav_urls"]


class NoMacaroonsError(StagingError):
    """The request has no macaroons (yet): it is not staged."""


def request_macaroons(
    stager: StageItStager,
    request_id: str,
    *,
    named: Optional[Mapping[str, str]] = None,
    plain: Sequence[str] = (),
) -> List[KeptMacaroon]:
    """The macaroons of request ``request_id``, each with its door prefix.

    ``named``: site (lower case) -> door given by the user; ``plain``: doors for every site.

    Raises:
        NoMacaroonsError: the request has none (yet).
        StagingError: the door of a site cannot be told (the hint says how to give it).
    """
    request = StageRequest(stager.name, request_id)
    found = stager.macaroons(request)
    if not found:
        raise NoMacaroonsError(
            f"request {request_id} has no macaroons (yet): is it staged?",
            hint=f"`lrt stage status {request_id}` says where it is",
        )
    urls = webdav_urls(stager.webdav_urls(request))
    kept = []
    for macaroon in found:
        door = _door_for(macaroon.site, urls, dict(named or {}), list(plain))
        prefix = door + _common_folder([urlsplit(u).path for u in urls if u.startswith(door)])
        kept.append(KeptMacaroon(prefix, macaroon.valid_until, macaroon.content))
    return kept


def _door_for(site: str, urls: List[str], named: Dict[str, str], plain: List[str]) -> str:
    if site.lower() in named:
        return str(named[site.lower()])
    known = SITES.get(site.lower())
    doors = sorted({door_of(u) for u in urls if u.startswith("http")})
    if known is not None:
        doors = [d for d in doors if known.domain in d] or doors
    doors = plain or doors
    if len(doors) != 1:
        raise StagingError(
            f"cannot tell the WebDAV door of site {site!r} "
            f"({'several' if doors else 'no'} WebDAV URLs found)",
            hint=f"give it: --door {site}=https://<door>:<port>",
        )
    return doors[0]


def _common_folder(paths: List[str]) -> str:
    """The deepest folder holding every path ("" for none): ``/pnfs/.../L229507``."""
    if not paths:
        return ""
    folders = [p.rsplit("/", 1)[0].split("/") for p in paths]
    common: List[str] = []
    for parts in zip(*folders):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common)


def webdav_urls(answer: Any) -> List[str]:
    """Every https/davs URL in an answer of unknown shape (lists, dicts, strings)."""
    found: List[str] = []
    if isinstance(answer, str):
        if answer.startswith(("https://", "davs://", "http://")):
            found.append(answer)
    elif isinstance(answer, dict):
        for value in answer.values():
            found.extend(webdav_urls(value))
    elif isinstance(answer, (list, tuple)):
        for value in answer:
            found.extend(webdav_urls(value))
    return found
