"""A tape archive on loopback: https WebDAV plus the WLCG Tape REST API, for tests and the demo.

gfal2 reads it for real: ``stat``/copies/checksums go to WebDAV (wsgidav under cheroot, with a
``Want-Digest`` middleware for adler32/md5), ``user.status`` and ``bring_online`` go to the Tape
REST API that gfal2's http plugin speaks::

    GET  /.well-known/wlcg-tape-rest-api      -> endpoints [{uri: <base>/api/v1, version: v1}]
    POST /api/v1/stage                        {"files": [{"path": ...}]} -> 201 {"requestId"}
    GET  /api/v1/stage/<id>                   -> {"id", "files": [{path, state, onDisk, error}]}
    POST /api/v1/stage/<id>/cancel
    POST /api/v1/release/<id>                 {"paths": [...]}
    POST /api/v1/archiveinfo                  {"paths": [...]} -> [{path, locality | error}]

Files under ``tape_prefixes`` start NEARLINE (locality TAPE). A stage request makes them ONLINE
(DISK_AND_TAPE) ``delay`` seconds later; :meth:`TapeArchive.make_online` does it at once (for an
LTA stager simulator). Names containing ``fail`` fail to stage; ``lost`` gives locality LOST.

Macaroons (optional, ``macaroon_secret=``; :mod:`tests.support.tape_doors`): every
GET/HEAD/PROPFIND of a file then needs ``Authorization: Bearer <m>`` or ``?authz=<m>`` that
:func:`grid_lrt.client.devtools.macaroons.check` accepts for that path at ``site``: 401
without one, 403 with a refused one (the reason goes to this module's log and
:attr:`TapeArchive.refusals`, never the macaroon). Without a secret nothing is checked.
``redirect_base=`` makes every GET/HEAD of a file (after that check) a 302 to
``redirect_base + path``, as a dCache door sends a client to a pool.
:attr:`TapeArchive.seen` records each request's method, path and ``Authorization`` header.

TLS: a self-signed certificate for 127.0.0.1/localhost is made at start (``openssl`` CLI) in a
directory with its ``<hash>.0`` link; a client trusts it with ``X509_CERT_DIR`` (see
:attr:`TapeArchive.client_env`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from grid_lrt.client.devtools.service import Service
from grid_lrt.shared.errors import LrtError
from tests.support.tape_doors import door_reads

__all__ = ["TapeArchive", "TapeArchiveError"]

log = logging.getLogger(__name__)

_Start = Callable[..., Any]
_App = Callable[[Dict[str, Any], _Start], Iterable[bytes]]


def _reply(start: _Start, status: str, obj: Any) -> List[bytes]:
    """Send ``obj`` as a JSON response."""
    body = json.dumps(obj).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class TapeArchiveError(LrtError):
    """The archive cannot start (missing wsgidav/cheroot/openssl, port in use, ...)."""


def _digest(path: Path, want: str) -> str:
    """RFC 3230 ``Digest`` value for a ``Want-Digest`` header (adler32 and md5)."""
    algos = [a.split(";")[0].strip().lower() for a in want.split(",")]
    adler, md5 = 1, hashlib.md5()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            adler = zlib.adler32(chunk, adler)
            md5.update(chunk)
    out = []
    if "adler32" in algos:
        out.append(f"adler32={adler & 0xFFFFFFFF:08x}")
    if "md5" in algos:
        out.append("md5=" + base64.b64encode(md5.digest()).decode())
    return ", ".join(out)


def _make_cert(folder: Path) -> None:
    """Write ``cert.pem``/``key.pem`` (self-signed, 127.0.0.1) and the ``<hash>.0`` link."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TapeArchiveError("openssl not found", hint="apt-get install openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    cmd = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
           "-keyout", str(key), "-out", str(cert)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    digest = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", str(cert)],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (folder / f"{digest}.0").symlink_to(cert.name)


