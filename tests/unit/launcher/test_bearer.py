"""Which URL gets which macaroon, and the expired ones refused before any request (code 21)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, List

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.inputs import fetch_inputs
from grid_lrt.launcher.storage import Storage
from grid_lrt.launcher.storage.bearer import (
    FRESH_HINT,
    MacaroonExpiredError,
    auth_header,
    install,
    installed,
    macaroon_for,
)
from grid_lrt.launcher.storage.gfal_context import door_prefixes
from grid_lrt.shared.credentials import Macaroon
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.redact import forget_secrets, redact

DOOR = "https://door.example:2880"
FUTURE = 4102444800.0  # 2100-01-01
PAST = 1700000000.0  # 2023-11-14T22:13:20Z


@pytest.fixture(autouse=True)
def no_macaroons() -> Iterator[None]:
    yield
    install(())
    forget_secrets()


def test_the_longest_door_wins_then_the_one_valid_longest() -> None:
    site = Macaroon(DOOR, FUTURE, "tok-site")
    deeper = Macaroon(DOOR + "/pnfs/lofar", FUTURE - 10, "tok-deeper")
    newer = Macaroon(DOOR + "/pnfs/lofar", FUTURE, "tok-newer")
    ms = [site, deeper, newer]
    assert macaroon_for(DOOR + "/pnfs/lofar/f.tar", ms) is newer
    assert macaroon_for(DOOR + "/other/f.tar", ms) is site
    assert macaroon_for("https://elsewhere.example:2880/pnfs/lofar/f.tar", ms) is None


def test_auth_header_per_url_and_install_registers_secrets() -> None:
    install([Macaroon(DOOR, FUTURE, "tok-secret-1")])
    assert installed()[0].door == DOOR
    assert auth_header(DOOR + "/a") == {"Authorization": "Bearer tok-secret-1"}
    assert auth_header("https://other.example/a") == {}
    assert "tok-secret-1" not in redact("sent tok-secret-1")


def test_an_expired_macaroon_is_refused() -> None:
    install([Macaroon(DOOR, PAST, "tok-secret-2")])
    with pytest.raises(MacaroonExpiredError) as info:
        auth_header(DOOR + "/pnfs/f")
    assert f"the macaroon for {DOOR} expired at 2023-11-14T22:13:20Z" in info.value.message
    assert info.value.hint == FRESH_HINT
    assert "lrt stage macaroons ID" in FRESH_HINT and "resubmit" in FRESH_HINT


def test_fetch_inputs_refuses_an_expired_macaroon_before_any_request(tmp_path: Path) -> None:
    install([Macaroon(DOOR, PAST, "tok-secret-3")])
    asked: List[str] = []

    def storage_for(url: str) -> Storage:
        asked.append(url)
        raise AssertionError("no adapter may be asked for")

    srm = f"{DOOR}/pnfs/lofar/L1_SB000.MS.tar\n"
    with pytest.raises(TokenFailure) as info:
        fetch_inputs(srm, tmp_path / "Input", storage_for=storage_for)
    assert info.value.code is ErrorCode.DOWNLOAD_FAILED
    assert f"the macaroon for {DOOR} expired at" in info.value.message
    assert "lrt stage macaroons ID" in info.value.hint
    assert asked == []


def test_gfal2_gets_both_spellings_of_a_door() -> None:
    assert door_prefixes("https://h:2880/pnfs/") == ["https://h:2880/pnfs", "davs://h:2880/pnfs"]
    assert door_prefixes("http://h") == ["http://h", "dav://h"]
