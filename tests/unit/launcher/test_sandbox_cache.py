"""A pilot running many tokens with one sandbox downloads it once, and never a changed one."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.sandbox import fetch_sandbox
from grid_lrt.launcher.sandbox_cache import SandboxCache
from grid_lrt.launcher.storage import Storage, storage_for
from grid_lrt.shared.errors import ErrorCode

StorageFor = Callable[[str], Storage]


def _tgz(master: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("master.sh")
        info.size = len(master)
        tar.addfile(info, io.BytesIO(master))
    return buf.getvalue()


class Counting:
    """The real builtin storage, counting downloads; ``x-site://`` URLs map onto ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.downloads: List[str] = []
        self._real: StorageFor = partial(storage_for, prefer="builtin")

    def __call__(self, url: str) -> Storage:
        real = self._real("file:///")
        counting = self

        class Adapter:
            def download(self, src: str, dest: Path, *, timeout: Optional[float] = None) -> None:
                counting.downloads.append(src)
                local = src.replace("x-site://store/", (counting.root.as_uri() + "/"))
                real.download(local, dest, timeout=timeout)

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        return Adapter()  # type: ignore[return-value]


@pytest.fixture
def store(tmp_path: Path) -> Counting:
    return Counting(tmp_path / "store")


def _publish(store: Counting, name: str, master: bytes) -> Path:
    path = store.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_tgz(master))
    return path


def _run(
    tmp_path: Path, n: int, token: Dict[str, Any], store: Counting, cache: SandboxCache
) -> str:
    jobdir = tmp_path / f"job{n}"
    jobdir.mkdir()
    fetch_sandbox(token, jobdir, storage_for=store, cache=cache, sleep=lambda s: None)
    assert not (jobdir / ".sandbox").exists()
    return (jobdir / "master.sh").read_text()


def test_a_local_sandbox_is_downloaded_once(tmp_path: Path, store: Counting) -> None:
    url = _publish(store, "sbx.tgz", b"echo v1\n").as_uri()
    cache = SandboxCache(tmp_path / "cache")
    assert [_run(tmp_path, n, {"SBXloc": url}, store, cache) for n in range(3)] == ["echo v1\n"] * 3
    assert store.downloads == [url]
    assert cache.hits == 2


def test_a_changed_local_sandbox_is_downloaded_again(tmp_path: Path, store: Counting) -> None:
    path = _publish(store, "sbx.tgz", b"echo v1\n")
    cache = SandboxCache(tmp_path / "cache")
    assert _run(tmp_path, 1, {"SBXloc": path.as_uri()}, store, cache) == "echo v1\n"
    replacement = _publish(store, "new.tgz", b"echo v2 longer\n")
    os.replace(replacement, path)  # the user uploads a fixed sandbox to the same place
    assert _run(tmp_path, 2, {"SBXloc": path.as_uri()}, store, cache) == "echo v2 longer\n"
    assert len(store.downloads) == 2


def test_a_remote_sandbox_is_reused_only_with_its_checksum(tmp_path: Path, store: Counting) -> None:
    data = _publish(store, "sbx.tgz", b"echo remote\n").read_bytes()
    cache = SandboxCache(tmp_path / "cache")
    url = "x-site://store/sbx.tgz"
    for n in range(2):  # no checksum: it may have changed, so every token downloads it
        _run(tmp_path, n, {"SBXloc": url}, store, cache)
    assert len(store.downloads) == 2
    token = {"SBXloc": url, "SBXchecksum": "md5:" + hashlib.md5(data).hexdigest()}
    for n in range(2, 5):
        assert _run(tmp_path, n, token, store, cache) == "echo remote\n"
    assert len(store.downloads) == 3  # verified once, then reused


def test_another_checksum_is_checked_again(tmp_path: Path, store: Counting) -> None:
    url = _publish(store, "sbx.tgz", b"echo v1\n").as_uri()
    cache = SandboxCache(tmp_path / "cache")
    _run(tmp_path, 1, {"SBXloc": url}, store, cache)
    with pytest.raises(TokenFailure) as info:
        _run(tmp_path, 2, {"SBXloc": url, "SBXchecksum": "adler32:00000001"}, store, cache)
    assert info.value.code is ErrorCode.SANDBOX_CHECKSUM_MISMATCH
    assert len(store.downloads) == 2


def test_a_refused_archive_is_not_kept(tmp_path: Path, store: Counting) -> None:
    path = store.root / "junk.tgz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an archive at all")
    cache = SandboxCache(tmp_path / "cache")
    for n in range(2):
        with pytest.raises(TokenFailure) as info:
            _run(tmp_path, n, {"SBXloc": path.as_uri()}, store, cache)
        assert info.value.code is ErrorCode.SANDBOX_DOWNLOAD_FAILED
    assert len(store.downloads) == 2
    assert not any((tmp_path / "cache").glob("*"))


def test_the_cache_keeps_the_newest_entries_and_is_removed(tmp_path: Path, store: Counting) -> None:
    urls = [_publish(store, f"s{i}.tgz", b"echo %d\n" % i).as_uri() for i in range(3)]
    cache = SandboxCache(tmp_path / "cache", max_entries=2)
    for n, url in enumerate([*urls, urls[2], urls[0]]):
        _run(tmp_path, n, {"SBXloc": url}, store, cache)
    assert store.downloads == [urls[0], urls[1], urls[2], urls[0]]  # s0 was evicted, s2 kept
    assert len(list((tmp_path / "cache").iterdir())) == 2
    cache.clear()
    assert not (tmp_path / "cache").exists()
