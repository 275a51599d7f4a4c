"""The ASTRON LTA stager (XML-RPC ``LtaStager.*``) behind the :class:`~.base.Stager` port.

Nothing happens at import or construction: the URL is resolved (argument, ``LRT_LTA_URL``,
:data:`DEFAULT_URL`), the credentials are looked up (:mod:`.ltacreds`) and the
``xmlrpc.client.ServerProxy`` is built at the first call.

The credentials travel as an HTTP basic ``Authorization`` header, never inside the URL, so no
``ProtocolError``, ``repr`` or log line can hold the password. Library exceptions
(``xmlrpc.client.Fault``/``ProtocolError``, ``OSError``) become :class:`LtaServiceError`,
:class:`LtaConnectionError` or :class:`~.ltacreds.LtaCredentialsError` (raised ``from None``,
with any userinfo redacted from the URL).

A whole request is one ``add_getid`` call, however many SURLs it holds. SURLs are sent as
the user gave them (stripped, duplicates once): the LTA stager, the old one and today's alike,
matches them against its catalogue's plain ``srm://host:8443/pnfs/...`` form, so rewriting
them into the gfal form ``srm://host:8443/srm/managerv2?SFN=/pnfs/...`` would make them
unknown to it. (The gfal2 stager, ``gfal.py``, uses its own form.)
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import threading
import xmlrpc.client
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

from grid_lrt.client.staging.base import StageRequest, StageStatus, StagingError
from grid_lrt.client.staging.ltacreds import (
    LtaCredentialsError,
    credentials_help,
    get_staging_creds,
)
from grid_lrt.shared.redact import redact_url

__all__ = [
    "DEFAULT_URL",
    "ENV_URL",
    "LtaConnectionError",
    "LtaServiceError",
    "LtaStager",
    "parse_status",
    "redact_url",
]

log = logging.getLogger(__name__)

#: The public ASTRON endpoint.
DEFAULT_URL = "https://webportal.astron.nl/service-public/xmlrpc"
#: Environment variable that overrides :data:`DEFAULT_URL`.
ENV_URL = "LRT_LTA_URL"


class LtaServiceError(StagingError):
    """The LTA stager answered with an error (an XML-RPC fault or an HTTP error)."""


class LtaConnectionError(StagingError):
    """The LTA stager cannot be reached (DNS, refused connection, TLS, time-out)."""


_STATUS_WORDS = (
    ("partial", StageStatus.PARTIAL),
    ("fail", StageStatus.FAILED),
    ("abort", StageStatus.ABORTED),
    ("hold", StageStatus.ON_HOLD),
    ("success", StageStatus.SUCCESS),
    ("progress", StageStatus.IN_PROGRESS),
    ("schedul", StageStatus.SCHEDULED),
    ("new", StageStatus.NEW),
)


def parse_status(value: object) -> StageStatus:
    """Map an LTA ``getstatus`` answer to a :class:`StageStatus`.

    An empty answer (the LTA forgets finished requests) is ``FINISHED_OR_UNKNOWN``; an
    unrecognised word is logged and treated as ``SCHEDULED`` (not finished, keep polling).
    """
    text = str(value or "").strip().lower()
    if not text:
        return StageStatus.FINISHED_OR_UNKNOWN
    for word, status in _STATUS_WORDS:
        if word in text:
            return status
    log.warning("unknown LTA stager status %r; treating it as scheduled", text)
    return StageStatus.SCHEDULED


class _Transport(xmlrpc.client.Transport):
    """HTTP transport with a connection time-out."""

    def __init__(self, timeout: float, headers: Sequence[tuple[str, str]]) -> None:
        super().__init__(headers=headers)
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class _SafeTransport(xmlrpc.client.SafeTransport):
    """HTTPS transport with a connection time-out."""

    def __init__(self, timeout: float, headers: Sequence[tuple[str, str]]) -> None:
        super().__init__(headers=headers)
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPSConnection:
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class LtaStager:
    """Client of the LTA stager; implements :class:`~grid_lrt.client.staging.base.Stager`.

    Args:
        url: Service URL; default ``$LRT_LTA_URL``, else :data:`DEFAULT_URL`.
        user: LTA user; default from :func:`~.ltacreds.get_staging_creds`.
        password: LTA password; idem.
        timeout: Seconds to wait for the service on each call.
    """

    name = "lta"

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        user: Optional[str] = None,
        password: Optional[str] = None,
        timeout: float = 120.0,
    ) -> None:
        self._url_arg = url
        self._user = user
        self._password = password
        self._timeout = timeout
        self._proxy: Optional[xmlrpc.client.ServerProxy] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LtaStager(url={self.url!r})"

    @property
    def url(self) -> str:
        """The service URL (redacted: never holds credentials)."""
        return redact_url(self._url_arg or os.environ.get(ENV_URL) or DEFAULT_URL)

    # ---- plumbing ------------------------------------------------------------------------

    def _get_proxy(self) -> xmlrpc.client.ServerProxy:
        if self._proxy is None:
            raw = self._url_arg or os.environ.get(ENV_URL) or DEFAULT_URL
            parts = urlsplit(raw)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise LtaServiceError(
                    f"LTA stager URL {redact_url(raw)!r} is not an http(s) URL.",
                    hint=f"Pass url=... or set {ENV_URL}, e.g. {DEFAULT_URL}.",
                )
            user, password = get_staging_creds(self._user, self._password)
            # userinfo in the URL is dropped: credentials go in the header only.
            netloc = parts.netloc.rsplit("@", 1)[-1]
            clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers = [("Authorization", "Basic " + token)]
            transport_cls = _SafeTransport if parts.scheme == "https" else _Transport
            transport = transport_cls(self._timeout, headers)
            self._proxy = xmlrpc.client.ServerProxy(clean, transport=transport, allow_none=True)
            log.debug("LTA stager proxy for %s (user %s)", clean, user)
        return self._proxy

    def close(self) -> None:
        """Close the connection to the service (a later call opens a new one)."""
        with self._lock:
            if self._proxy is not None:
                self._proxy("close")()

    def _call(self, method: str, *args: Any) -> Any:
        """Call ``LtaStager.<method>(*args)``, translating every library error."""
        with self._lock:
            proxy = self._get_proxy()
            try:
                return getattr(proxy.LtaStager, method)(*args)
            except xmlrpc.client.Fault as exc:
                err: StagingError = LtaServiceError(
                    f"LTA stager {self.url} refused {method}: {exc.faultString} "
                    f"(fault {exc.faultCode}).",
                )
            except xmlrpc.client.ProtocolError as exc:
                err = self._protocol_error(method, exc.errcode, exc.errmsg)
            except (OSError, http.client.HTTPException) as exc:
                err = LtaConnectionError(
                    f"Cannot reach the LTA stager at {self.url} ({method}): "
                    f"{exc.__class__.__name__}: {exc}.",
                    hint=f"Check the network, or the URL (argument or {ENV_URL}).",
                )
            finally:
                # Close after every call: no socket is left open, and calls stay few.
                proxy("close")()
        raise err from None

    def _protocol_error(self, method: str, code: int, msg: str) -> StagingError:
        if code in (401, 403):
            return LtaCredentialsError(
                f"The LTA stager at {self.url} refused the credentials (HTTP {code} {msg}).",
                hint=credentials_help(),
            )
        return LtaServiceError(f"LTA stager {self.url} answered HTTP {code} {msg} to {method}.")

    @staticmethod
    def _request_id(request: StageRequest | int | str) -> int:
        raw = request.request_id if isinstance(request, StageRequest) else request
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise LtaServiceError(
                f"{raw!r} is not an LTA stage request id (a whole number)."
            ) from None

    # ---- the Stager port ----------------------------------------------------------------

    def submit(self, surls: Sequence[str]) -> StageRequest:
        """Ask the LTA to stage ``surls`` in one ``add_getid`` call.

        A single ``str`` is one SURL. Empty lines are ignored; duplicates are sent once.

        Raises:
            LtaServiceError: No SURLs, or the service refused the request.
        """
        items = [surls] if isinstance(surls, str) else list(surls)
        links = list(dict.fromkeys(s.strip() for s in items if s and s.strip()))
        if not links:
            raise LtaServiceError("Nothing to stage: the list of SURLs is empty.")
        stage_id = self._call("add_getid", links)
        log.info("LTA stage request %s: %d SURLs", stage_id, len(links))
        return StageRequest(backend=self.name, request_id=str(stage_id), surls=links)

    def status(self, request: StageRequest | int | str) -> StageStatus:
        """Status of a request; ``FINISHED_OR_UNKNOWN`` when the LTA no longer knows it."""
        stage_id = self._request_id(request)
        try:
            answer = self._call("getstatus", stage_id)
        except LtaServiceError as exc:
            log.info("LTA status of %s unknown: %s", stage_id, exc)
            return StageStatus.FINISHED_OR_UNKNOWN
        return parse_status(answer)

    def surls_online(self, request: StageRequest | int | str) -> List[str]:
        """The SURLs of the request that are staged, as the service reports them."""
        answer = self._call("getstagedurls", self._request_id(request))
        return [str(s) for s in answer or []]

    def online(self, request: StageRequest) -> List[str]:
        """The SURLs of ``request`` on disk now (as they were submitted)."""
        return self.surls_online(request)

    def abort(self, request: StageRequest | int | str) -> None:
        """Cancel the request."""
        self._call("abort", self._request_id(request))

    def failed(self, request: StageRequest) -> Dict[str, str]:
        """The XML-RPC stager names no failed files: once the request is finished, the files
        asked for and not online, each with the request's status as the reason."""
        status = self.status(request)
        if not status.finished or status is StageStatus.FINISHED_OR_UNKNOWN:
            return {}
        online = set(self.surls_online(request))
        reason = f"not staged (request {request.request_id}: {status.value})"
        return {s: reason for s in request.surls if s not in online}

    def active_files(self) -> int:
        """Files of this user's requests that are not finished (``getprogress``)."""
        total = 0
        for detail in self.progress().values():
            if parse_status(detail.get("Status")).finished:
                continue
            try:
                total += int(detail.get("File count", 0))
            except (TypeError, ValueError):
                continue
        return total

    # ---- the rest of the LTA API ---------------------------------------------------------

    def srm_token(self, request: StageRequest | int | str) -> Any:
        """The SRM request token of a request (``gettoken``)."""
        return self._call("gettoken", self._request_id(request))

    def reschedule(self, request: StageRequest | int | str) -> Any:
        """Ask the LTA to retry a request (``reschedule``)."""
        return self._call("reschedule", self._request_id(request))

    def progress(self) -> Dict[str, Dict[str, Any]]:
        """All of this user's requests: ``{id: {'Status', 'File count', 'Percent done', …}}``."""
        answer = self._call("getprogress")
        return {str(k): dict(v) for k, v in (answer or {}).items()}

    def storage_info(self) -> Any:
        """SRM storage information (``getsrmstorageinfo``; the LTA allows it to support staff)."""
        return self._call("getsrmstorageinfo")
