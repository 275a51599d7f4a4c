"""How ``lrt`` reaches the database (issue 9, findings 11 and 14): a broken URL is a message,
not "a bug in grid-lrt"; credentials never ride in ``--url`` (argv is visible in ``ps`` and the
shell history); credentials sent over plain http to another machine are warned about once."""

from __future__ import annotations

import argparse
import logging

import pytest

from grid_lrt.client.cli import connect
from grid_lrt.client.cli.main import main
from tests.integration.client.conftest import CliEnv

SECRET = "pw-Zq8-secret"


@pytest.mark.parametrize("url", ["http://[::1", "http://host:99999", "http://[::1]:x/"])
def test_a_malformed_url_is_a_clear_error(
    cli_env: CliEnv, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "status", "x", "--url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --url ") and "not a valid server URL" in err
    assert "unexpected" not in err and "bug in grid-lrt" not in err


def test_a_malformed_picas_url_names_its_source(
    cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PICAS_URL", f"http://alice:{SECRET}@[::1")
    assert main(["tokens", "status", "x"]) == 2
    err = capsys.readouterr().err
    assert "$PICAS_URL" in err and "not a valid server URL" in err
    assert SECRET not in err and "unexpected" not in err


@pytest.mark.parametrize("userinfo", [f"admin:{SECRET}@", "admin@", f":{SECRET}@"])
def test_credentials_in_url_are_refused(
    cli_env: CliEnv, userinfo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = cli_env.server.url.replace("http://", f"http://{userinfo}")
    assert main(["tokens", "status", "x", "--url", url]) == 2
    err = capsys.readouterr().err
    assert "--url must not hold a user name or password" in err
    assert "PICAS_USR" in err and "PICAS_USR_PWD" in err and "~/.picasrc" in err
    assert SECRET not in err


def namespace(url: str) -> argparse.Namespace:
    return argparse.Namespace(url=url, db="x")


def test_plain_http_with_credentials_to_another_host_is_warned_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: object
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PICAS_USR", "alice")
    monkeypatch.setenv("PICAS_USR_PWD", SECRET)
    args = namespace("http://picas.example.org:5984")
    with caplog.at_level(logging.WARNING):
        connect.database(args)
        connect.database(args)  # the same command asks again: no second warning
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "plain http" in warnings[0] and "picas.example.org" in warnings[0]
    assert "https://" in warnings[0] and SECRET not in warnings[0]


@pytest.mark.parametrize(
    ("url", "user"),
    [
        ("https://picas.example.org:6984", "alice"),
        ("http://127.0.0.1:5984", "alice"),
        ("http://localhost:5984", "alice"),
        ("http://[::1]:5984", "alice"),
        ("http://picas.example.org:5984", ""),
    ],
)
def test_no_warning_for_https_loopback_or_no_credentials(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: object,
    url: str,
    user: str,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PICAS_USR", user)
    monkeypatch.setenv("PICAS_USR_PWD", SECRET if user else "")
    with caplog.at_level(logging.WARNING):
        connect.database(namespace(url))
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
