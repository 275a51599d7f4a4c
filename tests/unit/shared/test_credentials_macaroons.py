"""``macaroon=`` lines of the credentials file: parsed into Macaroon, hidden, refused by number."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import pytest

from grid_lrt.shared.credentials import Macaroon, picas_cred
from grid_lrt.shared.errors import ConfigError
from grid_lrt.shared.redact import forget_secrets, redact

TOKEN = "MDAxY2xvY2F0aW9uIGxyd-test_macaroon.AbC="
OTHER = "MDAyOWlkZW50aWZpZXIgc2Vjb25kLXNpdGU"
DOOR = "https://webdav.grid.surfsara.nl:2880"


@pytest.fixture(autouse=True)
def rc_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for name in ("PICAS_USR", "PICAS_USR_PWD", "PICAS_DB", "PICAS_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "lrt-credentials"
    monkeypatch.setenv("PICASRC", str(path))
    yield path
    forget_secrets()


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def test_repeated_macaroon_lines_are_parsed(rc_file: Path) -> None:
    _write(
        rc_file,
        "user=alice\npassword=pw12345\ndatabase=sksp\n"
        f"macaroon={DOOR} 2026-12-02T14:00:00Z {TOKEN}\n"
        "macaroon=https://lofar-download.grid.surfsara.nl/pnfs/ "
        f"2026-12-03T00:00:00.5+00:00 {OTHER}\n",
    )
    creds = picas_cred()
    assert creds.user == "alice"
    first, second = creds.macaroons
    assert (first.door, first.valid_until, first.token) == (DOOR, 1796220000.0, TOKEN)
    assert first.valid_until_text == "2026-12-02T14:00:00Z"
    assert (second.door, second.valid_until) == (
        "https://lofar-download.grid.surfsara.nl/pnfs",
        1796256000.5,
    )
    assert second.token == OTHER


def test_repr_hides_the_macaroon(rc_file: Path) -> None:
    _write(rc_file, f"macaroon={DOOR} 2026-12-02T14:00:00Z {TOKEN}\n")
    creds = picas_cred()
    for text in (repr(creds), repr(creds.macaroons), str(creds.macaroons[0])):
        assert TOKEN not in text
    assert "2026-12-02T14:00:00Z" in repr(creds.macaroons[0])


def test_a_macaroon_is_a_registered_secret_once_read(rc_file: Path) -> None:
    _write(rc_file, f"macaroon={DOOR} 2026-12-02T14:00:00Z {TOKEN}\n")
    picas_cred()
    assert redact(f"GET {DOOR}/x?authz={TOKEN} failed") == f"GET {DOOR}/x?authz=*** failed"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (f"{DOOR} {TOKEN}", "2 fields, not 3"),
        (f"{DOOR} 2026-12-02T14:00:00Z {TOKEN} extra", "4 fields"),
        (f"srm://srm.grid.sara.nl:8443 2026-12-02T14:00:00Z {TOKEN}", "not an http"),
        (f"https://u:p@host 2026-12-02T14:00:00Z {TOKEN}", "without user"),
        (f"{DOOR} 2026-12-02 {TOKEN}", "not ISO 8601 UTC"),
        (f"{DOOR} 2026-12-02T14:00:00+01:00 {TOKEN}", "not ISO 8601 UTC"),
        (f"{DOOR} 2026-12-02T14:00:00 {TOKEN}", "not ISO 8601 UTC"),
        (f"{DOOR} 2026-12-02T14:00:00Z {TOKEN}\x7f", "characters"),
    ],
)
def test_a_malformed_line_is_described_by_number_never_shown(
    rc_file: Path, value: str, why: str
) -> None:
    _write(rc_file, f"user=alice\n\nmacaroon={value}\n")
    with pytest.raises(ConfigError) as info:
        picas_cred()
    text = f"{info.value.message} {info.value.hint}"
    assert "line 3: a malformed macaroon= line" in text
    assert why in text
    assert TOKEN not in text and "u:p" not in text
    assert "lrt stage macaroons" in info.value.hint


def test_other_unknown_keys_are_still_refused(rc_file: Path) -> None:
    _write(rc_file, "user=alice\ntoken=abcdef\n")
    with pytest.raises(ConfigError, match=r"line 2: expected one of .*macaroon=, got the unknown"):
        picas_cred()


def test_no_macaroons_without_lines(rc_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(rc_file, "user=alice\n")
    with caplog.at_level(logging.DEBUG):
        assert picas_cred().macaroons == ()


def test_covers_scheme_host_port_and_path_prefix() -> None:
    m = Macaroon("https://door.example:2880/pnfs/lofar", 0.0, TOKEN)
    assert m.covers("https://door.example:2880/pnfs/lofar/ops/f.tar")
    assert m.covers("davs://DOOR.example:2880/pnfs/lofar/f")
    assert m.covers("https://door.example:2880/pnfs/lofar")
    assert not m.covers("https://door.example:2880/pnfs/lofarx/f")
    assert not m.covers("https://door.example:2881/pnfs/lofar/f")
    assert not m.covers("http://door.example:2880/pnfs/lofar/f")
    assert not m.covers("https://other.example:2880/pnfs/lofar/f")
    assert not m.covers("https://door.example.evil:2880/pnfs/lofar/f")
    assert not m.covers("srm://door.example:2880/pnfs/lofar/f")
    plain = Macaroon("https://door.example", 0.0, TOKEN)
    assert plain.covers("https://door.example:443/any")
    assert not plain.covers("https://door.example:8443/any")


def test_expiry() -> None:
    m = Macaroon(DOOR, 1000.0, TOKEN)
    assert not m.expired(999.0)
    assert m.expired(1000.0)
