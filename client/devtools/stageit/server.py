"""The StageIT simulator's HTTPS server: REST under ``/stageit/api/staging/``, GraphQL at
``graphql/``, ``Authorization: Token`` checked, a self-signed certificate, ``lrt dev``'s main."""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from grid_lrt.client.devtools.service import Service, StopSignal
from grid_lrt.client.devtools.stageit.schema import make_schema, run_query
from grid_lrt.client.devtools.stageit.state import SimHttpError, StageItState
from grid_lrt.client.devtools.stageit_options import add_arguments
from grid_lrt.client.devtools.tapefolder import TapeFolder

__all__ = ["API_PATH", "Seen", "StageItSimulator", "add_arguments", "main", "serve"]

log = logging.getLogger(__name__)

API_PATH = "/stageit/api/staging/"


@dataclass(frozen=True)
class Seen:
    """One HTTP request the simulator received (the token itself is not kept)."""

    method: str
    #: Path below the API base, e.g. ``requests/``, ``requests/40001/abort/``, ``graphql/``.
    path: str
    #: The parsed JSON body (None when there was none).
    body: Any
    status: int
    authorised: bool


def _make_cert(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1/localhost (``openssl`` CLI); its path."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl not found (apt-get install openssl)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    cmd = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-days", "2",
           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
           "-keyout", str(key), "-out", str(cert)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return cert


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: StageItSimulator
    tls: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the connection's thread, not in the accepting one.
        request.settimeout(30)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("stageit-simulator: TLS handshake failed: %s", exc)
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("stageit-simulator: " + format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        sim = self.server.simulator
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        rel = path[len(API_PATH) :] if path.startswith(API_PATH) else "/" + path.lstrip("/")
        authorised = self.headers.get("Authorization", "") == "Token " + sim.token
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = None
            status, answer = 400, {"detail": "JSON parse error."}
        else:
            status, answer = sim._answer(method, rel, body, authorised, self.headers)
        sim._seen(Seen(method, rel, body, status, authorised))
        if sim.answer_delay:
            time.sleep(sim.answer_delay)
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status == 401:
            self.send_header("WWW-Authenticate", "Token")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StageItSimulator(StageItState, Service):
    """StageIT on ``https://127.0.0.1:<port>`` (threads), for tests, demos and ``lrt dev``.

    Args:
        port: TCP port; 0 picks a free one.
        token: The only API token accepted (``Authorization: Token <token>``; else 401).
        delay: Seconds per step (new → scheduled → in progress → finished).
        on_online: Called (from the ticker thread) with a request's SURLs once they are online.
        macaroon_secret: Key the macaroons are minted with (default random); an archive checks
            them with ``grid_lrt.client.devtools.macaroons.check`` and the same secret.
        macaroon_lifetime: Seconds a macaroon is valid after its request finished.
        macaroon_scope: ``'directory'`` (path caveats are the files' folders: small macaroons)
            or ``'file'`` (one path caveat per file).
        doors: WebDAV door(s): one base URL for every site (e.g. a test archive's), or
            ``{site: base URL}`` over :data:`~.state.DEFAULT_DOORS`.
        max_files_per_request: Larger requests are refused (HTTP 400 with a message).
        max_files_in_flight: A request that takes the files of unfinished requests over this
            is refused (HTTP 400 with a message).
        answer_delay: Seconds to wait before each answer (to test client time-outs).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        token: str = "stageit-sim-token",  # noqa: S107  (a loopback test service)
        delay: float = 0.1,
        on_online: Optional[Callable[[List[str]], object]] = None,
        macaroon_secret: Optional[bytes] = None,
        macaroon_lifetime: float = 7 * 24 * 3600.0,
        macaroon_scope: str = "directory",
        doors: Union[str, Mapping[str, str], None] = None,
        max_files_per_request: int = 1000,
        max_files_in_flight: int = 5000,
        answer_delay: float = 0.0,
    ) -> None:
        super().__init__(
            delay=delay,
            on_online=on_online,
            macaroon_secret=macaroon_secret,
            macaroon_lifetime=macaroon_lifetime,
            macaroon_scope=macaroon_scope,
            doors=doors,
            max_files_per_request=max_files_per_request,
            max_files_in_flight=max_files_in_flight,
        )
        self.token = token
        self.answer_delay = answer_delay
        #: Every HTTP request received, in order.
        self.requests_seen: List[Seen] = []
        #: HTTP requests per ``"<METHOD> <route>"`` (route: ``requests/``, ``graphql/``, ...).
        self.calls: collections.Counter[str] = collections.Counter()
        self._port = port
        self._faults: List[Tuple[int, Any]] = []
        self._schema = make_schema()
        self._server: Optional[_Server] = None
        self._threads: List[threading.Thread] = []
        self._stop = threading.Event()
        self._folder: Optional[Path] = None

    # ---- addresses and trust -------------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: the ``hostname=`` of a ``~/.stagingrc`` for this simulator."""
        if self._server is None:
            raise RuntimeError("the StageIT simulator is not started")
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The API base URL, ``https://127.0.0.1:<port>/stageit/api/staging/``."""
        return f"https://{self.host}{API_PATH}"

    @property
    def ca_file(self) -> Path:
        """The certificate a client trusts (``REQUESTS_CA_BUNDLE``)."""
        if self._folder is None:
            raise RuntimeError("the StageIT simulator is not started")
        return self._folder / "cert.pem"

    @property
    def client_env(self) -> Dict[str, str]:
        """Environment a ``requests`` client needs to trust this server."""
        return {"REQUESTS_CA_BUNDLE": str(self.ca_file), "SSL_CERT_FILE": str(self.ca_file)}

    def stagingrc(self) -> str:
        """The body of a ``~/.stagingrc`` for this simulator (``api_token=``, ``hostname=``)."""
        return f"api_token={self.token}\nhostname={self.host}\n"

    def write_stagingrc(self, path: Union[str, Path]) -> Path:
        """Write :meth:`stagingrc` to ``path`` (mode 600); returns the path."""
        target = Path(path)
        target.write_text(self.stagingrc(), encoding="utf-8")
        target.chmod(0o600)
        return target

    def fail_next(self, status: int, body: Any, times: int = 1) -> None:
        """Answer the next ``times`` authorised requests with HTTP ``status`` and ``body``."""
        with self._lock:
            self._faults.extend([(status, body)] * times)

    # ---- life cycle ----------------------------------------------------------------------

    def start(self) -> StageItSimulator:
        """Make the certificate, bind the port, serve and tick in threads; returns ``self``."""
        if self._server is not None:
            return self
        self._folder = Path(tempfile.mkdtemp(prefix="lrt-stageit-sim-"))
        try:
            cert = _make_cert(self._folder)
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(cert, self._folder / "key.pem")
            server = _Server(("127.0.0.1", self._port), _Handler)
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
            raise
        server.simulator, server.tls = self, tls
        self._server = server
        self._stop.clear()
        self._threads = [
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True),
            threading.Thread(target=self._tick_loop, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("StageIT simulator at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, join the threads and remove the certificate folder."""
        if self._server is None:
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _tick_loop(self) -> None:
        interval = max(0.01, min(self.delay / 4, 0.25))
        while not self._stop.wait(interval):
            self.tick()

    # ---- requests ------------------------------------------------------------------------

    def _seen(self, seen: Seen) -> None:
        with self._lock:
            self.requests_seen.append(seen)

    def _answer(
        self, method: str, rel: str, body: Any, authorised: bool, headers: Any
    ) -> Tuple[int, Any]:
        if not authorised:
            given = bool(headers.get("Authorization"))
            detail = "Invalid token." if given else "Authentication credentials were not provided."
            return 401, {"detail": detail}
        parts = [p for p in rel.split("/") if p]
        route = "requests/<id>/" + "/".join(parts[2:]) if len(parts) > 1 else rel
        with self._lock:
            self.calls[f"{method} {route.rstrip('/') + '/'}"] += 1
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return fault
        try:
            return self._route(method, parts, body)
        except SimHttpError as exc:
            return exc.status, exc.body

    def _route(self, method: str, parts: List[str], body: Any) -> Tuple[int, Any]:
        if parts == ["graphql"] and method == "POST":
            return run_query(self._schema, self, body)
        if parts[:1] != ["requests"] or len(parts) > 3:
            return 404, {"detail": "Not found."}
        shape = ("requests", "<id>", *parts[2:])[: len(parts)]
        action = self._routes().get((method, *shape))
        if action is None:
            return 405, {"detail": f'Method "{method}" not allowed.'}
        self.tick()
        return action(parts[1] if len(parts) > 1 else "", body)

    def _abort(self, rid: str) -> Tuple[int, Any]:
        self.abort(rid)
        return 202, None

    def _routes(self) -> Dict[Tuple[str, ...], Callable[[str, Any], Tuple[int, Any]]]:
        return {
            ("POST", "requests"): lambda _, body: (201, self.submit(body).rest()),
            ("GET", "requests"): lambda _, __: (200, [r.rest() for r in self.all_requests()]),
            ("GET", "requests", "<id>"): lambda rid, _: (200, self.get(rid).rest()),
            ("PATCH", "requests", "<id>"): lambda rid, body: (200, self.patch(rid, body).rest()),
            ("PUT", "requests", "<id>", "abort"): lambda rid, _: self._abort(rid),
            ("GET", "requests", "<id>", "convert2webdav"): lambda rid, _: (
                200,
                self.webdav_urls(rid),
            ),
            ("GET", "requests", "<id>", "convert2gridftp"): lambda rid, _: (
                200,
                self.gridftp_urls(rid),
            ),
        }


def serve(args: argparse.Namespace) -> int:
    """Run the simulator until Ctrl-C, printing its URL, the token file and the CA bundle."""
    # The token is never a flag (it would show in `ps`): LRT_SIM_STAGEIT_TOKEN or the default.
    token = os.environ.get("LRT_SIM_STAGEIT_TOKEN", "stageit-sim-token")
    archive = TapeFolder(args.archive) if args.archive else None
    sim = StageItSimulator(
        args.port,
        token=token,
        delay=args.delay,
        doors=args.door,
        on_online=archive.make_online if archive else None,
    )
    with StopSignal() as stop, sim:  # Ctrl-C stops it from before the first line
        rc = args.stagingrc or sim.ca_file.parent / "stagingrc"
        sim.write_stagingrc(rc)
        print(sim.url, flush=True)
        print(f"token file: {rc}   (copy it to ~/.stagingrc)", flush=True)
        print(f"CA bundle:  {sim.ca_file}", flush=True)
        if archive is not None:
            print(f"export LRT_DATA_DOOR={archive.door}   # staged files, for the pilots")
        print(f"export REQUESTS_CA_BUNDLE={sim.ca_file}   # Ctrl-C stops", flush=True)
        stop.wait()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``lrt dev stageit-simulator`` as a program; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="lrt dev stageit-simulator", description="StageIT (LTA stager) simulator on 127.0.0.1"
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))
