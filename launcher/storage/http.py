"""``HttpStorage``: ``http(s)://`` and WebDAV (``dav://``/``davs://``) with ``requests``.

For workers without gfal2. What it speaks:

* ``GET`` (streamed to a temporary file, then renamed: no partial file on failure),
* ``PUT`` (WebDAV upload; ``HEAD`` first and ``If-None-Match: *`` when not overwriting),
* ``MKCOL`` per missing level for :meth:`HttpStorage.makedirs`,
* ``MOVE`` with ``Destination`` and ``Overwrite: T|F`` (RFC 4918) for
  :meth:`HttpStorage.rename`, atomic on the server; ``DELETE`` for :meth:`HttpStorage.remove`,
* ``HEAD`` + ``Want-Digest: adler32`` (RFC 3230) for checksums, as dCache and gfal2 do.

Status codes become the exceptions of :mod:`.base`: 404 on a read → SourceNotFoundError,
409 (or 404) on PUT/MKCOL → ParentMissingError, 401/403 → DestinationNotAccessibleError,
507 → NoSpaceError, 412 or an existing target → DestinationExistsError, 405/501 on MOVE (a
server without WebDAV) → RenameUnsupportedError; connection errors, time-outs and
500/502/503/504 are retried a few times, then StorageUnavailableError.

Sending a request, status codes and retries live in :mod:`.httpclient`; trust (always
verified; ``X509_CERT_DIR``, ``REQUESTS_CA_BUNDLE``, ``X509_USER_PROXY``) and the ``Digest``
parsing in :mod:`.httpsession`. Credentials in a URL (``https://user:pass@host/``) are used
but never shown in messages.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

import requests

from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    ParentMissingError,
    RenameUnsupportedError,
    SourceNotFoundError,
    StorageError,
    StorageUnavailableError,
)
from grid_lrt.launcher.storage.common import error_for_errno
from grid_lrt.launcher.storage.httpclient import HttpClient, TransientHttpError, http_url
from grid_lrt.launcher.storage.httpsession import DIGESTS, parse_digest
from grid_lrt.launcher.storage.local import AtomicFile
from grid_lrt.shared.redact import redact, redact_url

__all__ = ["HttpStorage", "http_url"]

_CHUNK = 1 << 20
#: ``<D:collection/>`` in a PROPFIND answer (not the word in a file name of an href).
_COLLECTION = re.compile(rb"<(?:[\w.-]+:)?collection\b")
#: MOVE answers of a server that has no WebDAV (Method Not Allowed, Not Implemented).
_NO_MOVE = frozenset({405, 501})


def _destination(url: str) -> str:
    """The ``Destination`` header for ``url``: http(s), without ``user:password@``."""
    parts = urlsplit(http_url(url))
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


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

    def rename(self, src_url: str, dst_url: str, *, overwrite: bool) -> None:
        """WebDAV ``MOVE`` of ``src_url`` to ``dst_url`` (``Overwrite: T`` or ``F``).

        The server moves the file in one step, so another writer cannot slip in between.
        A retried MOVE whose first try went through answers 404: the caller may check
        whether ``dst_url`` holds the file. With ``overwrite``, a collection at ``dst_url`` is
        refused first (one ``PROPFIND``): WebDAV would delete it with all it holds.

        Raises:
            SourceNotFoundError: HTTP 404.
            DestinationExistsError: HTTP 412 (``dst_url`` exists and not ``overwrite``).
            ParentMissingError: HTTP 409 (``dst_url``'s folder does not exist).
            RenameUnsupportedError: HTTP 405/501 (no WebDAV on this server).
            DestinationNotAccessibleError: HTTP 401/403.
            StorageUnavailableError: Connection trouble, time-out, other statuses.
            StorageError: With ``overwrite``, a collection (folder) is at ``dst_url``.
        """
        headers = {"Destination": _destination(dst_url), "Overwrite": "T" if overwrite else "F"}
        what = f"MOVE {redact_url(src_url)} to {redact_url(dst_url)}"
        if overwrite and self._holds_collection(dst_url):
            raise StorageError(
                f"{what}: a folder is in the way (it is not replaced)", url=redact_url(dst_url)
            )

        def once() -> None:
            response = self._http.send("MOVE", src_url, headers=headers, allow_redirects=False)
            status = response.status_code
            if response.ok:
                response.close()
                return
            if status == 409:
                response.close()
                raise ParentMissingError(
                    f"{what}: HTTP 409 (the destination folder does not exist)",
                    url=redact_url(dst_url),
                    hint="create the destination folder first (Storage.makedirs)",
                )
            if status in _NO_MOVE:
                response.close()
                raise RenameUnsupportedError(
                    f"{what}: HTTP {status}: the server does not rename (no WebDAV MOVE)",
                    url=redact_url(src_url),
                )
            if status == 412:
                response.close()
                raise DestinationExistsError(
                    f"{what}: HTTP 412: {redact_url(dst_url)} exists and overwrite is not set",
                    url=redact_url(dst_url),
                    hint="remove it, or rename with overwrite=True",
                )
            raise self._http.error(response, "MOVE", src_url, writing=False)

        self._http.with_retries(once, what)

    def remove(self, url: str) -> None:
        """``DELETE`` the file ``url`` (WebDAV deletes a collection with all it holds: callers
        pass file names only).

        Raises:
            SourceNotFoundError: HTTP 404.
            DestinationNotAccessibleError: HTTP 401/403.
            StorageUnavailableError: Connection trouble or another failure.
        """

        def once() -> None:
            response = self._http.send("DELETE", url, allow_redirects=False)
            if not response.ok:
                raise self._http.error(response, "DELETE", url, writing=False)
            response.close()

        self._http.with_retries(once, f"DELETE {redact_url(url)}")

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

    def _holds_collection(self, url: str) -> bool:
        """True when a PROPFIND shows a collection at ``url`` (False when it cannot tell)."""
        response = self._http.send("PROPFIND", url, headers={"Depth": "0"}, allow_redirects=True)
        body = response.content
        response.close()
        return response.status_code == 207 and _COLLECTION.search(body) is not None

    def _is_collection(self, url: str) -> bool:
        """True unless a PROPFIND shows ``url`` is a plain file."""
        response = self._http.send(
            "PROPFIND", url.rstrip("/") + "/", headers={"Depth": "0"}, allow_redirects=True
        )
        body = response.content
        response.close()
        if response.status_code == 207:
            return _COLLECTION.search(body) is not None
        return response.status_code != 404
