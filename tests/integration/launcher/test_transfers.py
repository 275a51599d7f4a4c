"""Inputs and results over real https WebDAV servers on loopback, with gfal2 and without it.

* ``tape_archive`` (tests/support/tape_archive.py): https WebDAV with ``Want-Digest`` checksums
  and the WLCG Tape REST API; files under ``tape/`` are NEARLINE until staged. gfal2 reads the
  tape state from it; the builtin HttpStorage cannot (plain HTTP has no tape), so the tape
  tests run with gfal2 only.
* ``faulty_dav`` (here): a plain-http wsgidav server whose middleware misbehaves the way real
  storages do: under ``/full/`` every PUT answers 507 Insufficient Storage (dCache's "pools
  full"), under ``/bad/`` the ``Digest`` reply is a wrong adler32 (a damaged replica).
"""

from __future__ import annotations

import io
import logging
import tarfile
import threading
import zlib
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.inputs import fetch_inputs
from grid_lrt.launcher.storage import Storage, clear_cache, storage_for
from grid_lrt.launcher.upload import upload_results
from grid_lrt.shared.errors import ErrorCode

StorageFor = Callable[[str], Storage]
_Start = Callable[..., Any]
_App = Callable[[Dict[str, Any], _Start], Iterable[bytes]]


def _no_sleep(seconds: float) -> None:
    del seconds


def _no_commit(urls: List[str]) -> None:
    del urls


@pytest.fixture(params=[pytest.param("gfal2", marks=pytest.mark.gfal2), "builtin"])
def store(request: pytest.FixtureRequest, gfal2_module: Any) -> Iterator[StorageFor]:
    """``storage_for`` of one backend (both trust the archive through X509_CERT_DIR)."""
    del gfal2_module
    clear_cache()
    yield partial(storage_for, prefer=request.param)
    clear_cache()


@pytest.fixture
def gfal2_store(gfal2_module: Any) -> StorageFor:
    del gfal2_module
    return partial(storage_for, prefer="gfal2")


