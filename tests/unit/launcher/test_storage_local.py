"""LocalStorage (file:// and plain paths), the errno table, and the adapter choice (storage_for).

The Storage contract itself runs against every adapter in tests/integration/test_storage.py;
this file covers what is specific to local files and to picking an adapter. Failures are real:
a missing file, a folder, ``/proc/self/mem`` (open works, read fails with EIO).
"""

from __future__ import annotations

import errno
import os
import sys
import zlib
from pathlib import Path
from typing import Iterator, Type

import pytest

from grid_lrt.launcher.storage import (
    BackendMissingError,
    DestinationExistsError,
    DestinationNotAccessibleError,
    LocalStorage,
    NoSpaceError,
    ParentMissingError,
    SourceNotFoundError,
    StorageError,
    StorageUnavailableError,
    UnsupportedSchemeError,
    clear_cache,
    describe_backend,
    storage_for,
)
from grid_lrt.launcher.storage.common import error_for_errno, local_path, redact, redact_url
from grid_lrt.launcher.storage.http import HttpStorage
from grid_lrt.launcher.storage.local import AtomicFile
from grid_lrt.shared.errors import ConfigError

EIO_SOURCE = "/proc/self/mem"  # open works, read fails with EIO


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LRT_STORAGE", raising=False)
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def no_gfal2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import gfal2`` fail, as on a worker without the bindings."""
    monkeypatch.setitem(sys.modules, "gfal2", None)
    clear_cache()


@pytest.fixture
def store() -> LocalStorage:
    return LocalStorage()


def _leftovers(folder: Path) -> list:  # type: ignore[type-arg]
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# ---- LocalStorage ------------------------------------------------------------------------------


def test_download_file_url_and_plain_path(store: LocalStorage, tmp_path: Path) -> None:
    src = tmp_path / "with space.dat"
    src.write_bytes(b"x" * 3000)
    src.chmod(0o640)
    assert "%20" in src.as_uri()
    store.download(src.as_uri(), tmp_path / "a")
    store.download(str(src), tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes() == src.read_bytes()
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []


def test_download_replaces_an_existing_file(store: LocalStorage, tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.write_text("new")
    dest.write_text("old content")
    store.download(src.as_uri(), dest)
    assert dest.read_text() == "new"


def test_download_missing_source(store: LocalStorage, tmp_path: Path) -> None:
    url = (tmp_path / "nope").as_uri()
    with pytest.raises(SourceNotFoundError) as info:
        store.download(url, tmp_path / "dest")
    assert info.value.url == url
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert not (tmp_path / "dest").exists()


def test_download_of_a_folder_is_not_found(store: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="folder"):
        store.download(tmp_path.as_uri(), tmp_path / "dest")


def test_download_into_a_missing_folder(store: LocalStorage, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_text("x")
    with pytest.raises(ParentMissingError):
        store.download(src.as_uri(), tmp_path / "no" / "dest")


def test_failed_download_leaves_no_partial_file(store: LocalStorage, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(StorageUnavailableError) as info:
        store.download(EIO_SOURCE, dest)
    assert info.value.transient
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.EIO
    assert list(tmp_path.iterdir()) == []
    dest.write_text("previous")  # a failed copy keeps what was there
    with pytest.raises(StorageUnavailableError):
        store.download(EIO_SOURCE, dest)
    assert dest.read_text() == "previous"
    assert _leftovers(tmp_path) == []


def test_upload_overwrite_refused_then_allowed(store: LocalStorage, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_text("one")
    url = (tmp_path / "out.dat").as_uri()
    store.upload(src, url)
    assert (tmp_path / "out.dat").read_text() == "one"
    src.write_text("two")
    with pytest.raises(DestinationExistsError) as info:
        store.upload(src, url)
    assert "overwrite" in info.value.hint
    assert (tmp_path / "out.dat").read_text() == "one"
    store.upload(src, url, overwrite=True)
    assert (tmp_path / "out.dat").read_text() == "two"
    assert _leftovers(tmp_path) == []


def test_upload_parent_missing_or_a_file(store: LocalStorage, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_text("x")
    with pytest.raises(ParentMissingError):
        store.upload(src, (tmp_path / "missing" / "out").as_uri())
    with pytest.raises(ParentMissingError):
        store.upload(src, (src / "out").as_uri())


def test_upload_missing_source(store: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        store.upload(tmp_path / "nope", (tmp_path / "out").as_uri())
    assert not (tmp_path / "out").exists()


def test_atomic_file_never_overwrites_a_file_that_appeared(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    target = AtomicFile(dest)
    with pytest.raises(FileExistsError), target as tmp:
        tmp.write_text("mine")
        dest.write_text("someone else's")  # appears between the check and the commit
        target.commit(overwrite=False)
    assert dest.read_text() == "someone else's"
    assert _leftovers(tmp_path) == []


def test_rename_plain_paths_and_folders(store: LocalStorage, tmp_path: Path) -> None:
    (tmp_path / "a.part").write_text("mine")
    store.rename(str(tmp_path / "a.part"), str(tmp_path / "a"), overwrite=False)  # plain paths
    assert (tmp_path / "a").read_text() == "mine"
    (tmp_path / "folder").mkdir()
    with pytest.raises(SourceNotFoundError):  # a folder is not a file to rename
        store.rename((tmp_path / "folder").as_uri(), (tmp_path / "b").as_uri(), overwrite=False)
    with pytest.raises(DestinationExistsError):  # nor replaced without overwrite
        store.rename((tmp_path / "a").as_uri(), (tmp_path / "folder").as_uri(), overwrite=False)
    assert (tmp_path / "a").read_text() == "mine"
    with pytest.raises(StorageError):
        store.remove((tmp_path / "folder").as_uri())
    assert (tmp_path / "folder").is_dir()


def test_size_exists_checksum_locality(store: LocalStorage, tmp_path: Path) -> None:
    data = b"lofar" * 1000
    path = tmp_path / "f.dat"
    path.write_bytes(data)
    url = path.as_uri()
    assert store.size(url) == len(data)
    assert store.exists(url) and store.exists(str(tmp_path))
    assert not store.exists((tmp_path / "nope").as_uri())
    assert store.checksum(url) == f"{zlib.adler32(data):08x}"
    assert store.checksum(url, "MD5") is not None and len(store.checksum(url, "md5") or "") == 32
    assert store.checksum(url, "crc32") is None
    assert store.locality(url) is None
    with pytest.raises(SourceNotFoundError):
        store.size((tmp_path / "nope").as_uri())
    with pytest.raises(SourceNotFoundError):
        store.checksum((tmp_path / "nope").as_uri())


def test_makedirs(store: LocalStorage, tmp_path: Path) -> None:
    url = (tmp_path / "a" / "b" / "c").as_uri()
    store.makedirs(url)
    store.makedirs(url)
    assert (tmp_path / "a" / "b" / "c").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DestinationExistsError):
        store.makedirs((tmp_path / "file").as_uri())
    with pytest.raises(ParentMissingError):
        store.makedirs((tmp_path / "file" / "sub").as_uri())


def test_local_path_forms(tmp_path: Path) -> None:
    assert local_path("file:///a%20b/c") == Path("/a b/c")
    assert local_path("file://localhost/x") == Path("/x")
    assert local_path("/data/x") == Path("/data/x")
    assert local_path("rel/x") == Path.cwd() / "rel" / "x"
    with pytest.raises(UnsupportedSchemeError, match="remote host"):
        local_path("file://elsewhere/x")
    with pytest.raises(UnsupportedSchemeError):
        local_path("https://host/x")


# ---- errno table and redaction -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "writing", "expected"),
    [
        (errno.ENOENT, False, SourceNotFoundError),
        (errno.ENOENT, True, ParentMissingError),
        (errno.ENOTDIR, True, ParentMissingError),
        (errno.EEXIST, True, DestinationExistsError),
        (errno.EACCES, True, DestinationNotAccessibleError),
        (errno.EPERM, False, DestinationNotAccessibleError),
        (errno.ENOSPC, True, NoSpaceError),
        (errno.EDQUOT, True, NoSpaceError),
        (errno.EIO, False, StorageUnavailableError),
        (errno.ETIMEDOUT, True, StorageUnavailableError),
        (0, True, StorageUnavailableError),
    ],
)
def test_error_for_errno(code: int, writing: bool, expected: Type[StorageError]) -> None:
    err = error_for_errno(code, "failed", "https://u:pw@host/x", writing=writing)
    assert type(err) is expected
    assert err.url == "https://***@host/x"


def test_redaction() -> None:
    assert redact_url("davs://alice:s3cret@host:443/p?q=1") == "davs://***@host:443/p?q=1"
    assert redact_url("https://host/p") == "https://host/p"
    text = redact("GET https://alice:s3cret@host/p failed; see srm://bob@x/y")
    assert "s3cret" not in text and "alice" not in text and "bob" not in text
    err = error_for_errno(errno.EIO, "at https://alice:s3cret@h/x", "https://alice:s3cret@h/x",
                          writing=False)  # fmt: skip
    assert "s3cret" not in str(err) and "s3cret" not in err.url


# ---- storage_for -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("file:///data/x", LocalStorage),
        ("/data/x", LocalStorage),
        ("https://host/x", HttpStorage),
        ("http://host/x", HttpStorage),
        ("davs://host/x", HttpStorage),
        ("dav://host/x", HttpStorage),
    ],
)
def test_builtin_adapters(url: str, kind: type) -> None:
    assert isinstance(storage_for(url, prefer="builtin"), kind)


def test_adapters_are_cached_per_kind() -> None:
    a = storage_for("https://one/x", prefer="builtin")
    b = storage_for("davs://two/y", prefer="builtin")
    assert a is b
    assert storage_for("/x", prefer="builtin") is storage_for("file:///y", prefer="builtin")
    clear_cache()
    assert storage_for("https://one/x", prefer="builtin") is not a


@pytest.mark.parametrize("scheme", ["gsiftp", "srm", "root", "mock"])
def test_grid_schemes_without_gfal2(scheme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRT_STORAGE", "builtin")
    url = f"{scheme}://user:secret@host:1234/pnfs/x"
    with pytest.raises(UnsupportedSchemeError) as info:
        storage_for(url)
    assert f"{scheme}://" in info.value.message
    assert "secret" not in info.value.message and "secret" not in info.value.url
    assert "python3-gfal2" in info.value.hint


def test_unknown_scheme() -> None:
    with pytest.raises(UnsupportedSchemeError, match="ftp://"):
        storage_for("ftp://host/x", prefer="builtin")


def test_without_gfal2_auto_is_builtin(no_gfal2: None) -> None:
    assert describe_backend() == "builtin (no gfal2)"
    assert isinstance(storage_for("file:///x"), LocalStorage)
    with pytest.raises(UnsupportedSchemeError, match="srm://") as info:
        storage_for("srm://host/x")
    assert "gfal2" in info.value.hint


def test_gfal2_required_but_missing(no_gfal2: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRT_STORAGE", "gfal2")
    with pytest.raises(BackendMissingError, match="LRT_STORAGE=gfal2") as info:
        storage_for("file:///x")
    assert "python3-gfal2" in info.value.hint
    with pytest.raises(BackendMissingError):
        describe_backend()


def test_bad_backend_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRT_STORAGE", "fastest")
    with pytest.raises(ConfigError, match="LRT_STORAGE='fastest'"):
        storage_for("file:///x")
    with pytest.raises(ConfigError, match="prefer"):
        storage_for("file:///x", prefer="gfal3")


def test_trust_environment_gives_a_new_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    first = storage_for("https://h/x", prefer="builtin")
    monkeypatch.setenv("X509_CERT_DIR", os.fspath(Path(__file__).parent))
    assert storage_for("https://h/x", prefer="builtin") is not first
