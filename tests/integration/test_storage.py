"""The Storage contract against every adapter, on real storages.

The same contract tests run for LocalStorage and Gfal2Storage on file://, and for HttpStorage
and Gfal2Storage on https:// and davs:// against the loopback tape archive (wsgidav WebDAV with
``Want-Digest`` and the WLCG Tape REST API). Then what only one adapter can show: gfal2's
``mock://`` error paths and tape states, and HttpStorage against a small stdlib HTTP server on
loopback (plain web server without ``Digest``, 503 then 200, 507, 403, a truncated body) and
its TLS trust settings.
"""

from __future__ import annotations

import errno
import http.server
import logging
import os
import socket
import threading
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple, Type
from urllib.parse import quote

import pytest

from grid_lrt.launcher.checksums import adler32_file, file_checksum, same_checksum
from grid_lrt.launcher.storage import (
    DestinationExistsError,
    DestinationNotAccessibleError,
    LocalStorage,
    NoSpaceError,
    ParentMissingError,
    SourceNotFoundError,
    Storage,
    StorageError,
    StorageUnavailableError,
)
from grid_lrt.launcher.storage.gfal import Gfal2Storage
from grid_lrt.launcher.storage.http import HttpStorage
from grid_lrt.launcher.storage.httpsession import parse_digest

DATA = bytes(range(256)) * 4000 + b"tail"  # ~1 MB, more than one read chunk with the tail


