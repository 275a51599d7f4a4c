"""picas_cred(): environment over ~/.picasrc, permission warning, no password leaks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from grid_lrt.client.credentials import DEFAULT_URL, picas_cred
from grid_lrt.shared.errors import ConfigError

ENV = ("PICAS_USR", "PICAS_USR_PWD", "PICAS_DB", "PICAS_URL", "PICASRC")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def write_rc(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / ".picasrc"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_reads_picasrc(tmp_path: Path) -> None:
    write_rc(
        tmp_path, "# mine\nuser=alice\npassword=pa=ss\ndatabase=sksp\nurl=http://127.0.0.1:5984\n"
    )
    creds = picas_cred()
    assert (creds.user, creds.password, creds.database, creds.url) == (
        "alice",
        "pa=ss",
        "sksp",
        "http://127.0.0.1:5984",
    )
    assert creds.sources["user"].endswith(".picasrc")
    assert creds.lines == {"user": 2, "password": 3, "database": 4, "url": 5}


def test_environment_overrides_file_per_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rc(tmp_path, "user=alice\npassword=p1\ndatabase=sksp\n")
    monkeypatch.setenv("PICAS_DB", "other")
    monkeypatch.setenv("PICAS_USR_PWD", "p2")
    creds = picas_cred()
    assert (creds.user, creds.password, creds.database, creds.url) == (
        "alice",
        "p2",
        "other",
        DEFAULT_URL,
    )
    assert creds.sources["database"] == "$PICAS_DB"
    assert creds.lines == {"user": 1}  # the lines of the values the file gave


def test_arguments_override_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PICAS_USR", "env")
    assert picas_cred(usr="arg").user == "arg"


def test_readable_file_warns_and_password_never_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_rc(tmp_path, "user=alice\npassword=s3cret\n", mode=0o644)
    with caplog.at_level(logging.WARNING):
        creds = picas_cred()
    assert "readable by other users" in caplog.text and "chmod 600" in caplog.text
    assert "s3cret" not in caplog.text and "s3cret" not in repr(creds)


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    write_rc(tmp_path, "user=alice\nusername=bob\n")
    with pytest.raises(ConfigError, match=r"\.picasrc, line 2: expected one of user=, password="):
        picas_cred()


def test_seed_attribute_names(tmp_path: Path) -> None:
    write_rc(tmp_path, "user=alice\npassword=x\ndatabase=d\n")
    creds = picas_cred()
    assert (creds.usr, creds.pwd, creds.dbn) == ("alice", "x", "d")


@pytest.mark.parametrize(
    "line",
    [
        "s3cret-Pa$$w0rd",  # the password pasted on a line of its own
        "password: s3cret-Pa$$w0rd",  # YAML habits: no '='
        "pass word s3cret-Pa$$w0rd",
        "s3cret-Pa$$w0rd:x=y",  # a key that is no key
    ],
)
def test_bad_line_never_echoes_a_value(tmp_path: Path, line: str) -> None:
    """Issue 9, finding 11: a malformed line was echoed whole (a password with it)."""
    write_rc(tmp_path, f"user=alice\n{line}\n")
    with pytest.raises(ConfigError) as excinfo:
        picas_cred()
    text = f"{excinfo.value.message} {excinfo.value.hint}"
    assert "line 2" in text and "s3cret" not in text


def test_bad_line_names_an_unknown_key(tmp_path: Path) -> None:
    write_rc(tmp_path, "user=alice\nusername=s3cret\n")
    with pytest.raises(ConfigError) as excinfo:
        picas_cred()
    assert "'username'" in excinfo.value.message and "s3cret" not in excinfo.value.message
