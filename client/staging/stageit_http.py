"""HTTP to StageIT (REST and GraphQL), and the only place its failures are translated.

``requests`` with one ``Session``; every call sends ``Authorization: Token <api_token>`` and
``Content-Type: application/json``. The CA bundle is the first of ``REQUESTS_CA_BUNDLE``,
``SSL_CERT_FILE``, ``CURL_CA_BUNDLE`` that is set (else ``requests``' own). Translation:

* a GraphQL answer with ``errors`` (reason in ``errors[0].message``) → :class:`StageItServiceError`;
* HTTP 401/403 → :class:`~.stageitcreds.StageItCredentialsError` (how to get a token);
* other HTTP errors → :class:`StageItServiceError` with the service's own message;
* DNS, refused connection, TLS, time-out → :class:`StageItConnectionError`.

The errors are raised outside the ``except`` blocks, so no library exception (whose request
holds the ``Authorization`` header) hangs on them as ``__context__``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Union

from grid_lrt.client.staging.base import StagingError
from grid_lrt.client.staging.stageitcreds import (
    StageItCredentials,
    StageItCredentialsError,
    token_help,
)
from grid_lrt.shared.redact import redact_url

if TYPE_CHECKING:  # requests is imported at the first call, not at import
    import requests

__all__ = [
    "API_PATH",
    "CA_VARIABLES",
    "ENV_URL",
    "StageItConnectionError",
    "StageItHttp",
    "StageItNotOfferedError",
    "StageItServiceError",
    "base_url",
]

log = logging.getLogger(__name__)

#: Path of the staging API on a StageIT host (REST under it, GraphQL at ``graphql/``).
API_PATH = "/stageit/api/staging/"
#: Overrides the base URL (development: ``https://127.0.0.1:8443/stageit/api/staging/``).
ENV_URL = "LRT_STAGEIT_URL"
#: CA-bundle variables honoured, in this order.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


class StageItServiceError(StagingError):
    """StageIT answered with an error (HTTP error, GraphQL ``errors``, an answer not JSON)."""


class StageItConnectionError(StagingError):
    """StageIT cannot be reached (DNS, refused connection, TLS, time-out)."""


class StageItNotOfferedError(StageItServiceError, NotImplementedError):
    """A function of the old LTA API that StageIT does not offer (ASTRON's 2.0 deprecates it)."""


def base_url(host: str) -> str:
    """``$LRT_STAGEIT_URL``, else ``https://<host>/stageit/api/staging/`` (trailing slash)."""
    url = os.environ.get(ENV_URL, "").strip() or f"https://{host}{API_PATH}"
    return url.rstrip("/") + "/"


def _ca_bundle() -> Union[str, bool]:
    for name in CA_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return True


def _service_message(response: requests.Response) -> str:
    """The service's reason in an error answer (DRF ``detail``, GraphQL ``errors``, or text)."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300] or (response.reason or "")
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", errors[0]))
        if "detail" in body:
            return str(body["detail"])
        return "; ".join(
            f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in body.items()
        )
    if isinstance(body, list):
        return "; ".join(map(str, body))
    return str(body)


class StageItHttp:
    """The calls of one StageIT client: REST below the base URL, and the GraphQL endpoint.

    Args:
        creds: The API token and host.
        timeout: Seconds to wait for an answer (connecting: at most 30 s of it).
    """

    def __init__(self, creds: StageItCredentials, *, timeout: float = 60.0) -> None:
        self._creds = creds
        self._timeout = timeout
        self.url = base_url(creds.host)
        self._session: Optional[requests.Session] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StageItHttp(url={redact_url(self.url)!r})"

    def close(self) -> None:
        """Close the connections (a later call opens new ones)."""
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _get_session(self) -> requests.Session:
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers["Authorization"] = "Token " + self._creds.token
            session.headers["Content-Type"] = "application/json"
            session.headers["Accept"] = "application/json"
            self._session = session
        return self._session

    def rest(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Any:
        """``method`` ``<base>/<path>`` with a JSON ``body``; the JSON answer (None if empty)."""
        return self._send(method, self.url + path, body, what=f"{method} {path}")

    def graphql(self, query: str, variables: Optional[Mapping[str, Any]] = None) -> Any:
        """Run a GraphQL query; its ``data``.

        Raises:
            StageItServiceError: The answer has ``errors`` (the first one's message).
        """
        body: Dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = dict(variables)
        answer = self._send("POST", self.url + "graphql/", body, what="GraphQL query")
        if not isinstance(answer, dict):
            raise StageItServiceError(
                f"StageIT at {self.url} answered a GraphQL query with {type(answer).__name__}."
            )
        errors = answer.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) else errors
            reason = first.get("message", first) if isinstance(first, dict) else first
            raise StageItServiceError(f"StageIT refused a GraphQL query: {reason}")
        return answer.get("data") or {}

    def _send(self, method: str, url: str, body: Optional[Mapping[str, Any]], what: str) -> Any:
        import requests

        with self._lock:
            session = self._get_session()
            try:
                response = session.request(
                    method,
                    url,
                    data=None if body is None else json.dumps(body),
                    timeout=(min(30.0, self._timeout), self._timeout),
                    verify=_ca_bundle(),
                    allow_redirects=False,
                )
                failure: Optional[StagingError] = None
            except requests.exceptions.RequestException as exc:
                failure = self._connection_error(what, exc)
        if failure is not None:
            raise failure
        log.debug("StageIT %s: HTTP %d", what, response.status_code)
        if response.status_code in (401, 403):
            raise StageItCredentialsError(
                f"StageIT at {self.url} refused the API token from {self._creds.source} "
                f"(HTTP {response.status_code}: {_service_message(response)}).",
                hint=token_help(),
            )
        if response.status_code >= 300:
            raise StageItServiceError(
                f"StageIT at {self.url} answered HTTP {response.status_code} to {what}: "
                f"{_service_message(response)}"
            )
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            failure = StageItServiceError(
                f"StageIT at {self.url} answered {what} with something that is not JSON."
            )
        raise failure

    def _connection_error(self, what: str, exc: Exception) -> StagingError:
        import requests

        if isinstance(exc, requests.exceptions.SSLError):
            kind = "TLS failure (is the CA bundle right? " + "/".join(CA_VARIABLES) + ")"
        elif isinstance(exc, requests.exceptions.Timeout):
            kind = f"no answer within {self._timeout:g} s"
        else:
            kind = exc.__class__.__name__
        return StageItConnectionError(
            f"Cannot reach StageIT at {self.url} ({what}): {kind}.",
            hint=f"Check the network, the hostname= in ~/.stagingrc, or {ENV_URL}.",
        )