@dataclass
class Site:
    """An adapter plus the folder it serves: ``url(rel)`` is the file ``path(rel)``."""

    name: str
    storage: Storage
    base: str
    root: Path

    def url(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def path(self, rel: str) -> Path:
        return self.root / rel


SITES = [
    pytest.param("local-file", marks=pytest.mark.worker),
    "gfal2-file",
    "http-https",
    "http-davs",
    "gfal2-https",
    "gfal2-davs",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One tape archive (https WebDAV + Tape REST) for the module: starting one takes ~1 s.

    Unlike ``tape_archive`` it does not need gfal2, so HttpStorage runs without the bindings.
    Tests use their own sub-folder (see :func:`site`) and :func:`trusted` for the environment.
    """
    try:
        from tests.support.tape_archive import TapeArchive, TapeArchiveError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        if _in_ci():
            pytest.fail(f"CI=true but the tape archive cannot be imported: {exc}", pytrace=False)
        pytest.skip(f"tape archive unavailable: {exc}")
    server = TapeArchive(tmp_path_factory.mktemp("archive"), delay=1.0)
    try:
        server.start()
    except TapeArchiveError as exc:  # pragma: no cover - depends on the environment
        if _in_ci():
            pytest.fail(f"CI=true but {exc.message}: {exc.hint}", pytrace=False)
        pytest.skip(f"{exc.message} ({exc.hint})")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trusted(archive: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The archive, with the environment a client needs to trust it (``X509_CERT_DIR``)."""
    for name, value in archive.client_env.items():
        monkeypatch.setenv(name, value)
    return archive


@pytest.fixture(params=SITES)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    kind, scheme = str(request.param).split("-")
    storage: Storage
    if kind == "gfal2":
        request.getfixturevalue("gfal2_module")
        storage = Gfal2Storage()
    elif kind == "http":
        storage = HttpStorage(retries=1, backoff=0.05)
    else:
        storage = LocalStorage()
    if scheme == "file":
        root = tmp_path / "store"
        root.mkdir()
        base = root.as_uri()
    else:
        server = request.getfixturevalue("trusted")
        folder = f"t-{uuid.uuid4().hex[:12]}"
        root = server.root / folder
        root.mkdir()
        base = server.base_url.replace("https://", f"{scheme}://") + "/" + folder
    return Site(str(request.param), storage, base, root)


@pytest.fixture
def local(tmp_path: Path) -> Path:
    folder = tmp_path / "local"
    folder.mkdir()
    return folder


def _put(site: Site, rel: str, data: bytes = DATA) -> str:
    path = site.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return site.url(rel)


def _leftovers(folder: Path) -> List[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# ---- the contract, on every adapter ------------------------------------------------------------


def test_download(site: Site, local: Path) -> None:
    url = _put(site, "in/data.bin")
    dest = local / "data.bin"
    dest.write_bytes(b"stale")
    site.storage.download(url, dest)
    assert dest.read_bytes() == DATA
    assert _leftovers(local) == []


def test_download_missing_source_leaves_nothing(site: Site, local: Path) -> None:
    url = site.url("in/missing.bin")
    with pytest.raises(SourceNotFoundError) as info:
        site.storage.download(url, local / "missing.bin")
    assert info.value.url == url
    assert list(local.iterdir()) == []


def test_upload_overwrite_refused_then_allowed(site: Site, local: Path) -> None:
    site.path("out").mkdir()
    src = local / "result.bin"
    src.write_bytes(DATA)
    url = site.url("out/result.bin")
    site.storage.upload(src, url)
    assert site.path("out/result.bin").read_bytes() == DATA
    assert site.storage.exists(url)
    assert site.storage.size(url) == len(DATA)
    src.write_bytes(b"second version")
    with pytest.raises(DestinationExistsError):
        site.storage.upload(src, url)
    assert site.path("out/result.bin").read_bytes() == DATA
    site.storage.upload(src, url, overwrite=True)
    assert site.path("out/result.bin").read_bytes() == b"second version"


def test_upload_parent_missing(site: Site, local: Path) -> None:
    src = local / "result.bin"
    src.write_bytes(b"x")
    with pytest.raises(ParentMissingError):
        site.storage.upload(src, site.url("no/such/folder/result.bin"))
    assert not site.path("no").exists()


def test_makedirs_then_upload(site: Site, local: Path) -> None:
    folder = site.url("a/b/c")
    site.storage.makedirs(folder)
    site.storage.makedirs(folder)  # exists: no error
    assert site.path("a/b/c").is_dir()
    assert site.storage.exists(folder)
    src = local / "f"
    src.write_bytes(b"into the new folder")
    site.storage.upload(src, folder + "/f")
    assert site.path("a/b/c/f").read_bytes() == b"into the new folder"
    _put(site, "a/file", b"x")
    with pytest.raises(DestinationExistsError):
        site.storage.makedirs(site.url("a/file"))


def test_checksum_matches_local_adler32(site: Site, local: Path) -> None:
    url = _put(site, "in/data.bin")
    reported = site.storage.checksum(url)
    assert reported == f"{zlib.adler32(DATA):08x}"
    assert same_checksum(reported or "", adler32_file(site.path("in/data.bin")))
    small = _put(site, "in/small.bin", b"\x00")  # adler32 00010001: the padding matters
    assert site.storage.checksum(small) == "00010001"
    dest = local / "copy"
    site.storage.download(url, dest)
    assert site.storage.checksum(url, "md5") == file_checksum(dest, "md5")


def test_missing_file_queries(site: Site) -> None:
    url = site.url("in/missing.bin")
    assert not site.storage.exists(url)
    with pytest.raises(SourceNotFoundError):
        site.storage.size(url)


def test_parallel_downloads(site: Site, local: Path) -> None:
    urls = [_put(site, f"par/{i}.bin", DATA[: 1000 * (i + 1)]) for i in range(6)]

    def fetch(index: int) -> bytes:
        dest = local / f"{index}.bin"
        site.storage.download(urls[index], dest)
        return dest.read_bytes()

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(fetch, range(6)))
    assert results == [DATA[: 1000 * (i + 1)] for i in range(6)]


def test_names_with_spaces_and_escapes(site: Site, local: Path) -> None:
    name = "with space #1 %41.dat"
    _put(site, name, b"spaced")
    url = f"{site.base}/{quote(name)}"  # what Path.as_uri() and an http client make of it
    dest = local / "copy of it %20.dat"
    site.storage.download(url, dest)
    assert dest.read_bytes() == b"spaced"
    assert site.storage.size(url) == len(b"spaced")
    site.path("up").mkdir()
    site.storage.upload(dest, f"{site.base}/up/{quote(dest.name)}")
    assert site.path("up/" + dest.name).read_bytes() == b"spaced"
    if site.base.startswith("file:"):  # plain paths too
        site.storage.download(str(site.path(name)), local / "plain")
        assert (local / "plain").read_bytes() == b"spaced"
    assert _leftovers(local) == []


# ---- locality ----------------------------------------------------------------------------------


def test_locality_without_tape(site: Site) -> None:
    url = _put(site, "disk/data.bin")
    expected = "ONLINE" if site.name.startswith("gfal2-") and "file" not in site.name else None
    assert site.storage.locality(url) == expected


def test_gfal2_locality_on_the_tape_archive(trusted: Any, gfal2_module: Any) -> None:
    rel = f"tape/{uuid.uuid4().hex[:12]}/L1.tar"
    (trusted.root / rel).parent.mkdir(parents=True)
    (trusted.root / rel).write_bytes(b"on tape")
    storage = Gfal2Storage()
    url = trusted.url(rel)
    assert storage.locality(url) == "NEARLINE"
    trusted.make_online([rel])
    assert storage.locality(url) == "ONLINE_AND_NEARLINE"
    assert HttpStorage().locality(url) is None


@pytest.mark.parametrize("kind", ["http", "gfal2"])
def test_credentials_never_in_messages(
    trusted: Any, request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    storage: Storage = HttpStorage(retries=0)
    if kind == "gfal2":
        request.getfixturevalue("gfal2_module")
        storage = Gfal2Storage()
    url = trusted.url("missing.bin").replace("https://", "https://alice:s3cret@")
    with pytest.raises(SourceNotFoundError) as info:
        storage.download(url, tmp_path / "x")
    assert "s3cret" not in str(info.value) and "s3cret" not in info.value.url
    assert "***@127.0.0.1" in info.value.url


# ---- gfal2 only: mock:// -----------------------------------------------------------------------


@pytest.fixture
def gfal(gfal2_module: Any) -> Gfal2Storage:
    return Gfal2Storage()


def test_mock_download_writes_size_bytes(gfal: Gfal2Storage, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    gfal.download("mock://lta.example/L1/SB000.tar?size=4096", dest)
    assert dest.stat().st_size == 4096
    assert gfal.size("mock://lta.example/L1/SB000.tar?size=4096") == 4096


def test_mock_enoent_is_source_not_found(
    gfal: Gfal2Storage, gfal2_module: Any, tmp_path: Path
) -> None:
    url = "mock://h/L1/missing.tar?size=10&errno=2"
    with pytest.raises(SourceNotFoundError) as info:
        gfal.download(url, tmp_path / "dest")
    assert isinstance(info.value.__cause__, gfal2_module.GError)
    assert info.value.__cause__.code == errno.ENOENT
    assert list(tmp_path.iterdir()) == []
    assert not gfal.exists(url)
    with pytest.raises(SourceNotFoundError):
        gfal.locality(url)


def test_mock_read_error_leaves_no_partial_file(gfal: Gfal2Storage, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.write_bytes(b"previous")
    with pytest.raises(StorageUnavailableError) as info:
        gfal.download("mock://h/f?size=3000000&read_errno=5", dest)
    assert info.value.transient
    assert dest.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == []


def test_mock_permission_denied(gfal: Gfal2Storage, tmp_path: Path) -> None:
    with pytest.raises(DestinationNotAccessibleError):
        gfal.download("mock://h/f?size=10&errno=13", tmp_path / "dest")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_mock_upload_no_space(gfal: Gfal2Storage, tmp_path: Path, code: int) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"result")
    with pytest.raises(NoSpaceError) as info:
        gfal.upload(src, f"mock://se.example/out/result.tar?errno={code}&time=0")
    assert info.value.transient


def test_mock_upload_errors(gfal: Gfal2Storage, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"result")
    with pytest.raises(DestinationExistsError):  # mock files always exist
        gfal.upload(src, "mock://se.example/out/result.tar?time=0")
    with pytest.raises(ParentMissingError):
        gfal.upload(src, "mock://se.example/out/result.tar?errno=2&time=0")
    with pytest.raises(DestinationNotAccessibleError):
        gfal.upload(src, "mock://se.example/out/result.tar?errno=1&time=0")
    with pytest.raises(SourceNotFoundError):
        gfal.upload(tmp_path / "nope", "mock://se.example/out/x?time=0")


@pytest.mark.parametrize("status", ["NEARLINE", "ONLINE", "ONLINE_AND_NEARLINE", "LOST"])
def test_mock_locality(gfal: Gfal2Storage, status: str) -> None:
    assert gfal.locality(f"mock://h/L1/SB000.tar?size=10&user.status={status}") == status


def test_mock_no_status_and_file_urls_are_none(gfal: Gfal2Storage, tmp_path: Path) -> None:
    assert gfal.locality("mock://h/L1/SB000.tar?size=10") is None
    (tmp_path / "f").write_text("x")
    assert gfal.locality((tmp_path / "f").as_uri()) is None
    assert gfal.locality(str(tmp_path / "f")) is None


def test_mock_checksum_param(gfal: Gfal2Storage) -> None:
    assert gfal.checksum("mock://h/f?size=10&checksum=0A1B2C3D") == "0a1b2c3d"
    assert gfal.checksum("mock://h/f?size=10&checksum=a1b2c3") == "00a1b2c3"
    assert gfal.checksum("mock://h/f?size=10") is None
    with pytest.raises(SourceNotFoundError):
        gfal.checksum("mock://h/f?errno=2")


def test_gfal2_file_checksum_unsupported_is_none(gfal: Gfal2Storage, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert gfal.checksum((tmp_path / "f").as_uri(), "sha256") is None


def test_gfal2_makedirs_on_mock_fails_cleanly(gfal: Gfal2Storage) -> None:
    with pytest.raises(StorageUnavailableError, match="mock://h/dir"):
        gfal.makedirs("mock://h/dir")


# ---- HttpStorage only: trust -------------------------------------------------------------------


def test_http_refuses_an_untrusted_server(
    archive: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel = f"trust-{uuid.uuid4().hex[:12]}"
    (archive.root / rel).write_bytes(b"x")
    url = archive.url(rel)
    for name in ("X509_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StorageUnavailableError, match="TLS") as info:
        HttpStorage(retries=0).download(url, tmp_path / "f")
    assert "X509_CERT_DIR" in info.value.hint
    assert not (tmp_path / "f").exists()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(archive.cert_dir / "cert.pem"))
    HttpStorage(retries=0).download(url, tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == b"x"


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


class _WebServer(http.server.ThreadingHTTPServer):
    """A loopback HTTP server: ``files`` by path, ``script`` of answers, ``seen`` requests."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: Dict[str, bytes] = {}
        self.script: Dict[str, List[str]] = {}
        self.seen: List[Tuple[str, str]] = []


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


@pytest.mark.worker
def test_http_plain_server_has_no_checksum(web: Tuple[str, _WebServer], tmp_path: Path) -> None:
    base, server = web
    server.files["/a.bin"] = b"plain"
    storage = HttpStorage(retries=0)
    assert storage.checksum(base + "/a.bin") is None
    assert storage.size(base + "/a.bin") == 5
    storage.download(base + "/a.bin", tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == b"plain"


@pytest.mark.worker
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


@pytest.mark.worker
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


@pytest.mark.worker
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


@pytest.mark.worker
def test_http_connection_refused_is_retried_then_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StorageUnavailableError) as info:
        HttpStorage(retries=1, backoff=0.01).download(f"http://127.0.0.1:{port}/x", tmp_path / "x")
    assert info.value.transient
    assert list(tmp_path.iterdir()) == []


@pytest.mark.worker
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


def test_with_gfal2_everything_goes_to_gfal2(gfal2_module: Any) -> None:
    from grid_lrt.launcher import storage as storage_pkg
    from grid_lrt.launcher.storage import LocalStorage, describe_backend, storage_for

    version = storage_pkg.gfal2_version()
    assert version == gfal2_module.get_version()
    assert describe_backend() == f"gfal2 {version}"
    assert describe_backend("builtin").startswith("builtin")
    for url in ("file:///x", "/x", "https://h/x", "davs://h/x", "srm://h/x", "mock://h/x"):
        assert isinstance(storage_for(url), Gfal2Storage), url
    assert isinstance(storage_for("/x", prefer="builtin"), LocalStorage)