def _put(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _tar(members: Dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _verified(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records if "verified" in r.getMessage()]


def _output(tmp_path: Path) -> Path:
    out = tmp_path / "job" / "Output"
    _put(out, "summary.txt", b"results\n")
    _put(out, "plots/gains.png", b"\x89PNG" + bytes(range(256)) * 4)
    return out


# ---- downloads from the tape archive ---------------------------------------------------------


def test_download_online_files_verified_by_want_digest(
    tape_archive: Any, store: StorageFor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tape_archive.root
    _put(root, "disk/L1_SB000.dat", bytes(range(256)) * 40)
    _put(root, "disk/L1_SB001.tar", _tar({"L1_SB001.MS/table.f0": b"visibilities"}))
    _put(root, "tape/L1_SB002.dat", b"staged earlier")
    tape_archive.make_online(["tape/L1_SB002.dat"])  # ONLINE_AND_NEARLINE
    text = "\n".join(
        tape_archive.url(p) for p in ("disk/L1_SB000.dat", "disk/L1_SB001.tar", "tape/L1_SB002.dat")
    )
    caplog.set_level(logging.DEBUG, logger="grid_lrt.launcher.inputs")
    statuses: List[str] = []
    input_dir = tmp_path / "Input"
    fetch_inputs(text, input_dir, storage_for=store, parallel=2, on_status=statuses.append)
    assert (input_dir / "L1_SB000.dat").read_bytes() == bytes(range(256)) * 40
    assert (input_dir / "L1_SB001.MS" / "table.f0").read_bytes() == b"visibilities"
    assert not (input_dir / "L1_SB001.tar").exists()
    assert (input_dir / "L1_SB002.dat").read_bytes() == b"staged earlier"
    assert statuses == ["downloading", "extracting"]
    assert len(_verified(caplog)) == 3  # adler32 from the server's Digest header


def test_nearline_files_are_refused_with_22(
    tape_archive: Any, gfal2_store: StorageFor, tmp_path: Path
) -> None:
    root = tape_archive.root
    for i in range(4):
        _put(root, f"tape/L2_SB{i:03d}.dat", b"on tape")
    _put(root, "disk/L2_SB100.dat", b"on disk")
    urls = [tape_archive.url(f"tape/L2_SB{i:03d}.dat") for i in range(4)]
    urls.append(tape_archive.url("disk/L2_SB100.dat"))
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs("\n".join(urls), tmp_path / "Input", storage_for=gfal2_store)
    assert excinfo.value.code is ErrorCode.DATA_NOT_STAGED
    assert "4 of 5" in excinfo.value.message and "and 1 more" in excinfo.value.message
    assert not list((tmp_path / "Input").iterdir())

    # Once staged, the same list downloads.
    tape_archive.make_online([f"tape/L2_SB{i:03d}.dat" for i in range(4)])
    paths = fetch_inputs("\n".join(urls), tmp_path / "Input", storage_for=gfal2_store)
    assert len(paths) == 5


def test_lost_file_is_27(tape_archive: Any, gfal2_store: StorageFor, tmp_path: Path) -> None:
    _put(tape_archive.root, "tape/L3_SB000_lost.dat", b"gone")
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            tape_archive.url("tape/L3_SB000_lost.dat"), tmp_path / "Input", storage_for=gfal2_store
        )
    assert excinfo.value.code is ErrorCode.DATA_LOST


def test_missing_file_is_21(tape_archive: Any, store: StorageFor, tmp_path: Path) -> None:
    sleeps: List[float] = []
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            tape_archive.url("disk/absent.dat"),
            tmp_path / "Input",
            storage_for=store,
            sleep=sleeps.append,
        )
    assert excinfo.value.code is ErrorCode.DOWNLOAD_FAILED
    assert sleeps == []


# ---- uploads to the tape archive (davs:// and https://) -----------------------------------------


@pytest.mark.parametrize("scheme", ["davs", "https"])
def test_v1_upload_verified_by_want_digest(
    tape_archive: Any,
    store: StorageFor,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    scheme: str,
) -> None:
    (tape_archive.root / "results").mkdir(parents=True)
    location = tape_archive.url("results").replace("https://", f"{scheme}://", 1)
    token = {
        "_id": "t_1",
        "upload": {"location": location, "template": "$OBSID/${OBSID}_res", "gzip": True},
    }
    caplog.set_level(logging.DEBUG, logger="grid_lrt.launcher.upload")
    result = upload_results(
        token,
        _output(tmp_path),
        {"OBSID": "L229507"},
        storage_for=store,
        workdir=tmp_path / "work",
        attempt=1,
        commit=_no_commit,
        sleep=_no_sleep,
    )
    assert result == f"{location}/L229507/L229507_res.tar.gz"
    uploaded = tape_archive.root / "results" / "L229507" / "L229507_res.tar.gz"
    with tarfile.open(uploaded) as tar:
        assert tar.getnames() == ["plots/gains.png", "summary.txt"]
    assert len(_verified(caplog)) == 1

    # Another run, with other results, finds the tarball there (no commit of this token
    # names it): 33 without overwrite, and the tarball stays as it was.
    before = uploaded.read_bytes()
    other = _output(tmp_path)
    (other / "summary.txt").write_bytes(b"another run's results\n")
    with pytest.raises(TokenFailure) as excinfo:
        upload_results(
            token,
            other,
            {"OBSID": "L229507"},
            storage_for=store,
            workdir=tmp_path / "work",
            attempt=1,
            commit=_no_commit,
            sleep=_no_sleep,
        )
    assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
    assert uploaded.read_bytes() == before
    assert sorted(p.name for p in uploaded.parent.iterdir()) == ["L229507_res.tar.gz"]


def test_v0_upload_to_davs(
    tape_archive: Any, store: StorageFor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tape_archive.root / "sksp" / "L1").mkdir(parents=True)
    base = tape_archive.url("sksp").replace("https://", "davs://", 1)
    caplog.set_level(logging.DEBUG, logger="grid_lrt.launcher.upload")
    result = upload_results(
        {"RESULTS_DIR": base + "/$OBSID"},
        _output(tmp_path),
        {"OBSID": "L1"},
        storage_for=store,
        workdir=tmp_path / "work",
        attempt=1,
        commit=_no_commit,
        sleep=_no_sleep,
    )
    assert result == base + "/L1"
    assert (tape_archive.root / "sksp" / "L1" / "summary.txt").read_bytes() == b"results\n"
    assert (tape_archive.root / "sksp" / "L1" / "plots" / "gains.png").is_file()
    assert len(_verified(caplog)) == 2


def test_upload_to_missing_folder_is_34(
    tape_archive: Any, store: StorageFor, tmp_path: Path
) -> None:
    with pytest.raises(TokenFailure) as excinfo:
        upload_results(
            {"RESULTS_DIR": tape_archive.url("no/such/folder")},
            _output(tmp_path),
            {},
            storage_for=store,
            workdir=tmp_path / "work",
            attempt=1,
            commit=_no_commit,
            sleep=_no_sleep,
        )
    assert excinfo.value.code is ErrorCode.UPLOAD_NO_PARENT


# ---- a storage that is full or damages data ------------------------------------------------------


def _misbehave(app: _App, root: Path) -> _App:
    """507 on PUT under /full/; a wrong adler32 ``Digest`` under /bad/; else real WebDAV."""

    def middleware(env: Dict[str, Any], start: _Start) -> Iterable[bytes]:
        path = env.get("PATH_INFO", "")
        method = env["REQUEST_METHOD"]
        if path.startswith("/full/") and method == "PUT":
            body = b"All pools are full"
            start(
                "507 Insufficient Storage",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            )
            return [body]
        want = env.get("HTTP_WANT_DIGEST", "")
        local = root / path.lstrip("/")
        if want and method in ("HEAD", "GET") and local.is_file():
            value = zlib.adler32(local.read_bytes()) & 0xFFFFFFFF
            if path.startswith("/bad/"):
                value ^= 0x5A5A5A5A

            def start_with_digest(status: str, headers: Any, exc: Any = None) -> Any:
                return start(status, [*headers, ("Digest", f"adler32={value:08x}")], exc)

            return app(env, start_with_digest)
        return app(env, start)

    return middleware


@pytest.fixture
def faulty_dav(tmp_path: Path) -> Iterator[Dict[str, Any]]:
    """A plain-http WebDAV server on 127.0.0.1 with the misbehaviour of :func:`_misbehave`."""
    cheroot_wsgi = pytest.importorskip("cheroot.wsgi")
    wsgidav_app = pytest.importorskip("wsgidav.wsgidav_app")
    root = tmp_path / "dav"
    for folder in ("full", "bad", "good"):
        (root / folder).mkdir(parents=True)
    config = {
        "host": "127.0.0.1",
        "port": 0,
        "provider_mapping": {"/": str(root)},
        "verbose": 1,
        "logging": {"enable": False, "enable_loggers": []},
        "http_authenticator": {"domain_controller": None},
        "simple_dc": {"user_mapping": {"*": True}},
    }
    app = _misbehave(wsgidav_app.WsgiDAVApp(config), root)
    server = cheroot_wsgi.Server(("127.0.0.1", 0), app)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.bind_addr[1]}", "root": root}
    finally:
        server.stop()
        thread.join(timeout=5)


