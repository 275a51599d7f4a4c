"""HttpStorage against a small stdlib HTTP server on loopback: what a plain web server does.

No ``Digest``, 503 then 200, 507, 403, 409, 412, a truncated body, a refused connection; and
the ``Digest`` header parsing (RFC 3230). Worker tests: no gfal2, only ``requests``. The
contract tests on every adapter (also HttpStorage on the https WebDAV tape archive) are in
test_storage.py.
"""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple, Type

import pytest

from grid_lrt.launcher.storage import (
    DestinationExistsError,
    DestinationNotAccessibleError,
    NoSpaceError,
    ParentMissingError,
    RenameUnsupportedError,
    SourceNotFoundError,
    StorageError,
    StorageUnavailableError,
)
from grid_lrt.launcher.storage.http import HttpStorage
from grid_lrt.launcher.storage.httpsession import parse_digest

# ---- HttpStorage only: a plain web server ------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; ``server.script`` maps a path to statuses to send first."""

    server: _WebServer

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def _scripted(self) -> bool:
        queue = self.server.script.get(self.path)
        if not queue:
            return False
        status = queue.pop(0)
        if status == "truncate":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"only the beginning")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        self.send_response(int(status))
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def _reply(self, body: bool) -> None:
        self.server.seen.append((self.command, self.path))
        if self._scripted():
            return
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply(body=True)

    def do_HEAD(self) -> None:
        self._reply(body=False)

    def do_PUT(self) -> None:
        self.server.seen.append((self.command, self.path))
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self._scripted():
            return
        self.server.files[self.path] = body
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_MOVE(self) -> None:
        """Scripted answers only; otherwise 501, as a web server without WebDAV answers."""
        headers = {name: self.headers.get(name, "") for name in ("Destination", "Overwrite")}
        self.server.moves.append((self.path, headers))
        self.server.seen.append((self.command, self.path))
        if not self._scripted():
            self.send_error(501)

    def do_DELETE(self) -> None:
        self.server.seen.append((self.command, self.path))
        if self._scripted():
            return
        if self.server.files.pop(self.path, None) is None:
            self.send_error(404)
            return
        self.send_response(204)
        self.end_headers()


