"""The Storage contract against every adapter, on real storages.

The same contract tests run for LocalStorage and Gfal2Storage on file://, and for HttpStorage
and Gfal2Storage on https:// and davs:// against the loopback tape archive (wsgidav WebDAV with
``Want-Digest`` and the WLCG Tape REST API); then HttpStorage's TLS trust settings and the
choice of backend. What only one adapter can show is in test_storage_gfal_mock.py (gfal2's
``mock://`` error paths and tape states) and test_storage_http.py (HttpStorage against a
plain stdlib web server).
"""

from __future__ import annotations

import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, List
from urllib.parse import quote

import pytest

from grid_lrt.launcher.checksums import adler32_file, file_checksum, same_checksum
from grid_lrt.launcher.storage import (
    DestinationExistsError,
    LocalStorage,
    ParentMissingError,
    SourceNotFoundError,
    Storage,
    StorageError,
    StorageUnavailableError,
)
from grid_lrt.launcher.storage.gfal import Gfal2Storage
from grid_lrt.launcher.storage.http import HttpStorage
from tests.support.archive_server import running_archive

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
    "local-file",
    pytest.param("gfal2-file", marks=pytest.mark.gfal2),
    "http-https",
    "http-davs",
    pytest.param("gfal2-https", marks=pytest.mark.gfal2),
    pytest.param("gfal2-davs", marks=pytest.mark.gfal2),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One tape archive (https WebDAV + Tape REST) for the module: starting one takes ~1 s.

    Unlike ``tape_archive`` it does not need gfal2, so HttpStorage runs without the bindings.
    Tests use their own sub-folder (see :func:`site`) and :func:`trusted` for the environment.
    """
    with running_archive(tmp_path_factory.mktemp("archive"), delay=1.0) as server:
        yield server


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


def test_rename_to_a_new_name(site: Site) -> None:
    src = _put(site, "out/res.tar.lrt-a1.part")
    site.storage.rename(src, site.url("out/res.tar"), overwrite=False)
    assert site.path("out/res.tar").read_bytes() == DATA
    assert not site.path("out/res.tar.lrt-a1.part").exists()


def test_rename_refuses_an_existing_name_without_overwrite(site: Site) -> None:
    src = _put(site, "out/res.tar.lrt-a2.part", b"new")
    dst = _put(site, "out/res.tar", b"someone else's")
    with pytest.raises(DestinationExistsError):
        site.storage.rename(src, dst, overwrite=False)
    assert site.path("out/res.tar").read_bytes() == b"someone else's"
    assert site.path("out/res.tar.lrt-a2.part").read_bytes() == b"new"


def test_rename_with_overwrite_replaces(site: Site) -> None:
    src = _put(site, "out/res.tar.lrt-a2.part", b"new")
    dst = _put(site, "out/res.tar", b"an earlier attempt's")
    site.storage.rename(src, dst, overwrite=True)
    assert site.path("out/res.tar").read_bytes() == b"new"
    assert not site.path("out/res.tar.lrt-a2.part").exists()


def test_rename_of_a_missing_source(site: Site) -> None:
    site.path("out").mkdir()
    with pytest.raises(SourceNotFoundError):
        site.storage.rename(site.url("out/gone.part"), site.url("out/new"), overwrite=False)
    assert not site.path("out/new").exists()
    dst = _put(site, "out/res.tar", b"kept")
    with pytest.raises(SourceNotFoundError):
        site.storage.rename(site.url("out/gone.part"), dst, overwrite=True)
    assert site.path("out/res.tar").read_bytes() == b"kept"  # not removed for nothing


def test_rename_into_a_missing_folder(site: Site) -> None:
    src = _put(site, "out/res.tar.lrt-a1.part", b"x")
    with pytest.raises(ParentMissingError):
        site.storage.rename(src, site.url("no/such/res.tar"), overwrite=False)
    assert site.path("out/res.tar.lrt-a1.part").read_bytes() == b"x"


def test_rename_never_replaces_a_folder(site: Site) -> None:
    src = _put(site, "out/res.tar.lrt-a1.part", b"x")
    _put(site, "out/res.tar/inside", b"a folder's content")
    with pytest.raises(StorageError):
        site.storage.rename(src, site.url("out/res.tar"), overwrite=True)
    assert site.path("out/res.tar/inside").read_bytes() == b"a folder's content"


def test_rename_names_with_spaces_and_escapes(site: Site) -> None:
    _put(site, "with space #1.txt.lrt-a1.part", b"spaced")
    part = quote("with space #1.txt.lrt-a1.part")
    site.storage.rename(site.url(part), site.url(quote("with space #1.txt")), overwrite=False)
    assert site.path("with space #1.txt").read_bytes() == b"spaced"


def test_remove(site: Site) -> None:
    url = _put(site, "out/res.tar.lrt-a1.part")
    site.storage.remove(url)
    assert not site.path("out/res.tar.lrt-a1.part").exists()
    with pytest.raises(SourceNotFoundError):
        site.storage.remove(url)


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


@pytest.mark.parametrize("kind", ["http", pytest.param("gfal2", marks=pytest.mark.gfal2)])
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


# ---- the backend choice ------------------------------------------------------------------------


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
