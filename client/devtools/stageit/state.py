"""The StageIT simulator's requests: ids, state progression, limits, per-file answers, macaroons.

Pure state behind a lock (the HTTP layer is :mod:`.server`, GraphQL :mod:`.schema`). Errors that
become HTTP answers are :class:`SimHttpError` (status and a JSON body as DRF writes them).
"""

from __future__ import annotations

import datetime
import itertools
import json
import logging
import posixpath
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from grid_lrt.client.devtools import macaroons
from grid_lrt.shared import surl as surlmod

__all__ = [
    "CODES",
    "DEFAULT_DOORS",
    "SimHttpError",
    "SimRequest",
    "StageItState",
    "catalogued",
    "reason_for",
]

log = logging.getLogger(__name__)

_STEPS = ("new", "scheduled", "in progress")
#: ``currentStatusCode`` per status. ASTRON's helpers show S, C and A; the others are made up.
CODES = {
    "new": "N",
    "scheduled": "S",
    "in progress": "I",
    "success": "C",
    "partial success": "P",
    "failed": "F",
    "aborted": "A",
    "on hold": "H",
}
#: WebDAV doors per site for convert2webdav and macaroon locations (made up: the real ones
#: are not stated; pass ``doors=`` to point them at a test archive).
DEFAULT_DOORS = {
    "sara": "https://webdav.grid.surfsara.nl:2880",
    "juelich": "https://lofar-webdav.fz-juelich.de:2880",
    "poznan": "https://lta-webdav.lofar.psnc.pl:2880",
}