class _WebServer(http.server.ThreadingHTTPServer):
    """A loopback HTTP server: ``files`` by path, ``script`` of answers, ``seen`` requests."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: Dict[str, bytes] = {}
        self.script: Dict[str, List[str]] = {}
        self.seen: List[Tuple[str, str]] = []
        self.moves: List[Tuple[str, Dict[str, str]]] = []


@pytest.fixture
def web() -> Iterator[Tuple[str, _WebServer]]:
    server = _WebServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_plain_server_has_no_checksum(web: Tuple[str, _WebServer], tmp_path: Path) -> None:
    base, server = web
    server.files["/a.bin"] = b"plain"
    storage = HttpStorage(retries=0)
    assert storage.checksum(base + "/a.bin") is None
    assert storage.size(base + "/a.bin") == 5
    storage.download(base + "/a.bin", tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == b"plain"


def test_http_retries_a_503(
    web: Tuple[str, _WebServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="grid_lrt.launcher.storage.http")
    base, server = web
    server.files["/a.bin"] = b"data"
    server.script["/a.bin"] = ["503", "502"]
    HttpStorage(retries=2, backoff=0.01).download(base + "/a.bin", tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == b"data"
    assert server.seen.count(("GET", "/a.bin")) == 3
    url = base + "/a.bin"
    assert [r.getMessage() for r in caplog.records if r.name.endswith("storage.http")] == [
        f"GET {url} failed (GET {url}: HTTP 503 Service Unavailable); retrying in 0.0 s",
        f"GET {url} failed (GET {url}: HTTP 502 Bad Gateway); retrying in 0.0 s",
    ]
    server.script["/a.bin"] = ["503", "503"]
    with pytest.raises(StorageUnavailableError, match="503"):
        HttpStorage(retries=1, backoff=0.01).download(base + "/a.bin", tmp_path / "b.bin")
    assert not (tmp_path / "b.bin").exists()


def test_http_truncated_body_leaves_no_partial_file(
    web: Tuple[str, _WebServer], tmp_path: Path
) -> None:
    base, server = web
    server.files["/big.bin"] = b"x"
    server.script["/big.bin"] = ["truncate", "truncate"]
    dest = tmp_path / "big.bin"
    with pytest.raises(StorageUnavailableError):
        HttpStorage(retries=1, backoff=0.01).download(base + "/big.bin", dest)
    assert list(tmp_path.iterdir()) == []
    assert server.seen.count(("GET", "/big.bin")) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("507", NoSpaceError),
        ("403", DestinationNotAccessibleError),
        ("401", DestinationNotAccessibleError),
        ("409", ParentMissingError),
        ("412", DestinationExistsError),
        ("400", StorageUnavailableError),
    ],
)
def test_http_put_status_codes(
    web: Tuple[str, _WebServer], tmp_path: Path, status: str, error: Type[StorageError]
) -> None:
    base, server = web
    server.script["/out.bin"] = [status]
    src = tmp_path / "src"
    src.write_bytes(b"result")
    with pytest.raises(error) as info:
        HttpStorage(retries=0).upload(src, base + "/out.bin", overwrite=True)
    assert type(info.value) is error or status == "400"
    assert status in info.value.message
    assert "/out.bin" not in server.files


def test_http_server_without_move_cannot_rename(web: Tuple[str, _WebServer]) -> None:
    base, server = web
    server.files["/a.part"] = b"x"
    storage = HttpStorage(retries=0)
    with pytest.raises(RenameUnsupportedError, match="501"):
        storage.rename(base + "/a.part", base + "/a", overwrite=False)
    server.script["/a.part"] = ["405"]
    with pytest.raises(RenameUnsupportedError, match="405"):
        storage.rename(base + "/a.part", base + "/a", overwrite=False)
    assert server.files == {"/a.part": b"x"}


def test_http_move_headers_carry_no_credentials(web: Tuple[str, _WebServer]) -> None:
    base, server = web
    host = base.split("//", 1)[1]
    server.script["/a.part"] = ["503", "201", "204"]
    storage = HttpStorage(retries=1, backoff=0.01)
    storage.rename(
        f"dav://alice:s3cret@{host}/a.part", f"dav://alice:s3cret@{host}/a", overwrite=False
    )
    storage.rename(base + "/a.part", base + "/b", overwrite=True)
    assert server.moves == [
        ("/a.part", {"Destination": f"http://{host}/a", "Overwrite": "F"}),  # the 503
        ("/a.part", {"Destination": f"http://{host}/a", "Overwrite": "F"}),
        ("/a.part", {"Destination": f"http://{host}/b", "Overwrite": "T"}),
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("412", DestinationExistsError),
        ("409", ParentMissingError),
        ("404", SourceNotFoundError),
        ("403", DestinationNotAccessibleError),
        ("400", StorageUnavailableError),
    ],
)
def test_http_move_status_codes(
    web: Tuple[str, _WebServer], status: str, error: Type[StorageError]
) -> None:
    base, server = web
    server.script["/a.part"] = [status]
    with pytest.raises(error) as info:
        HttpStorage(retries=0).rename(base + "/a.part", base + "/a", overwrite=False)
    assert type(info.value) is error
    assert status in info.value.message


def test_http_remove(web: Tuple[str, _WebServer]) -> None:
    base, server = web
    server.files["/a.part"] = b"x"
    storage = HttpStorage(retries=0)
    storage.remove(base + "/a.part")
    assert server.files == {}
    with pytest.raises(SourceNotFoundError):
        storage.remove(base + "/a.part")


def test_http_connection_refused_is_retried_then_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StorageUnavailableError) as info:
        HttpStorage(retries=1, backoff=0.01).download(f"http://127.0.0.1:{port}/x", tmp_path / "x")
    assert info.value.transient
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("header", "algorithm", "expected"),
    [
        ("adler32=a1b2c3", "adler32", "00a1b2c3"),
        ("MD5=rL0Y20zC+Fzt72VPzMSk2A==, ADLER32=0A1B2C3D", "adler32", "0a1b2c3d"),
        ("md5=rL0Y20zC+Fzt72VPzMSk2A==", "md5", "ac bd 18 db 4c c2 f8 5c ed ef 65 4f cc c4 a4 d8"),
        ("md5=rL0Y20zC+Fzt72VPzMSk2A==", "adler32", None),
        ("md5=not base64!", "md5", None),
        ("adler32=zz", "adler32", None),
        ("", "adler32", None),
    ],
)
def test_parse_digest(header: str, algorithm: str, expected: Any) -> None:
    encoding = "base64" if algorithm == "md5" else "hex"
    if isinstance(expected, str):
        expected = expected.replace(" ", "")
    assert parse_digest(header, algorithm, encoding) == expected
