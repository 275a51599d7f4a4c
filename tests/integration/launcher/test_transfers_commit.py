"""Exactly-once results over real WebDAV servers on loopback (issue 9, finding 3).

* The https tape archive (tests/support/tape_archive.py: wsgidav, ``MOVE`` with ``Overwrite``)
  through ``https://`` and ``davs://``, with HttpStorage (builtin, also on Python 3.9) and
  Gfal2Storage (davix): re-runs of the same token replace what an earlier attempt committed,
  keep identical content, refuse another token's file (33), and a lost token stores nothing.
* A plain-http wsgidav that answers ``405`` to ``MOVE`` (a web server that takes PUT but
  cannot rename): the best effort, results uploaded again under their final names.

The token is a dict; ``commit`` writes ``results_commit`` into it as the run loop does.
"""

from __future__ import annotations

import logging
import tarfile
import threading
import uuid
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Tuple

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.storage import Storage, clear_cache, storage_for
from grid_lrt.launcher.upload import upload_results
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.pool import TokenLostError
from tests.support.archive_server import running_archive

StorageFor = Callable[[str], Storage]
Commit = Callable[[List[str]], None]
_Start = Callable[..., Any]
_App = Callable[[Dict[str, Any], _Start], Iterable[bytes]]


def _no_sleep(seconds: float) -> None:
    del seconds


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One https tape archive for the module (it needs no gfal2: HttpStorage runs on 3.9)."""
    with running_archive(tmp_path_factory.mktemp("archive"), delay=1.0) as server:
        yield server


@pytest.fixture(
    params=[
        "builtin-https",
        "builtin-davs",
        pytest.param("gfal2-https", marks=pytest.mark.gfal2),
        pytest.param("gfal2-davs", marks=pytest.mark.gfal2),
    ]
)
def dav(
    request: pytest.FixtureRequest, archive: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Tuple[StorageFor, str, Path]]:
    """``(storage_for, folder URL, folder on disk)``: a fresh folder on the archive."""
    backend, scheme = str(request.param).split("-")
    if backend == "gfal2":
        request.getfixturevalue("gfal2_module")
    for name, value in archive.client_env.items():
        monkeypatch.setenv(name, value)
    folder = f"r-{uuid.uuid4().hex[:12]}"
    (archive.root / folder).mkdir()
    base = archive.url(folder).replace("https://", f"{scheme}://", 1)
    clear_cache()
    yield partial(storage_for, prefer=backend), base, archive.root / folder
    clear_cache()


def _output(tmp_path: Path, summary: bytes = b"results\n") -> Path:
    out = tmp_path / "job" / "Output"
    (out / "plots").mkdir(parents=True, exist_ok=True)
    (out / "summary.txt").write_bytes(summary)
    (out / "plots" / "gains.png").write_bytes(b"\x89PNG" + bytes(range(256)) * 4)
    return out


def _recorder(token: Dict[str, Any], attempt: int) -> Commit:
    def commit(urls: List[str]) -> None:
        token["results_commit"] = {"attempt": attempt, "urls": list(urls)}

    return commit


def _run(
    token: Dict[str, Any],
    output: Path,
    store: StorageFor,
    tmp_path: Path,
    attempt: int,
    commit: Any = None,
) -> str:
    return upload_results(
        token,
        output,
        {},
        storage_for=store,
        workdir=tmp_path / "work",
        attempt=attempt,
        commit=commit or _recorder(token, attempt),
        sleep=_no_sleep,
    )


def _files(root: Path) -> Dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- the tape archive: MOVE on a WebDAV server ---------------------------------------------


def test_v0_rerun_after_a_commit_replaces_the_results(
    dav: Tuple[StorageFor, str, Path], tmp_path: Path
) -> None:
    store, base, root = dav
    token: Dict[str, Any] = {"_id": "t_1", "RESULTS_DIR": base, "results_commit": {}}
    assert _run(token, _output(tmp_path), store, tmp_path, attempt=1) == base
    assert token["results_commit"] == {
        "attempt": 1,
        "urls": [f"{base}/plots/gains.png", f"{base}/summary.txt"],
    }
    # The closing write never landed; the token runs again, with other results.
    assert _run(token, _output(tmp_path, b"second run\n"), store, tmp_path, attempt=2) == base
    assert sorted(_files(root)) == ["plots/gains.png", "summary.txt"]  # no temporary left
    assert _files(root)["summary.txt"] == b"second run\n"
    assert token["results_commit"]["attempt"] == 2


def test_v1_rerun_identical_then_another_tokens_tarball(
    dav: Tuple[StorageFor, str, Path], tmp_path: Path
) -> None:
    store, base, root = dav
    upload = {"location": base, "template": "res", "gzip": True}
    token: Dict[str, Any] = {"_id": "t_1", "upload": upload, "results_commit": {}}
    output = _output(tmp_path)
    assert _run(token, output, store, tmp_path, attempt=1) == f"{base}/res.tar.gz"
    first = (root / "res.tar.gz").read_bytes()
    assert _run(token, output, store, tmp_path, attempt=2) == f"{base}/res.tar.gz"  # identical
    assert sorted(_files(root)) == ["res.tar.gz"]
    (output / "summary.txt").write_bytes(b"third run\n")
    assert _run(token, output, store, tmp_path, attempt=3) == f"{base}/res.tar.gz"  # replaced
    with tarfile.open(root / "res.tar.gz") as tar:
        member = tar.extractfile("summary.txt")
        assert member is not None and member.read() == b"third run\n"
    replaced = (root / "res.tar.gz").read_bytes()
    assert replaced != first

    other: Dict[str, Any] = {"_id": "t_2", "upload": upload, "results_commit": {}}
    (output / "summary.txt").write_bytes(b"another token\n")
    with pytest.raises(TokenFailure) as excinfo:
        _run(other, output, store, tmp_path, attempt=1)
    assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
    assert "res.tar.gz" in excinfo.value.message
    assert (root / "res.tar.gz").read_bytes() == replaced
    assert sorted(_files(root)) == ["res.tar.gz"]


def test_token_lost_at_the_commit_stores_nothing(
    dav: Tuple[StorageFor, str, Path], tmp_path: Path
) -> None:
    store, base, root = dav
    token: Dict[str, Any] = {"_id": "t_1", "RESULTS_DIR": base, "results_commit": {}}

    def lost(urls: List[str]) -> None:
        raise TokenLostError("token t_1 is no longer ours")

    with pytest.raises(TokenLostError):
        _run(token, _output(tmp_path), store, tmp_path, 1, lost)
    assert _files(root) == {}


def test_credentials_stay_out_of_the_token(
    dav: Tuple[StorageFor, str, Path], tmp_path: Path
) -> None:
    store, base, root = dav
    secret = base.replace("://", "://alice:s3cret@", 1)
    token: Dict[str, Any] = {"_id": "t_1", "upload": {"location": secret, "template": "res"}}
    location = _run(token, _output(tmp_path), store, tmp_path, attempt=1)
    assert location == base.replace("://", "://***@", 1) + "/res.tar"
    assert token["results_commit"]["urls"] == [f"{base}/res.tar"]
    assert sorted(_files(root)) == ["res.tar"]


# ---- a server that cannot MOVE: the best effort ---------------------------------------------


def _no_move(app: _App) -> _App:
    """405 Method Not Allowed for every MOVE; the rest is real WebDAV."""

    def middleware(env: Dict[str, Any], start: _Start) -> Iterable[bytes]:
        if env["REQUEST_METHOD"] == "MOVE":
            start("405 Method Not Allowed", [("Content-Length", "0"), ("Allow", "GET, PUT")])
            return [b""]
        return app(env, start)

    return middleware


@pytest.fixture
def no_move_dav(tmp_path: Path) -> Iterator[Tuple[str, Path]]:
    """A plain-http WebDAV server on 127.0.0.1 that cannot rename: ``(URL, folder)``."""
    cheroot_wsgi = pytest.importorskip("cheroot.wsgi")
    wsgidav_app = pytest.importorskip("wsgidav.wsgidav_app")
    root = tmp_path / "dav"
    root.mkdir()
    config = {
        "host": "127.0.0.1",
        "port": 0,
        "provider_mapping": {"/": str(root)},
        "verbose": 1,
        "logging": {"enable": False, "enable_loggers": []},
        "http_authenticator": {"domain_controller": None},
        "simple_dc": {"user_mapping": {"*": True}},
    }
    server = cheroot_wsgi.Server(("127.0.0.1", 0), _no_move(wsgidav_app.WsgiDAVApp(config)))
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}", root
    finally:
        server.stop()
        thread.join(timeout=5)


@pytest.fixture(params=["builtin", pytest.param("gfal2", marks=pytest.mark.gfal2)])
def any_store(request: pytest.FixtureRequest) -> Iterator[StorageFor]:
    if request.param == "gfal2":
        request.getfixturevalue("gfal2_module")
    clear_cache()
    yield partial(storage_for, prefer=request.param)
    clear_cache()


def test_without_move_results_are_uploaded_again_under_their_names(
    no_move_dav: Tuple[str, Path],
    any_store: StorageFor,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base, root = no_move_dav
    caplog.set_level(logging.INFO, logger="grid_lrt.launcher.upload")
    token: Dict[str, Any] = {"_id": "t_1", "RESULTS_DIR": base, "results_commit": {}}
    assert _run(token, _output(tmp_path), any_store, tmp_path, attempt=1) == base
    assert _files(root) == {
        "plots/gains.png": b"\x89PNG" + bytes(range(256)) * 4,
        "summary.txt": b"results\n",
    }
    assert any("best effort" in r.getMessage() for r in caplog.records)
    # A re-run replaces what attempt 1 committed; another token's file is still refused.
    _run(token, _output(tmp_path, b"second run\n"), any_store, tmp_path, attempt=2)
    assert _files(root)["summary.txt"] == b"second run\n"
    assert sorted(_files(root)) == ["plots/gains.png", "summary.txt"]
    other: Dict[str, Any] = {"_id": "t_2", "RESULTS_DIR": base, "results_commit": {}}
    with pytest.raises(TokenFailure) as excinfo:
        _run(other, _output(tmp_path, b"another token\n"), any_store, tmp_path, attempt=1)
    assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
    assert _files(root)["summary.txt"] == b"second run\n"
    assert sorted(_files(root)) == ["plots/gains.png", "summary.txt"]
