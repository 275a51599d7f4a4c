"""Macaroons on the wire: both backends against the real https tape archive on loopback.

Archive ``door`` checks macaroons (``client.devtools.macaroons``, as the StageIT simulator mints
them); archive ``other`` is another host (``localhost`` instead of ``127.0.0.1``, another port)
that records what it is sent. Real gfal2 (http plugin, davix) and real ``requests``; no mocks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest

from grid_lrt.launcher.storage import DestinationNotAccessibleError, Storage
from grid_lrt.launcher.storage.bearer import FRESH_HINT, MacaroonExpiredError, install
from grid_lrt.launcher.storage.http import HttpStorage
from grid_lrt.shared.credentials import Macaroon
from grid_lrt.shared.redact import forget_secrets
from tests.support.archive_server import running_archive
from tests.support.macaroon_kit import mint_for, put_file, trust_all

SECRET = b"door-secret-for-tests"
PATH = "/pnfs/grid.sara.nl/data/lofar/ops/projects/lc0_012/229507/L229507_SB000_uv.MS.tar"
DATA = b"visibilities\n" * 4096
BACKENDS = ["builtin", pytest.param("gfal2", marks=pytest.mark.gfal2)]


def _token(path: str = "/pnfs/grid.sara.nl/data/lofar/ops") -> str:
    return mint_for(SECRET, path)


@pytest.fixture
def archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tuple[Any, Any]]:
    """(door, other): the door checks macaroons; other is another host that checks nothing."""
    put_file(tmp_path / "door", PATH, DATA)
    put_file(tmp_path / "other", PATH, DATA)
    with (
        running_archive(tmp_path / "other", delay=0.1) as other,
        running_archive(tmp_path / "door", delay=0.1, macaroon_secret=SECRET) as door,
    ):
        monkeypatch.setenv("X509_CERT_DIR", str(trust_all(tmp_path / "ca", [door, other])))
        try:
            yield door, other
        finally:
            install(())
            forget_secrets()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Storage:
    if request.param == "gfal2":
        request.getfixturevalue("gfal2_module")
        from grid_lrt.launcher.storage.gfal import Gfal2Storage

        return Gfal2Storage()
    return HttpStorage(retries=0)


def _other_host(archive: Any) -> str:
    return archive.base_url.replace("127.0.0.1", "localhost")


def test_a_valid_macaroon_reads_the_file(
    archives: Tuple[Any, Any], backend: Storage, tmp_path: Path
) -> None:
    door, _other = archives
    token = _token()
    install([Macaroon(door.base_url, time.time() + 3600, token)])
    backend.download(door.base_url + PATH, tmp_path / "f.tar")
    assert (tmp_path / "f.tar").read_bytes() == DATA
    assert backend.checksum(door.base_url + PATH) is not None
    assert door.refusals == []
    reads = [auth for method, _path, auth in door.seen if method in ("GET", "HEAD")]
    assert reads and all(auth == f"Bearer {token}" for auth in reads)


def test_without_a_macaroon_the_door_refuses(
    archives: Tuple[Any, Any], backend: Storage, tmp_path: Path
) -> None:
    door, _other = archives
    with pytest.raises(DestinationNotAccessibleError):
        backend.download(door.base_url + PATH, tmp_path / "f.tar")
    assert not (tmp_path / "f.tar").exists()
    assert door.refusals and door.refusals[0][2] == "no macaroon"


def test_a_refused_macaroon_says_so(
    archives: Tuple[Any, Any], backend: Storage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    door, _other = archives
    token = _token(path="/pnfs/grid.sara.nl/data/lofar/other-project")
    install([Macaroon(door.base_url, time.time() + 3600, token)])
    with pytest.raises(DestinationNotAccessibleError) as info:
        backend.download(door.base_url + PATH, tmp_path / "f.tar")
    assert f"the door refused the macaroon for {door.base_url}" in info.value.message
    assert info.value.hint == FRESH_HINT
    assert "does not cover" in door.refusals[0][2]
    assert token not in info.value.message + caplog.text + repr(door.refusals)


def test_an_expired_macaroon_is_refused_before_any_request(
    archives: Tuple[Any, Any], backend: Storage, tmp_path: Path
) -> None:
    door, _other = archives
    install([Macaroon(door.base_url, time.time() - 1, _token())])
    with pytest.raises(MacaroonExpiredError) as info:
        backend.download(door.base_url + PATH, tmp_path / "f.tar")
    assert f"the macaroon for {door.base_url} expired at" in info.value.message
    assert door.seen == []


def test_another_host_never_gets_it(
    archives: Tuple[Any, Any], backend: Storage, tmp_path: Path
) -> None:
    door, other = archives
    install([Macaroon(door.base_url, time.time() + 3600, _token())])
    for base in (other.base_url, _other_host(other)):
        backend.download(base + PATH, tmp_path / "f.tar")
        assert (tmp_path / "f.tar").read_bytes() == DATA
    assert other.seen and all(auth is None for _m, _p, auth in other.seen)


@pytest.mark.parametrize(
    "kind",
    [
        "builtin",
        pytest.param(
            "gfal2",
            marks=[
                pytest.mark.gfal2,
                pytest.mark.xfail(
                    strict=True,
                    reason="gfal2's http plugin lets davix follow redirects, and davix sends the "
                    "operation's headers (the Bearer) again on every hop",
                ),
            ],
        ),
    ],
)
def test_a_redirect_to_another_host_does_not_take_it_along(
    archives: Tuple[Any, Any], tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    door, other = archives
    door.redirect_base = _other_host(other)  # as a dCache door sends its client to a pool
    storage: Storage = HttpStorage(retries=0)
    if kind == "gfal2":
        request.getfixturevalue("gfal2_module")
        from grid_lrt.launcher.storage.gfal import Gfal2Storage

        storage = Gfal2Storage()
    token = _token()
    install([Macaroon(door.base_url, time.time() + 3600, token)])
    storage.download(door.base_url + PATH, tmp_path / "f.tar")
    assert (tmp_path / "f.tar").read_bytes() == DATA
    assert any(auth == f"Bearer {token}" for _m, _p, auth in door.seen)
    assert other.seen and all(auth is None for _m, _p, auth in other.seen)