@pytest.fixture(params=[pytest.param("gfal2", marks=pytest.mark.gfal2), "builtin"])
def any_store(request: pytest.FixtureRequest) -> Iterator[StorageFor]:
    """``storage_for`` of one backend; gfal2 only where the bindings exist."""
    if request.param == "gfal2":
        request.getfixturevalue("gfal2_module")
    clear_cache()
    yield partial(storage_for, prefer=request.param)
    clear_cache()


def test_pools_full_is_32_after_retries(
    faulty_dav: Dict[str, Any], any_store: StorageFor, tmp_path: Path
) -> None:
    sleeps: List[float] = []
    with pytest.raises(TokenFailure) as excinfo:
        upload_results(
            {"upload": {"location": faulty_dav["url"] + "/full", "template": "res"}},
            _output(tmp_path),
            {},
            storage_for=any_store,
            workdir=tmp_path / "work",
            attempt=1,
            commit=_no_commit,
            backoff=0.5,
            sleep=sleeps.append,
        )
    assert excinfo.value.code is ErrorCode.UPLOAD_POOLS_FULL
    assert sleeps == [0.5, 1.0]
    assert not (faulty_dav["root"] / "full" / "res.tar").exists()


def test_damaged_upload_is_35_after_one_more_upload(
    faulty_dav: Dict[str, Any], any_store: StorageFor, tmp_path: Path
) -> None:
    with pytest.raises(TokenFailure) as excinfo:
        upload_results(
            {"upload": {"location": faulty_dav["url"] + "/bad", "template": "res"}},
            _output(tmp_path),
            {},
            storage_for=any_store,
            workdir=tmp_path / "work",
            attempt=1,
            commit=_no_commit,
            sleep=_no_sleep,
        )
    assert excinfo.value.code is ErrorCode.UPLOAD_CHECKSUM_MISMATCH
    assert "after two uploads" in excinfo.value.message


def test_good_upload_to_plain_http_dav(
    faulty_dav: Dict[str, Any], any_store: StorageFor, tmp_path: Path
) -> None:
    location = upload_results(
        {"upload": {"location": faulty_dav["url"] + "/good", "template": "res"}},
        _output(tmp_path),
        {},
        storage_for=any_store,
        workdir=tmp_path / "work",
        attempt=1,
        commit=_no_commit,
        sleep=_no_sleep,
    )
    assert location == faulty_dav["url"] + "/good/res.tar"
    assert (faulty_dav["root"] / "good" / "res.tar").is_file()


def test_damaged_replica_download_is_24(
    faulty_dav: Dict[str, Any], any_store: StorageFor, tmp_path: Path
) -> None:
    _put(faulty_dav["root"], "bad/L4_SB000.dat", bytes(range(256)) * 10)
    with pytest.raises(TokenFailure) as excinfo:
        fetch_inputs(
            faulty_dav["url"] + "/bad/L4_SB000.dat", tmp_path / "Input", storage_for=any_store
        )
    assert excinfo.value.code is ErrorCode.CHECKSUM_MISMATCH
    assert not (tmp_path / "Input" / "L4_SB000.dat").exists()
