"""ASTRON's StageIT (today's LTA stager) behind the :class:`~.base.Stager` port, plus the rest
of ASTRON's ``stager_access`` 2.0 API.

REST under ``https://<host>/stageit/api/staging/`` (``requests/``), GraphQL at ``graphql/``,
exactly as ASTRON's client 2.0 calls them (``/work/shared/reference/lta-stageit.md``). Nothing
happens at import or construction: the token is looked up (:mod:`.stageitcreds`) and the HTTP
session made at the first call. Failures become :class:`~.stageit_http.StageItServiceError`,
:class:`~.stageit_http.StageItConnectionError` or
:class:`~.stageitcreds.StageItCredentialsError` (all :class:`~.base.StagingError`), never
``SystemExit``, and the token is in none of them.

SURLs are sent as given (stripped, duplicates once): StageIT matches its catalogue's plain
``srm://host:8443/pnfs/...`` form. A request's per-file ``response`` is a JSON *string* with
``progressing``, ``online`` and ``errors`` (SURL → reason).
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Union

from grid_lrt.client.staging.base import StageRequest, StageStatus, UnknownRequestError
from grid_lrt.client.staging.stageit_http import (
    ENV_URL,
    StageItConnectionError,
    StageItHttp,
    StageItNotOfferedError,
    StageItServiceError,
)
from grid_lrt.client.staging.stageitcreds import (
    StageItCredentials,
    StageItCredentialsError,
    get_stageit_creds,
)

__all__ = [
    "ENV_URL",
    "FINISHED_CODES",
    "StageItConnectionError",
    "StageItCredentialsError",
    "StageItMacaroon",
    "StageItNotOfferedError",
    "StageItServiceError",
    "StageItStager",
    "parse_stageit_status",
]

log = logging.getLogger(__name__)

RequestRef = Union[StageRequest, int, str]

_STATUSES = {
    "new": StageStatus.NEW,
    "scheduled": StageStatus.SCHEDULED,
    "in progress": StageStatus.IN_PROGRESS,
    "success": StageStatus.SUCCESS,
    "partial success": StageStatus.PARTIAL,
    "failed": StageStatus.FAILED,
    "aborted": StageStatus.ABORTED,
    "on hold": StageStatus.ON_HOLD,
}

#: ``currentStatusCode`` values of finished requests seen in ASTRON's helpers (completed,
#: aborted); other finished requests are recognised by every file being online or failed.
FINISHED_CODES = frozenset({"C", "A"})

#: The start of "all requests" for ``progress()`` (``when_Gte`` is always sent, as ASTRON does).
#: graphene's words for a request id it does not know (the simulator's too).
_UNKNOWN = "matching query does not exist"
_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)

_PROGRESS_FIELDS = "id requestToken requestType when response currentStatusCode surls { surl }"


def parse_stageit_status(value: object) -> StageStatus:
    """Map StageIT's ``currentStatus`` word to a :class:`StageStatus`.

    An unknown word is logged and treated as ``SCHEDULED`` (not finished: keep polling).
    """
    text = " ".join(str(value or "").strip().lower().replace("_", " ").split())
    status = _STATUSES.get(text)
    if status is None:
        log.warning("unknown StageIT status %r; treating it as scheduled", text)
        return StageStatus.SCHEDULED
    return status


@dataclass(frozen=True)
class StageItMacaroon:
    """A request's download macaroon for one LTA site (a bearer secret: ``repr`` hides it)."""

    site: str
    content: str
    valid_until: datetime.datetime

    def __repr__(self) -> str:
        return f"StageItMacaroon(site={self.site!r}, valid_until={self.valid_until.isoformat()})"


