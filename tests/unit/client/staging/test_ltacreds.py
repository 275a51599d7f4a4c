"""LTA credential files are checked like ~/.picasrc (issue 9, finding 11): a file that other
users can read is warned about, with the chmod that fixes it, and never with the password."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from grid_lrt.client.staging.ltacreds import LtaLogin, get_staging_creds, lookup_staging_creds

SECRET = "lta-Pw-9xq"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("LOFAR_LTA_USER", "LOFAR_LTA_PWD"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def write(path: Path, text: str, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_stagingrc_readable_by_others_is_warned(
    home: Path, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    rc = write(home / ".stagingrc", f"user=alice\npassword={SECRET}\n", mode)
    with caplog.at_level(logging.WARNING):
        assert get_staging_creds() == ("alice", SECRET)
    (message,) = warnings(caplog)
    assert str(rc) in message and f"chmod 600 {rc}" in message and SECRET not in message


def test_awe_environment_readable_by_others_is_warned(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = home / ".awe" / "Environment.cfg"
    write(cfg, f"database_user : alice\ndatabase_password : {SECRET}\n", 0o644)
    with caplog.at_level(logging.WARNING):
        assert get_staging_creds() == ("alice", SECRET)
    (message,) = warnings(caplog)
    assert f"chmod 600 {cfg}" in message and SECRET not in message


def test_private_files_give_no_warning(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(home / ".stagingrc", f"user=alice\npassword={SECRET}\n", 0o600)
    with caplog.at_level(logging.WARNING):
        assert get_staging_creds() == ("alice", SECRET)
    assert warnings(caplog) == []


def test_lookup_says_where_the_login_came_from(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rc = write(home / ".stagingrc", f"# LTA\nuser=alice\n\npassword={SECRET}\n", 0o600)
    assert lookup_staging_creds() == LtaLogin("alice", SECRET, source=str(rc), lines=(2, 4))
    assert SECRET not in repr(lookup_staging_creds())
    rc.unlink()
    monkeypatch.setenv("LOFAR_LTA_USER", "bob")
    monkeypatch.setenv("LOFAR_LTA_PWD", SECRET)
    login = lookup_staging_creds()
    assert (login.user, login.source, login.lines) == (
        "bob",
        "LOFAR_LTA_USER/LOFAR_LTA_PWD",
        (0, 0),
    )
