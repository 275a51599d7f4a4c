"""``HttpStorage``: ``http(s)://`` and WebDAV (``dav://``/``davs://``) with ``requests``.

For workers without gfal2. What it speaks:

* ``GET`` (streamed to a temporary file, then renamed: no partial file on failure),
* ``PUT`` (WebDAV upload; ``HEAD`` first and ``If-None-Match: *`` when not overwriting),
* ``MKCOL`` per missing level for :meth:`HttpStorage.makedirs`,
* ``HEAD`` + ``Want-Digest: adler32`` (RFC 3230) for checksums, as dCache and gfal2 do.

Status codes become the exceptions of :mod:`.base`: 404 on a read → SourceNotFoundError,
409 (or 404) on PUT/MKCOL → ParentMissingError, 401/403 → DestinationNotAccessibleError,
507 → NoSpaceError, 412 or an existing target → DestinationExistsError; connection errors,
time-outs and 500/502/503/504 are retried a few times, then StorageUnavailableError.

Sending a request, status codes and retries live in :mod:`.httpclient`; trust (always
verified; ``X509_CERT_DIR``, ``REQUESTS_CA_BUNDLE``, ``X509_USER_PROXY``) and the ``Digest``
parsing in :mod:`.httpsession`. Credentials in a URL (``https://user:pass@host/``) are used
but never shown in messages.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

import requests

from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    ParentMissingError,
    SourceNotFoundError,
    StorageUnavailableError,
)
from grid_lrt.launcher.storage.common import error_for_errno
from grid_lrt.launcher.storage.httpclient import HttpClient, TransientHttpError, http_url
from grid_lrt.launcher.storage.httpsession import DIGESTS, parse_digest
from grid_lrt.launcher.storage.local import AtomicFile
from grid_lrt.shared.redact import redact, redact_url

__all__ = ["HttpStorage", "http_url"]

_CHUNK = 1 << 20


class HttpStorage:
    """Files on an http(s)/WebDAV server (dCache webdav doors, nginx, wsgidav...).

    Thread-safe: each thread gets its own :class:`requests.Session` (rebuilt when
    ``X509_CERT_DIR``/``X509_USER_PROXY`` change; see :class:`~.httpclient.HttpClient`).

    Args:
        connect_timeout: Seconds to wait for a connection.
        read_timeout: Seconds to wait for data on an open connection (per read).
        retries: Extra attempts after a connection error, time-out or 500/502/503/504.
        backoff: Seconds before the first retry; doubled for each further one.
    """

    kind = "http"

    def __init__(
        self,
        *,
        connect_timeout: float = 30.0,
        read_timeout: float = 300.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self._http = HttpClient(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            backoff=backoff,
        )

    def __repr__(self) -> str:
        return f"HttpStorage(retries={self._http.retries})"

    # ---- the Storage contract ------------------------------------------------------------------

    def download(self, url: str, dest: Path, *, timeout: Optional[float] = None) -> None:
        """GET ``url`` into ``dest`` (replacing it) via a temporary file in ``dest``'s folder.

        ``timeout`` bounds each network wait and the whole transfer.

        Raises:
            SourceNotFoundError: HTTP 404.
            DestinationNotAccessibleError: HTTP 401/403, or ``dest`` cannot be written.
            ParentMissingError: ``dest``'s folder does not exist.
            StorageUnavailableError: Connection trouble, time-out, 5xx, a truncated body.
        """
        dest = Path(dest)
        deadline = None if timeout is None else time.monotonic() + timeout
        self._http.with_retries(
            lambda: self._download_once(url, dest, timeout, deadline), f"GET {redact_url(url)}"
        )

    def _download_once(
        self, url: str, dest: Path, timeout: Optional[float], deadline: Optional[float]
    ) -> None:
        headers = {"Accept-Encoding": "identity"}
        response = self._http.send("GET", url, timeout=timeout, headers=headers, stream=True)
        if not response.ok:
            raise self._http.error(response, "GET", url, writing=False)
        safe = redact_url(url)
        written = 0
        with response:
            try:
                target = AtomicFile(dest)
                with target as tmp:
                    with tmp.open("wb") as fh:
                        for chunk in response.iter_content(_CHUNK):
                            fh.write(chunk)
                            written += len(chunk)
                            if deadline is not None and time.monotonic() > deadline:
                                raise StorageUnavailableError(
                                    f"GET {safe}: not finished after {timeout} s", url=safe
                                )
                    expected = response.headers.get("Content-Length", "")
                    if expected.isdigit() and int(expected) != written:
                        raise TransientHttpError(
                            f"GET {safe}: got {written} of {expected} bytes", url=safe
                        )
                    target.commit()
            except requests.RequestException as exc:  # before OSError: it is one
                raise TransientHttpError(f"GET {safe}: {redact(str(exc))}", url=safe) from exc
            except OSError as exc:
                raise error_for_errno(
                    exc.errno or 0, f"cannot write {dest}: {exc.strerror}", str(dest), writing=True
                ) from exc

    def upload(
        self, src: Path, url: str, *, overwrite: bool = False, timeout: Optional[float] = None
    ) -> None:
        """PUT the local file ``src`` to ``url``; parent folders are not created.

        Raises:
            SourceNotFoundError: ``src`` does not exist.
            DestinationExistsError: ``url`` exists and ``overwrite`` is False.
            ParentMissingError: HTTP 409 (or 404) on PUT.
            NoSpaceError: HTTP 507.
            DestinationNotAccessibleError: HTTP 401/403.
            StorageUnavailableError: Connection trouble, time-out, other statuses.
        """
        src = Path(src)
        if not src.is_file():
            raise SourceNotFoundError(f"cannot upload {src}: no such file", url=str(src))
        headers = {"Content-Type": "application/octet-stream"}
        if not overwrite:
            if self.exists(url):
                raise DestinationExistsError(
                    f"{redact_url(url)} exists and overwrite is not set",
                    url=redact_url(url),
                    hint="remove it, or upload with overwrite=True",
                )
            headers["If-None-Match"] = "*"

        def once() -> None:
            with src.open("rb") as body:
                response = self._http.send("PUT", url, timeout=timeout, headers=headers, data=body)
            if not response.ok:
                raise self._http.error(response, "PUT", url, writing=True)
            response.close()

        self._http.with_retries(once, f"PUT {redact_url(url)}")

    def exists(self, url: str) -> bool:
        """True when ``url`` exists (HEAD answers 2xx).

        Raises:
            DestinationNotAccessibleError: HTTP 401/403.
            StorageUnavailableError: Connection trouble or an unexpected status.
        """
        response = self._http.head(url)
        if response.status_code == 404:
            response.close()
            return False
        if not response.ok:
            raise self._http.error(response, "HEAD", url, writing=False)
        response.close()
        return True

    def size(self, url: str) -> int:
        """Size in bytes from ``Content-Length``.

        Raises:
            SourceNotFoundError: HTTP 404.
            StorageUnavailableError: No size in the answer, or another failure.
        """
        response = self._http.head(url)
        if not response.ok:
            raise self._http.error(response, "HEAD", url, writing=False)
        response.close()
        length = response.headers.get("Content-Length", "")
        if not length.isdigit():
            raise StorageUnavailableError(
                f"HEAD {redact_url(url)}: the server sent no Content-Length", url=redact_url(url)
            )
        return int(length)

    def checksum(self, url: str, algorithm: str = "adler32") -> Optional[str]:
        """The checksum the server reports for ``Want-Digest`` (RFC 3230), lower-case hex.

        Returns None when the server sends no ``Digest`` for the algorithm (plain web servers),
        or for an algorithm it has no ``Want-Digest`` name for.

        Raises:
            SourceNotFoundError: HTTP 404.
            StorageUnavailableError: Connection trouble or another failure.
        """
        algo = algorithm.strip().lower()
        if algo not in DIGESTS:
            return None
        name, encoding = DIGESTS[algo]
        response = self._http.head(url, {"Want-Digest": name})
        if not response.ok:
            raise self._http.error(response, "HEAD", url, writing=False)
        response.close()
        return parse_digest(response.headers.get("Digest", ""), algo, encoding)

    def locality(self, url: str) -> Optional[str]:
        """Always None: plain HTTP has no notion of tape."""
        del url
        return None

    def makedirs(self, url: str) -> None:
        """Create the collection ``url`` and any missing parents with MKCOL.

        Tries the deepest level first and goes up only while the parent is missing (409), so
        the existing levels near the root are not touched (dCache refuses MKCOL there).

        Raises:
            DestinationExistsError: A file (not a collection) is in the way.
            DestinationNotAccessibleError: HTTP 401/403.
            StorageUnavailableError: Connection trouble or another failure.
        """
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        missing = []
        status = 0
        while path:
            level = urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))
            status = self._mkcol(level)
            if status != 409:
                break
            missing.append(level)
            path = path.rsplit("/", 1)[0]
        for level in reversed(missing):
            if self._mkcol(level) == 409:
                raise ParentMissingError(
                    f"MKCOL {redact_url(level)}: HTTP 409 (a parent is not a folder)",
                    url=redact_url(level),
                )
        if not missing and status == 405 and not self._is_collection(url):
            raise DestinationExistsError(
                f"cannot create folder {redact_url(url)}: a file is in the way",
                url=redact_url(url),
            )

    def _mkcol(self, url: str) -> int:
        """MKCOL one level; returns 201 (created), 405 (exists) or 409 (parent missing).

        Raises:
            DestinationNotAccessibleError: HTTP 401/403.
            StorageUnavailableError: Connection trouble or another status.
        """

        def once() -> int:
            response = self._http.send("MKCOL", url, allow_redirects=False)
            status = response.status_code
            if status in (405, 409) or response.ok:
                response.close()
                return status
            raise self._http.error(response, "MKCOL", url, writing=False)

        return self._http.with_retries(once, f"MKCOL {redact_url(url)}")

    def _is_collection(self, url: str) -> bool:
        """True unless a PROPFIND shows ``url`` is a plain file."""
        response = self._http.send(
            "PROPFIND", url.rstrip("/") + "/", headers={"Depth": "0"}, allow_redirects=True
        )
        body = response.content
        response.close()
        if response.status_code == 207:
            return b"collection" in body
        return response.status_code != 404