def _parse_time(value: object) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise StageItServiceError(f"StageIT sent a time that is not ISO 8601: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _parse_response(raw: object) -> Dict[str, Any]:
    """A request's ``response`` field (a JSON string, or nothing yet) as a dict."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(str(raw))
    except ValueError:
        log.warning("StageIT sent a response field that is not JSON; ignoring it")
        return {}
    return parsed if isinstance(parsed, dict) else {}


class StageItStager:
    """Client of StageIT; implements :class:`~grid_lrt.client.staging.base.Stager`.

    Args:
        token: API token; default from :func:`~.stageitcreds.get_stageit_creds`.
        host: StageIT host (``host[:port]``); default from the same place as the token.
        timeout: Seconds to wait for the service on each call.
        notify: Ask StageIT to e-mail on progress (``notify`` of a new request; ASTRON's
            default is True).
    """

    name = "stageit"

    def __init__(
        self,
        *,
        token: Optional[str] = None,
        host: Optional[str] = None,
        timeout: float = 60.0,
        notify: bool = True,
        creds: Optional[StageItCredentials] = None,
    ) -> None:
        self._token_arg = token
        self._host_arg = host
        self._creds = creds
        self._timeout = timeout
        self.notify = notify
        self._http: Optional[StageItHttp] = None

    def __repr__(self) -> str:
        where = self._http.url if self._http is not None else (self._host_arg or "(not yet)")
        return f"StageItStager({where!r})"

    @property
    def url(self) -> str:
        """The base URL of the staging API (looks the credentials up if not done yet)."""
        return self._client().url

    def _client(self) -> StageItHttp:
        if self._http is None:
            creds = self._creds or get_stageit_creds(self._token_arg, self._host_arg)
            self._http = StageItHttp(creds, timeout=self._timeout)
        return self._http

    def close(self) -> None:
        """Close the connections (a later call opens new ones)."""
        if self._http is not None:
            self._http.close()

    @staticmethod
    def _request_id(request: RequestRef) -> int:
        raw = request.request_id if isinstance(request, StageRequest) else request
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise StageItServiceError(
                f"{raw!r} is not a StageIT request id (a whole number)."
            ) from None

    def _request(self, request: RequestRef, fields: str) -> Dict[str, Any]:
        rid = self._request_id(request)
        refused = ""
        try:
            data = self._client().graphql(f"{{ request(id: {rid}) {{ {fields} }} }}")
        except StageItServiceError as exc:
            if _UNKNOWN not in exc.message:
                raise
            refused, data = exc.message, {}
        if refused:  # raised outside the handler: no chained exception to show
            raise UnknownRequestError(f"StageIT knows no request {rid} ({refused})")
        node = data.get("request")
        if not isinstance(node, dict):
            raise UnknownRequestError(f"StageIT knows no request {rid}.")
        return node

    def _response(self, request: RequestRef) -> Dict[str, Any]:
        return _parse_response(self._request(request, "response").get("response"))

    # ---- the Stager port ----------------------------------------------------------------

    def submit(self, surls: Sequence[str], *, notify: Optional[bool] = None) -> StageRequest:
        """One StageIT request (``POST requests/``) for ``surls``; a ``str`` is one SURL.

        Empty lines are ignored; duplicates are sent once. StageIT refuses a request of more
        than 1,000 files, or one that takes the user over 5,000 files in flight: the service's
        message is in the :class:`StageItServiceError`.
        """
        items = [surls] if isinstance(surls, str) else list(surls)
        links = list(dict.fromkeys(s.strip() for s in items if s and s.strip()))
        if not links:
            raise StageItServiceError("Nothing to stage: the list of SURLs is empty.")
        body = {
            "surls": links,
            "notify": self.notify if notify is None else bool(notify),
            "request_type": "stage",
        }
        answer = self._client().rest("POST", "requests/", body)
        rid = answer.get("id") if isinstance(answer, dict) else None
        if rid is None:
            raise StageItServiceError("StageIT accepted a request but sent no request id.")
        log.info("StageIT request %s: %d SURLs", rid, len(links))
        return StageRequest(backend=self.name, request_id=str(rid), surls=links)

    def status(self, request: RequestRef) -> StageStatus:
        """The request's status (``currentStatus``)."""
        return parse_stageit_status(self._request(request, "currentStatus").get("currentStatus"))

    def online(self, request: RequestRef) -> List[str]:
        """The SURLs of the request that are on disk now."""
        return self.surls_online(request)

    def failed(self, request: RequestRef) -> Dict[str, str]:
        """The request's failed SURLs, each with StageIT's reason (``response.errors``)."""
        errors = self._response(request).get("errors") or {}
        if isinstance(errors, list):
            return {str(s): "failed" for s in errors}
        return {str(k): str(v) for k, v in dict(errors).items()}

    def abort(self, request: RequestRef) -> None:
        """Cancel the request (``PUT requests/<id>/abort/``)."""
        self._client().rest("PUT", f"requests/{self._request_id(request)}/abort/", {})

    def active_files(self) -> int:
        """Files of this user's unfinished requests (StageIT allows 5,000 at once).

        A request counts whole while it is unfinished: not completed or aborted
        (:data:`FINISHED_CODES`), and not every one of its files online or failed."""
        total = 0
        for node in self.progress().values():
            if str(node.get("currentStatusCode", "")).upper() in FINISHED_CODES:
                continue
            files = {str(s.get("surl")) for s in node.get("surls") or [] if isinstance(s, dict)}
            response = _parse_response(node.get("response"))
            settled = set(map(str, response.get("online") or [])) | set(
                map(str, response.get("errors") or {})
            )
            if files and files <= settled:
                continue
            total += len(files)
        return total

    # ---- the rest of ASTRON's 2.0 API ----------------------------------------------------

    def surls_requested(self, request: RequestRef) -> List[str]:
        """The SURLs the request asked for (``surls { surl }``)."""
        rows = self._request(request, "surls { surl }").get("surls") or []
        return [str(r["surl"]) for r in rows if isinstance(r, dict) and "surl" in r]

    def surls_pending(self, request: RequestRef) -> List[str]:
        """The SURLs still being staged (``response.progressing``)."""
        return [str(s) for s in self._response(request).get("progressing") or []]

    def surls_online(self, request: RequestRef) -> List[str]:
        """The SURLs on disk (``response.online``)."""
        return [str(s) for s in self._response(request).get("online") or []]

    def srm_token(self, request: RequestRef) -> Optional[str]:
        """The SRM request token of the request (``requestToken``)."""
        token = self._request(request, "requestToken").get("requestToken")
        return None if token is None else str(token)

    def reschedule(self, request: RequestRef) -> Any:
        """Put the request back to scheduled (``PATCH`` with ``current_status_code: S``)."""
        rid = self._request_id(request)
        return self._client().rest("PATCH", f"requests/{rid}/", {"current_status_code": "S"})

    def progress(
        self, status: Optional[str] = None, exclude: bool = False, only_last24h: bool = False
    ) -> Dict[str, Dict[str, Any]]:
        """This user's requests as ``{id: node}`` (``requests(...)``), as ASTRON's 2.0 does.

        Args:
            status: A ``currentStatusCode`` (e.g. ``'S'``, ``'C'``, ``'A'``): only those...
            exclude: ...or all but those.
            only_last24h: Only requests made in the last 24 hours.
        """
        now = datetime.datetime.now(datetime.timezone.utc)
        since = now - datetime.timedelta(hours=24) if only_last24h else _EPOCH
        args = [f"when_Gte: {json.dumps(since.isoformat())}"]
        if status:
            key = "currentStatusCode_Ne" if exclude else "currentStatusCode"
            args.append(f"{key}: {json.dumps(str(status))}")
        query = f"{{ requests({', '.join(args)}) {{ edges {{ node {{ {_PROGRESS_FIELDS} }} }} }} }}"
        data = self._client().graphql(query)
        edges = (data.get("requests") or {}).get("edges") or []
        nodes = [
            e["node"] for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)
        ]
        return {str(n.get("id")): n for n in nodes}

    def macaroons(self, request: RequestRef) -> List[StageItMacaroon]:
        """The request's download macaroons, one per LTA site of its files."""
        fields = "macaroons { content validUntil ltaSite { name } }"
        rows = self._request(request, fields).get("macaroons") or []
        return [
            StageItMacaroon(
                site=str((row.get("ltaSite") or {}).get("name", "")),
                content=str(row.get("content", "")),
                valid_until=_parse_time(row.get("validUntil")),
            )
            for row in rows
            if isinstance(row, dict)
        ]

    def webdav_urls(self, request: RequestRef) -> Any:
        """The request's files as WebDAV (https) URLs (``GET .../convert2webdav/``; the JSON)."""
        return self._client().rest("GET", f"requests/{self._request_id(request)}/convert2webdav/")

    def gridftp_urls(self, request: RequestRef) -> Any:
        """The request's files as GridFTP URLs (``GET .../convert2gridftp/``; the JSON)."""
        return self._client().rest("GET", f"requests/{self._request_id(request)}/convert2gridftp/")

    # ---- what ASTRON's 2.0 deprecates ----------------------------------------------------

    def _not_offered(self, what: str) -> NoReturn:
        raise StageItNotOfferedError(
            f"{what} is not offered by StageIT (ASTRON's stager_access 2.0 deprecates it).",
            hint="Use progress() / reschedule() per request instead.",
        )

    def storage_info(self) -> NoReturn:
        """Not offered by StageIT: raises :class:`StageItNotOfferedError`."""
        self._not_offered("storage_info (get_storage_info)")

    def stuck_requests(self) -> NoReturn:
        """Not offered by StageIT: raises :class:`StageItNotOfferedError`."""
        self._not_offered("stuck_requests (get_stuck_requests)")

    def reschedule_on_status(self, status: str = "") -> NoReturn:
        """Not offered by StageIT: raises :class:`StageItNotOfferedError`."""
        self._not_offered("reschedule_on_status")

    def reschedule_on_hold(self) -> NoReturn:
        """Not offered by StageIT: raises :class:`StageItNotOfferedError`."""
        self._not_offered("reschedule_on_hold")

    def print_on_hold(self) -> NoReturn:
        """Not offered by StageIT: raises :class:`StageItNotOfferedError`."""
        self._not_offered("print_on_hold")

    def reschedule_aborted(self) -> NoReturn:
        """Not offered by StageIT: raises :class:`StageItNotOfferedError`."""
        self._not_offered("reschedule_aborted")