class TapeArchive(Service):
    """An https WebDAV + WLCG Tape REST archive serving ``root_dir`` on 127.0.0.1.

    Args:
        root_dir: The folder served at ``/``.
        delay: Seconds between a stage request and the file being ONLINE.
        tape_prefixes: URL paths (from ``/``) whose files start NEARLINE.
        port: TCP port (0: any free port).
        macaroon_secret: When set, reads of files need a macaroon minted with it (see above).
        site: The LTA site a macaroon must name (``site:`` caveat).
        redirect_base: When set, reads of files are redirected there (see above).

    Example::

        with TapeArchive(tmp_path, delay=1) as archive:
            os.environ.update(archive.client_env)
            url = archive.url("tape/L1_SB000.MS.tar")
    """

    def __init__(
        self,
        root_dir: str | Path,
        *,
        delay: float = 2.0,
        tape_prefixes: Sequence[str] = ("/tape/",),
        port: int = 0,
        macaroon_secret: Optional[bytes] = None,
        site: str = "sara",
        redirect_base: Optional[str] = None,
    ) -> None:
        self.root = Path(root_dir).resolve()
        self.macaroon_secret = macaroon_secret
        self.site = site
        self.redirect_base = redirect_base
        #: (method, path, Authorization header or None) of every request, in order.
        self.seen: List[Tuple[str, str, Optional[str]]] = []
        #: (method, path, why) of every request refused for its macaroon.
        self.refusals: List[Tuple[str, str, str]] = []
        self.delay = float(delay)
        self.tape_prefixes = tuple("/" + p.lstrip("/") for p in tape_prefixes)
        self._port = port
        self._ondisk: Dict[str, float] = {}
        self._requests: Dict[str, List[str]] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None
        self._certdir: Optional[Path] = None
        #: Number of Tape REST stage requests received (for "batched, not per file" checks).
        self.stage_calls = 0

    # ---- public API --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>`` (after :meth:`start`)."""
        if self._server is None:
            raise TapeArchiveError("the tape archive is not started")
        return f"https://127.0.0.1:{self._server.bind_addr[1]}"

    @property
    def cert_dir(self) -> Path:
        """Folder with the server certificate and its hash link (for ``X509_CERT_DIR``)."""
        if self._certdir is None:
            raise TapeArchiveError("the tape archive is not started")
        return self._certdir

    @property
    def client_env(self) -> Dict[str, str]:
        """Environment a gfal2 client needs to trust this server."""
        return {"X509_CERT_DIR": str(self.cert_dir)}

    def url(self, path: str) -> str:
        """The https URL of ``path`` (relative to ``root_dir``)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def make_online(self, paths: Iterable[str]) -> None:
        """Put files on disk now (paths relative to root, absolute URL paths, or URLs)."""
        now = time.time()
        with self._lock:
            for p in paths:
                self._ondisk[self._norm(p)] = now

    def make_nearline(self, paths: Iterable[str]) -> None:
        """Drop the disk copies of files again (as a release or a purge does)."""
        with self._lock:
            for p in paths:
                self._ondisk.pop(self._norm(p), None)

    def locality(self, path: str) -> str:
        """The Tape REST locality of ``path`` now (TAPE, DISK, DISK_AND_TAPE, LOST, NONE)."""
        with self._lock:
            return self._locality(self._norm(path), time.time())

    def start(self) -> TapeArchive:
        """Make the certificate, bind the port and serve in a background thread."""
        try:
            from cheroot import wsgi  # type: ignore[import-not-found,unused-ignore]
            from cheroot.ssl.builtin import (  # type: ignore[import-not-found,unused-ignore]
                BuiltinSSLAdapter,
            )
            from wsgidav.wsgidav_app import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
                WsgiDAVApp,
            )
        except ImportError as exc:
            raise TapeArchiveError(
                f"cannot start the tape archive: {exc}", hint="pip install wsgidav cheroot"
            ) from exc
        self.root.mkdir(parents=True, exist_ok=True)
        self._certdir = Path(tempfile.mkdtemp(prefix="lrt-tape-cert-"))
        try:
            _make_cert(self._certdir)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise TapeArchiveError(f"cannot make a TLS certificate: {exc}") from exc
        config = {
            "host": "127.0.0.1",
            "port": self._port,
            "provider_mapping": {"/": str(self.root)},
            "verbose": 1,
            "logging": {"enable": False, "enable_loggers": []},
            "http_authenticator": {"domain_controller": None},
            "simple_dc": {"user_mapping": {"*": True}},
        }
        app = self._tape(door_reads(self, self._want_digest(WsgiDAVApp(config))))
        server = wsgi.Server(("127.0.0.1", self._port), app)
        server.ssl_adapter = BuiltinSSLAdapter(
            str(self._certdir / "cert.pem"), str(self._certdir / "key.pem")
        )
        try:
            server.prepare()
        except OSError as exc:
            raise TapeArchiveError(f"cannot bind 127.0.0.1:{self._port}: {exc}") from exc
        self._server = server
        self._thread = threading.Thread(target=server.serve, name="tape-archive", daemon=True)
        self._thread.start()
        log.info("tape archive at %s serving %s", self.base_url, self.root)
        return self

    def stop(self) -> None:
        """Stop serving and remove the certificate folder."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._certdir is not None:
            shutil.rmtree(self._certdir, ignore_errors=True)
            self._certdir = None

    # ---- state ---------------------------------------------------------------------------------

    def _norm(self, path: str) -> str:
        if "://" in path:
            path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
        return "/" + path.split("?", 1)[0].lstrip("/")

    def _on_tape(self, path: str) -> bool:
        return path.startswith(self.tape_prefixes)

    def exists(self, path: str) -> bool:
        """True when ``path`` (a URL path) is a file of the archive."""
        return self._exists(path)

    def _exists(self, path: str) -> bool:
        return (self.root / path.lstrip("/")).is_file()

    def _online(self, path: str, now: float) -> bool:
        ready = self._ondisk.get(path)
        return ready is not None and ready <= now

    def _locality(self, path: str, now: float) -> str:
        if not self._exists(path):
            return "NONE"
        if "lost" in path:
            return "LOST"
        if not self._on_tape(path):
            return "DISK"
        return "DISK_AND_TAPE" if self._online(path, now) else "TAPE"

    def _file_state(self, rid: str, path: str, now: float) -> Dict[str, Any]:
        if rid in self._cancelled:
            return {"path": path, "state": "CANCELED", "onDisk": False}
        locality = self._locality(path, now)
        if "fail" in path or locality in ("LOST", "NONE"):
            reason = {"LOST": "file lost", "NONE": "no such file"}.get(locality, "")
            return {"path": path, "state": "FAILED", "onDisk": False,
                    "error": reason or "mock staging failure"}  # fmt: skip
        if locality in ("DISK", "DISK_AND_TAPE"):
            return {"path": path, "state": "COMPLETED", "onDisk": True}
        return {"path": path, "state": "STARTED", "onDisk": False}

    # ---- WSGI ----------------------------------------------------------------------------------

    def _want_digest(self, app: _App) -> _App:
        def middleware(env: Dict[str, Any], start: _Start) -> Iterable[bytes]:
            want = env.get("HTTP_WANT_DIGEST")
            path = self.root / env.get("PATH_INFO", "/").lstrip("/")
            if want and env["REQUEST_METHOD"] in ("HEAD", "GET") and path.is_file():
                value = _digest(path, want)
                if value:

                    def start_with_digest(status: str, headers: Any, exc: Any = None) -> Any:
                        return start(status, [*headers, ("Digest", value)], exc)

                    return app(env, start_with_digest)
            return app(env, start)

        return middleware

    def _tape(self, app: _App) -> _App:
        def _reply(start: _Start, status: str, obj: Any) -> List[bytes]:
            body = json.dumps(obj).encode()
            start(
                status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]

        def middleware(env: Dict[str, Any], start: _Start) -> Iterable[bytes]:
            path, method, now = env.get("PATH_INFO", ""), env["REQUEST_METHOD"], time.time()
            with self._lock:
                self.seen.append((method, path, env.get("HTTP_AUTHORIZATION")))
            if path == "/.well-known/wlcg-tape-rest-api":
                endpoint = {"uri": self.base_url + "/api/v1", "version": "v1", "metadata": {}}
                return _reply(start, "200 OK", {"sitename": "lrt-mock", "endpoints": [endpoint]})
            if not path.startswith("/api/v1/"):
                return app(env, start)
            size = int(env.get("CONTENT_LENGTH") or 0)
            try:
                body = json.loads(env["wsgi.input"].read(size)) if size else {}
            except ValueError:
                return _reply(start, "400 Bad Request", {"title": "invalid JSON"})
            rest = path[len("/api/v1/") :].strip("/").split("/")
            with self._lock:
                return self._api(rest, method, body, now=now, start=start)

        return middleware

    def _api(
        self,
        rest: List[str],
        method: str,
        body: Any,
        *,
        now: float,
        start: _Start,
    ) -> List[bytes]:
        if rest == ["stage"] and method == "POST":
            self.stage_calls += 1
            rid = str(uuid.uuid4())
            paths = [self._norm(f["path"]) for f in body.get("files", [])]
            self._requests[rid] = paths
            for p in paths:
                if self._locality(p, now) == "TAPE" and "fail" not in p:
                    self._ondisk.setdefault(p, now + self.delay)
            return _reply(start, "201 Created", {"requestId": rid})
        if rest[0] == "stage" and len(rest) >= 2 and rest[1] in self._requests:
            rid = rest[1]
            if len(rest) == 3 and rest[2] == "cancel" and method == "POST":
                self._cancelled.add(rid)
                return _reply(start, "200 OK", {})
            if len(rest) == 2 and method == "GET":
                files = [self._file_state(rid, p, now) for p in self._requests[rid]]
                return _reply(start, "200 OK", {"id": rid, "files": files})
        if rest[0] == "release" and method == "POST":
            for p in body.get("paths", []):
                self._ondisk.pop(self._norm(p), None)
            return _reply(start, "200 OK", {})
        if rest == ["archiveinfo"] and method == "POST":
            out: List[Dict[str, str]] = []
            for raw in body.get("paths", []):
                locality = self._locality(self._norm(raw), now)
                if locality == "NONE":
                    out.append({"path": raw, "error": "no such file"})
                else:
                    out.append({"path": raw, "locality": locality})
            return _reply(start, "200 OK", out)
        return _reply(start, "404 Not Found", {"title": f"unknown request {'/'.join(rest)}"})