class SimHttpError(Exception):
    """An error answer: HTTP ``status`` with the JSON ``body``."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def catalogued(link: str) -> bool:
    """True when the LTA catalogue would know ``link``: a plain ``srm://host/...`` SURL of an
    LTA site (not the ``srm/managerv2?SFN=`` form, not gsiftp or https)."""
    plain = link.startswith("srm://") and "?SFN=" not in link and "/srm/managerv2" not in link
    return plain and surlmod.find_site(link) is not None


def reason_for(link: str) -> Optional[str]:
    """Why StageIT would not stage ``link`` (None: it would)."""
    if not catalogued(link):
        return (
            "not found in the LTA catalogue (it holds plain "
            "srm://host:8443/pnfs/... SURLs of the LTA sites)"
        )
    if "fail" in link.lower():
        return "staging failed: tape read error (simulated)"
    return None


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).isoformat()


@dataclass
class SimRequest:
    """One staging request as the simulator keeps it."""

    id: int
    surls: List[str]
    notify: bool
    request_type: str
    when: datetime.datetime
    started: float
    token: str
    step: int = 0
    final: str = ""
    held: bool = False
    online: List[str] = field(default_factory=list)
    errors: Dict[str, str] = field(default_factory=dict)
    macaroons: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.final or ("on hold" if self.held else _STEPS[self.step])

    @property
    def code(self) -> str:
        return CODES[self.status]

    @property
    def response(self) -> str:
        """The per-file answer, a JSON string as StageIT sends it."""
        done = set(self.online) | set(self.errors)
        pending = [] if self.final else [s for s in self.surls if s not in done]
        return json.dumps({"progressing": pending, "online": self.online, "errors": self.errors})

    def rest(self) -> Dict[str, Any]:
        """The REST representation (POST/PATCH/GET answers)."""
        return {
            "id": self.id,
            "surls": list(self.surls),
            "notify": self.notify,
            "request_type": self.request_type,
            "when": _iso(self.when),
            "current_status_code": self.code,
            "current_status": self.status,
        }

    def node(self) -> Dict[str, Any]:
        """The GraphQL representation (field names as StageIT's schema)."""
        return {
            "id": str(self.id),
            "requestToken": self.token,
            "requestType": self.request_type,
            "when": _iso(self.when),
            "response": self.response,
            "currentStatus": self.status,
            "currentStatusCode": self.code,
            "surls": [{"surl": s} for s in self.surls],
            "macaroons": [dict(m) for m in self.macaroons],
        }


class StageItState:
    """Requests of the one simulated user; see :class:`~.server.StageItSimulator` for the args."""

    def __init__(
        self,
        *,
        delay: float = 0.1,
        on_online: Optional[Callable[[List[str]], object]] = None,
        macaroon_secret: Optional[bytes] = None,
        macaroon_lifetime: float = 7 * 24 * 3600.0,
        macaroon_scope: str = "directory",
        doors: Union[str, Mapping[str, str], None] = None,
        max_files_per_request: int = 1000,
        max_files_in_flight: int = 5000,
    ) -> None:
        if macaroon_scope not in ("directory", "file"):
            raise ValueError("macaroon_scope is 'directory' or 'file'")
        self.delay = delay
        self.on_online = on_online
        self.macaroon_secret = macaroon_secret or secrets.token_bytes(32)
        self.macaroon_lifetime = macaroon_lifetime
        self.macaroon_scope = macaroon_scope
        if isinstance(doors, str):
            self.doors: Dict[str, str] = dict.fromkeys(surlmod.SITES, doors)
        else:
            self.doors = {**DEFAULT_DOORS, **(doors or {})}
        self.max_files_per_request = max_files_per_request
        self.max_files_in_flight = max_files_in_flight
        self._requests: Dict[int, SimRequest] = {}
        # Ids of a simulator started later do not repeat an earlier one's (a client's
        # records of those requests must not meet a new request under the same id).
        self._ids = itertools.count(40001 + int(time.time() * 10) % 10_000_000 * 10)
        self._lock = threading.RLock()

    # ---- for tests -----------------------------------------------------------------------

    def get(self, request_id: Union[int, str]) -> SimRequest:
        """The request ``request_id`` (404 answer when unknown)."""
        try:
            rid = int(request_id)
        except (TypeError, ValueError):
            raise SimHttpError(404, {"detail": "Not found."}) from None
        with self._lock:
            req = self._requests.get(rid)
        if req is None:
            raise SimHttpError(404, {"detail": "Not found."})
        return req

    def all_requests(self) -> List[SimRequest]:
        """Every request, oldest first."""
        with self._lock:
            return [self._requests[k] for k in sorted(self._requests)]

    def files_in_flight(self) -> int:
        """Files of unfinished requests (on hold included): what the 5,000 limit counts."""
        with self._lock:
            return sum(len(r.surls) for r in self._requests.values() if not r.final)

    def hold(self, request_id: Union[int, str]) -> None:
        """Put an unfinished request on hold (as for maintenance) until it is rescheduled."""
        with self._lock:
            req = self.get(request_id)
            if not req.final:
                req.held = True

    # ---- the API's actions ---------------------------------------------------------------

    def submit(self, body: Any) -> SimRequest:
        if not isinstance(body, dict):
            raise SimHttpError(400, {"detail": "JSON object expected."})
        surls = body.get("surls")
        if not isinstance(surls, list) or not surls:
            raise SimHttpError(400, {"surls": ["This field is required."]})
        if not all(isinstance(s, str) and s for s in surls):
            raise SimHttpError(400, {"surls": ["A list of SURL strings is expected."]})
        if body.get("request_type", "stage") != "stage":
            raise SimHttpError(400, {"request_type": ["Only 'stage' is simulated."]})
        if len(surls) > self.max_files_per_request:
            raise SimHttpError(
                400,
                {
                    "detail": f"A staging request may hold at most {self.max_files_per_request} "
                    f"files; this one holds {len(surls)}. Split it into smaller requests."
                },
            )
        with self._lock:
            busy = self.files_in_flight()
            if busy + len(surls) > self.max_files_in_flight:
                raise SimHttpError(
                    400,
                    {
                        "detail": f"Too many files in flight: your unfinished requests hold {busy}"
                        f" files and this one {len(surls)}; at most {self.max_files_in_flight} "
                        "are allowed at once. Submit it when earlier requests have finished."
                    },
                )
            rid = next(self._ids)
            req = SimRequest(
                id=rid,
                surls=list(surls),
                notify=bool(body.get("notify", True)),
                request_type="stage",
                when=datetime.datetime.now(datetime.timezone.utc),
                started=time.monotonic(),
                token=f"-{rid * 7919}",
            )
            self._requests[rid] = req
        self.tick()
        return req

    def abort(self, request_id: Union[int, str]) -> None:
        with self._lock:
            req = self.get(request_id)
            if not req.final:
                req.final, req.held = "aborted", False

    def patch(self, request_id: Union[int, str], body: Any) -> SimRequest:
        code = body.get("current_status_code") if isinstance(body, dict) else None
        if code != "S":
            raise SimHttpError(
                400, {"current_status_code": ["Only 'S' (reschedule) is simulated."]}
            )
        with self._lock:
            req = self.get(request_id)
            req.held, req.final, req.step = False, "", 1
            req.online, req.errors, req.macaroons = [], {}, []
            req.started = time.monotonic() - self.delay
        return req

    # ---- progression ---------------------------------------------------------------------

    def tick(self, now: Optional[float] = None) -> None:
        """Advance every request to where it should be at ``now`` (monotonic seconds)."""
        now = time.monotonic() if now is None else now
        staged: List[List[str]] = []
        with self._lock:
            for req in self._requests.values():
                if req.final or req.held:
                    continue
                steps = int((now - req.started) / self.delay) if self.delay > 0 else 3
                if steps < 3:
                    req.step = steps
                    continue
                self._finish(req)
                if req.online:
                    staged.append(list(req.online))
        for links in staged:
            if self.on_online is not None:
                try:
                    self.on_online(links)
                except Exception:  # a hook's bug must not stop the simulator
                    log.exception("on_online hook failed")

    def _finish(self, req: SimRequest) -> None:
        reasons = {s: reason_for(s) for s in req.surls}
        req.errors = {s: r for s, r in reasons.items() if r}
        req.online = [s for s in req.surls if not reasons[s]]
        req.final = "failed" if not req.online else "partial success" if req.errors else "success"
        req.macaroons = self._mint(req)

    def _mint(self, req: SimRequest) -> List[Dict[str, Any]]:
        by_site: Dict[str, List[str]] = {}
        for link in req.online:
            site = surlmod.site_of(link).name
            path = surlmod.path_of(link)
            scope = posixpath.dirname(path) if self.macaroon_scope == "directory" else path
            if scope not in by_site.setdefault(site, []):
                by_site[site].append(scope)
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=self.macaroon_lifetime
        )
        return [
            {
                "content": macaroons.mint(
                    self.macaroon_secret,
                    location=self.doors.get(site, ""),
                    identifier=f"stageit-{req.id}-{site}",
                    site=site,
                    paths=paths,
                    valid_until=until,
                ),
                "validUntil": _iso(until),
                "ltaSite": {"name": site},
            }
            for site, paths in by_site.items()
        ]

    # ---- conversions ---------------------------------------------------------------------

    def webdav_urls(self, request_id: Union[int, str]) -> Dict[str, str]:
        """``{surl: https://<door>/<path>}`` for the request's files of known sites."""
        out: Dict[str, str] = {}
        for link in self.get(request_id).surls:
            site = surlmod.find_site(link)
            if site is not None and site.name in self.doors and catalogued(link):
                out[link] = self.doors[site.name].rstrip("/") + surlmod.path_of(link)
        return out

    def gridftp_urls(self, request_id: Union[int, str]) -> Dict[str, str]:
        """``{surl: gsiftp://<site's door>/<path>}`` for the request's files of known sites."""
        return {
            link: surlmod.to_gsiftp(link) for link in self.get(request_id).surls if catalogued(link)
        }
