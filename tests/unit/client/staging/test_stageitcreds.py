"""StageIT credentials (issue 11): ~/.stagingrc api_token=/hostname=, LOFAR_LTA_TOKEN/HOST, the
service the credentials select (a token: StageIT; else user/password: the XML-RPC stager), and
no token in any message, log line or repr."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from grid_lrt.client.staging import services
from grid_lrt.client.staging.base import StagingError
from grid_lrt.client.staging.lta import LtaStager
from grid_lrt.client.staging.ltacreds import LtaCredentialsError
from grid_lrt.client.staging.stageit import StageItStager
from grid_lrt.client.staging.stageitcreds import (
    DEFAULT_HOST,
    NoStagingCredentialsError,
    StageItCredentialsError,
    choose_service,
    decide_service,
    find_stageit_creds,
    get_stageit_creds,
)

TOKEN = "tok-3f9a1c77e0b24d5a"
PASSWORD = "lta-Pw-9xq"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in (
        "LOFAR_LTA_USER",
        "LOFAR_LTA_PWD",
        "LOFAR_LTA_TOKEN",
        "LOFAR_LTA_HOST",
        "LRT_STAGEIT_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def rc(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / ".stagingrc"
    path.write_text(text)
    path.chmod(mode)
    return path


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def test_stagingrc_token_and_hostname(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = rc(home, f"api_token={TOKEN}\nhostname=sdc-dev.astron.nl:8443\n")
    with caplog.at_level(logging.DEBUG):
        creds = get_stageit_creds()
    assert (creds.token, creds.host, creds.source) == (TOKEN, "sdc-dev.astron.nl:8443", str(path))
    assert (creds.host_source, dict(creds.lines)) == (str(path), {"api_token": 1, "hostname": 2})
    assert TOKEN not in repr(creds) and TOKEN not in logged(caplog)


def test_stagingrc_default_host_and_ini_spelling(home: Path) -> None:
    rc(home, f"# StageIT\n\napi_token = {TOKEN}\n")
    creds = get_stageit_creds()
    assert (creds.token, creds.host) == (TOKEN, DEFAULT_HOST) and DEFAULT_HOST == "sdc.astron.nl"
    rc(home, f"API_TOKEN: {TOKEN}\n")
    assert get_stageit_creds().token == TOKEN


def test_environment_variables(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOFAR_LTA_TOKEN", TOKEN)
    creds = get_stageit_creds()
    assert (creds.token, creds.host, creds.source) == (TOKEN, DEFAULT_HOST, "LOFAR_LTA_TOKEN")
    assert (creds.host_source, dict(creds.lines)) == ("default", {})
    monkeypatch.setenv("LOFAR_LTA_HOST", "sdc-dev.astron.nl")
    assert get_stageit_creds().host == "sdc-dev.astron.nl"


def test_file_before_environment_and_host_from_the_same_place(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOFAR_LTA_TOKEN", "other-token-value")
    monkeypatch.setenv("LOFAR_LTA_HOST", "env.example.org")
    rc(home, f"api_token={TOKEN}\n")
    creds = get_stageit_creds()
    assert (creds.token, creds.host) == (TOKEN, DEFAULT_HOST)
    # explicit arguments win over both
    assert get_stageit_creds("arg-token", "h:1").host == "h:1"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_readable_stagingrc_is_warned_without_the_token(
    home: Path, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    path = rc(home, f"api_token={TOKEN}\n", mode)
    with caplog.at_level(logging.WARNING):
        assert get_stageit_creds().token == TOKEN
    (message,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert f"chmod 600 {path}" in message and "API token" in message and TOKEN not in message


def test_private_stagingrc_is_not_warned(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    rc(home, f"api_token={TOKEN}\n")
    with caplog.at_level(logging.WARNING):
        get_stageit_creds()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_line_that_is_not_key_value_is_named_by_number_only(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rc(home, f"{TOKEN}\napi_token={TOKEN}\n")
    with caplog.at_level(logging.WARNING):
        assert get_stageit_creds().token == TOKEN
    assert "line 1 of" in logged(caplog) and TOKEN not in logged(caplog)


def test_no_token_is_an_error_saying_where_to_get_one(home: Path) -> None:
    assert find_stageit_creds() is None
    rc(home, "api_token=\nhostname=sdc.astron.nl\n")
    with pytest.raises(StageItCredentialsError) as info:
        get_stageit_creds()
    text = str(info.value) + info.value.hint
    for needle in ("SDC portal", "api_token=", "~/.stagingrc", "LOFAR_LTA_TOKEN", "chmod 600"):
        assert needle in text


def test_a_token_selects_stageit(home: Path) -> None:
    rc(home, f"api_token={TOKEN}\nhostname=127.0.0.1:9\n")
    choice = decide_service()
    assert choice.name == "stageit" == choose_service() == services.service_name()
    assert choice.stageit is not None and choice.stageit.host == "127.0.0.1:9"
    assert TOKEN not in repr(choice)
    stager = services.make_stager()
    assert isinstance(stager, StageItStager) and stager.name == "stageit"
    assert TOKEN not in repr(stager)


def test_token_wins_over_user_and_password_in_the_same_file(home: Path) -> None:
    rc(home, f"user=alice\npassword={PASSWORD}\napi_token={TOKEN}\n")
    assert choose_service() == "stageit"


def test_user_password_only_stagingrc_still_selects_xmlrpc(home: Path) -> None:
    """Our choice (ASTRON's 2.0 refuses such a file): both services keep working."""
    rc(home, f"user=alice\npassword={PASSWORD}\n")
    choice = decide_service()
    assert (choice.name, choice.user, choice.password) == ("lta", "alice", PASSWORD)
    assert PASSWORD not in repr(choice)
    stager = services.make_stager()
    assert isinstance(stager, LtaStager) and stager.name == "lta"


def test_environment_user_password_selects_xmlrpc(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOFAR_LTA_USER", "alice")
    monkeypatch.setenv("LOFAR_LTA_PWD", PASSWORD)
    assert services.service_name() == "lta"
    monkeypatch.setenv("LOFAR_LTA_TOKEN", TOKEN)
    assert services.service_name() == "stageit"


def test_no_credentials_at_all_names_both_ways(home: Path) -> None:
    with pytest.raises(NoStagingCredentialsError) as info:
        services.make_stager()
    err = info.value
    assert isinstance(err, StageItCredentialsError) and isinstance(err, LtaCredentialsError)
    assert isinstance(err, StagingError)
    text = str(err) + err.hint
    for needle in ("api_token=", "LOFAR_LTA_TOKEN", "LOFAR_LTA_USER", "Environment.cfg"):
        assert needle in text
