"""How :class:`~.http.HttpStorage` sends a request: sessions, time-outs, answers, retries.

:class:`HttpClient` is the plumbing under the WebDAV operations:

* one :class:`requests.Session` per thread, rebuilt when the trust settings change
  (:mod:`.httpsession`);
* ``(connect, read)`` time-outs, the read one bounded by a caller's ``timeout``;
* connection trouble and time-outs become :class:`TransientHttpError`, TLS failures and other
  ``requests`` errors :class:`~.base.StorageUnavailableError` (with the trust hint);
* :meth:`HttpClient.error` turns an unsuccessful answer into the exception of :mod:`.base` for
  its status (500/502/503/504 are transient);
* :meth:`HttpClient.with_retries` tries an operation ``retries`` more times after a transient
  failure, with :func:`grid_lrt.shared.retry.retrying`: pauses ``backoff``, ``2 * backoff``...
* macaroons (:mod:`.bearer`): a read (``GET``, ``HEAD``, ``PROPFIND``) of a URL under a
  macaroon's door carries ``Authorization: Bearer <macaroon>``, set per request (never in the
  session). Such a request follows its redirects itself, deciding again at every hop: another
  host (or scheme, or port) gets no macaroon. Writes never carry one. An expired macaroon is
  refused before the request; a 401/403 to a macaroon says so (both code 21 for inputs).

Messages and exception URLs never hold credentials (:mod:`grid_lrt.shared.redact`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple, Type, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    DestinationNotAccessibleError,
    NoSpaceError,
    ParentMissingError,
    SourceNotFoundError,
    StorageError,
    StorageUnavailableError,
)
from grid_lrt.launcher.storage.bearer import auth_header, macaroon_for, refused_error
from grid_lrt.launcher.storage.httpsession import TRUST_HINT, new_session, trust_settings
from grid_lrt.shared.redact import redact, redact_url
from grid_lrt.shared.retry import Backoff, retrying

__all__ = ["RETRY_STATUS", "HttpClient", "TransientHttpError", "http_url"]

#: The logger of :mod:`.http`: the log lines name it, as before the split.
log = logging.getLogger("grid_lrt.launcher.storage.http")

T = TypeVar("T")

RETRY_STATUS = frozenset({500, 502, 503, 504})
#: Methods that read, and so carry a macaroon to its door.
READS = frozenset({"GET", "HEAD", "PROPFIND"})
_MAX_REDIRECTS = 10
_SCHEMES = {"http": "http", "https": "https", "dav": "http", "davs": "https"}


class TransientHttpError(StorageUnavailableError):
    """A failure worth an immediate retry (connection trouble, 500/502/503/504)."""


_STATUS_ERRORS: Dict[int, Type[StorageError]] = {
    401: DestinationNotAccessibleError,
    403: DestinationNotAccessibleError,
    404: SourceNotFoundError,
    412: DestinationExistsError,
    507: NoSpaceError,
    **dict.fromkeys(RETRY_STATUS, TransientHttpError),
}
_HINTS: Dict[Type[StorageError], str] = {
    ParentMissingError: "create the destination folder first (Storage.makedirs)",
    DestinationExistsError: "remove it, or upload with overwrite=True",
    DestinationNotAccessibleError: "check the credentials (grid proxy, token) for this location",
}


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, StorageError) else str(exc)


def http_url(url: str) -> str:
    """``url`` with ``dav``/``davs`` turned into ``http``/``https`` (other parts unchanged).

    Raises:
        StorageError: Not an http(s)/dav(s) URL.
    """
    parts = urlsplit(url)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise StorageError(f"not an http(s)/dav(s) URL: {redact_url(url)}", url=redact_url(url))
    return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


class HttpClient:
    """Requests to http(s)/WebDAV servers for one :class:`~.http.HttpStorage` (thread-safe).

    Args:
        connect_timeout: Seconds to wait for a connection.
        read_timeout: Seconds to wait for data on an open connection (per read).
        retries: Extra attempts after a connection error, time-out or 500/502/503/504.
        backoff: Seconds before the first retry; doubled for each further one.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 30.0,
        read_timeout: float = 300.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self._local = threading.local()

    def session(self) -> requests.Session:
        """This thread's session (a new one when the trust settings changed)."""
        settings = trust_settings()
        cached: Optional[Tuple[Tuple[str, str], requests.Session]] = getattr(
            self._local, "session", None
        )
        if cached is not None and cached[0] == settings:
            return cached[1]
        if cached is not None:
            cached[1].close()
        session = new_session(*settings)
        self._local.session = (settings, session)
        return session

    def timeout_for(self, timeout: Optional[float]) -> Tuple[float, float]:
        """``(connect, read)`` seconds for a request; a caller's ``timeout`` bounds both."""
        if timeout is None:
            return self.connect_timeout, self.read_timeout
        return min(self.connect_timeout, timeout), timeout

    def send(
        self,
        method: str,
        url: str,
        *,
        timeout: Optional[float] = None,
        headers: Optional[Dict[str, str]] = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One request; connection trouble becomes a StorageUnavailableError.

        A read under a macaroon's door carries it (see the module docstring).

        Raises:
            MacaroonExpiredError: The macaroon for ``url`` has expired (nothing was sent).
        """
        target = http_url(url)
        try:
            if method in READS and macaroon_for(target) is not None:
                return self._send_bearer(method, target, timeout, headers or {}, kwargs)
            return self.session().request(
                method, target, timeout=self.timeout_for(timeout), headers=headers, **kwargs
            )
        except requests.exceptions.SSLError as exc:
            raise StorageUnavailableError(
                f"{method} {redact_url(url)}: TLS failure: {redact(str(exc))}",
                url=redact_url(url),
                hint=TRUST_HINT,
            ) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientHttpError(
                f"{method} {redact_url(url)}: {redact(str(exc))}", url=redact_url(url)
            ) from exc
        except requests.RequestException as exc:
            raise StorageUnavailableError(
                f"{method} {redact_url(url)}: {redact(str(exc))}", url=redact_url(url)
            ) from exc

    def _send_bearer(
        self,
        method: str,
        target: str,
        timeout: Optional[float],
        headers: Dict[str, str],
        kwargs: Dict[str, Any],
    ) -> requests.Response:
        """A read with the macaroon of each hop's URL; redirects followed here, at most 10."""
        follow = kwargs.pop("allow_redirects", True)
        for _hop in range(_MAX_REDIRECTS + 1):
            merged = {**headers, **auth_header(target)}  # another host: no Authorization
            response = self.session().request(
                method,
                target,
                timeout=self.timeout_for(timeout),
                headers=merged,
                allow_redirects=False,
                **kwargs,
            )
            location = response.headers.get("Location", "")
            if not (follow and response.is_redirect and location):
                return response
            response.close()
            target = http_url(urljoin(target, location))
            if response.status_code == 303 and method != "HEAD":
                method = "GET"
        raise StorageUnavailableError(
            f"{method} {redact_url(target)}: more than {_MAX_REDIRECTS} redirects",
            url=redact_url(target),
        )

    def with_retries(self, fn: Callable[[], T], what: str) -> T:
        """``fn()``, tried ``retries`` more times after a transient failure (pauses doubling)."""

        def note(exc: BaseException, tries: int, pause: float) -> None:
            del tries
            log.info("%s failed (%s); retrying in %.1f s", what, _message(exc), pause)

        return retrying(
            fn,
            retry_on=TransientHttpError,
            attempts=self.retries + 1,
            backoff=Backoff(self.backoff, 2.0, math.inf),
            on_retry=note,
            sleep=time.sleep,
        )

    @staticmethod
    def error(response: requests.Response, method: str, url: str, *, writing: bool) -> StorageError:
        """The exception for an unsuccessful response (the response is closed)."""
        code = response.status_code
        response.close()
        safe = redact_url(url)
        text = f"{method} {safe}: HTTP {code} {response.reason or ''}".rstrip()
        macaroon = macaroon_for(http_url(url)) if method in READS else None
        if code in (401, 403) and macaroon is not None:
            return refused_error(macaroon, method, url, f"HTTP {code}")
        if writing and code in (404, 409):
            cls: Type[StorageError] = ParentMissingError
        else:
            cls = _STATUS_ERRORS.get(code, StorageUnavailableError)
        return cls(text, url=safe, hint=_HINTS.get(cls, ""))

    def head(self, url: str, headers: Optional[Dict[str, str]] = None) -> requests.Response:
        """HEAD (redirects followed), retried; the caller checks the status."""
        merged = {"Accept-Encoding": "identity", **(headers or {})}

        def once() -> requests.Response:
            response = self.send("HEAD", url, headers=merged, allow_redirects=True)
            if response.status_code in RETRY_STATUS:
                raise self.error(response, "HEAD", url, writing=False)
            return response

        return self.with_retries(once, f"HEAD {redact_url(url)}")
