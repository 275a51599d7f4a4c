"""The effective settings of `lrt config show` (grid_lrt.client.configview): each value and its
source as the readers find them (environment over ~/.picasrc, --url/--db over both, the
~/.stagingrc token over LOFAR_LTA_TOKEN), and no secret in any of them."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from grid_lrt.client.configview import MASK, Setting, effective_settings

PASSWORD = "picas-Pw-7c1e9a"
TOKEN = "tok-5b8d2f60aa"
LTA_PASSWORD = "lta-Pw-33e0"
MACAROON = "MDAxY2xvY2F0aW9uIGV4YW1wbGUK"


def table(settings: List[Setting]) -> Dict[str, Tuple[Optional[str], str]]:
    return {s.name: (s.value, s.source) for s in settings}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def picasrc(home: Path) -> Path:
    return write(
        home / ".picasrc",
        "# mine\nurl=https://couch.example.org:6984\ndatabase=sksp_dev\n"
        f"user=alice\npassword={PASSWORD}\n",
    )


def test_environment_over_the_file_field_by_field(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picasrc(config_home)
    monkeypatch.setenv("PICAS_DB", "from_env")
    got = table(effective_settings())
    assert got["picas.file"] == ("~/.picasrc", "default")
    assert got["picas.url"] == ("https://couch.example.org:6984", "~/.picasrc line 2")
    assert got["picas.database"] == ("from_env", "env PICAS_DB")
    assert got["picas.user"] == ("alice", "~/.picasrc line 4")
    assert got["picas.password"] == (MASK, "~/.picasrc line 5")


def test_url_and_db_options_over_both(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    picasrc(config_home)
    monkeypatch.setenv("PICAS_URL", "https://env.example.org")
    got = table(effective_settings(url="http://127.0.0.1:5984", db="test"))
    assert got["picas.url"] == ("http://127.0.0.1:5984", "--url")
    assert got["picas.database"] == ("test", "--db")


def test_nothing_set(config_home: Path) -> None:
    got = table(effective_settings())
    assert got["picas.file"] == ("~/.picasrc", "default; no such file")
    assert got["picas.url"] == ("https://picas-lofar.grid.surfsara.nl:6984", "default")
    for name in ("picas.database", "picas.user", "picas.password", "stageit.token"):
        assert got[name] == (None, "not set")
    assert got["staging.service"][0] == "none"
    assert got["stageit.host"] == ("sdc.astron.nl", "default")
    assert got["xmlrpc.user"] == (None, "not set")
    assert got["LRT_STAGE_DIR"] == ("~/.config/grid-lrt", "default")
    assert got["LRT_SUBMIT_DIR"] == ("~/lrt-submissions", "default")
    assert got["LRT_STORAGE"] == ("auto", "default")
    assert got["LRT_LAUNCHER_WHEELS"] == (None, "not set")
    assert "picas.macaroons" not in got


def test_picasrc_variable_and_config_option_name_the_file(
    config_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = write(tmp_path / "elsewhere.rc", "user=bob\n")
    monkeypatch.setenv("PICASRC", str(other))
    got = table(effective_settings())
    assert got["picas.file"] == (str(other), "env PICASRC")
    assert got["picas.user"] == ("bob", f"{other} line 1")
    assert table(effective_settings(config_file=other))["picas.file"] == (str(other), "--config")


def test_lrt_variables_from_the_environment(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRT_STAGE_DIR", "/scratch/stage")
    monkeypatch.setenv("LRT_STORAGE", "builtin")
    got = table(effective_settings())
    assert got["LRT_STAGE_DIR"] == ("/scratch/stage", "env LRT_STAGE_DIR")
    assert got["LRT_STORAGE"] == ("builtin", "env LRT_STORAGE")


def test_stagingrc_token_and_hostname(config_home: Path) -> None:
    write(config_home / ".stagingrc", f"api_token={TOKEN}\n# dev\nhostname=sdc-dev.astron.nl\n")
    got = table(effective_settings())
    assert got["staging.service"] == ("stageit", "an API token is set")
    assert got["staging.file"] == ("~/.stagingrc", "default")
    assert got["stageit.token"] == (MASK, "~/.stagingrc line 1")
    assert got["stageit.host"] == ("sdc-dev.astron.nl", "~/.stagingrc line 3")
    assert got["stageit.url"][0] == "https://sdc-dev.astron.nl/stageit/api/staging/"
    assert got["xmlrpc.user"][0] is None
    assert "API token" in got["xmlrpc.user"][1]


def test_token_from_the_environment(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOFAR_LTA_TOKEN", TOKEN)
    monkeypatch.setenv("LOFAR_LTA_HOST", "sdc-test.astron.nl")
    got = table(effective_settings())
    assert got["stageit.token"] == (MASK, "env LOFAR_LTA_TOKEN")
    assert got["stageit.host"] == ("sdc-test.astron.nl", "env LOFAR_LTA_HOST")


@pytest.mark.parametrize(
    ("where", "text", "source"),
    [
        (".stagingrc", f"user=ltauser\npassword={LTA_PASSWORD}\n", "~/.stagingrc line {}"),
        (
            ".awe/Environment.cfg",
            f"database_user : ltauser\ndatabase_password : {LTA_PASSWORD}\n",
            "~/.awe/Environment.cfg line {}",
        ),
    ],
)
def test_xmlrpc_login_from_a_file(config_home: Path, where: str, text: str, source: str) -> None:
    write(config_home / where, text)
    got = table(effective_settings())
    assert got["staging.service"][0] == "xmlrpc"
    assert got["xmlrpc.user"] == ("ltauser", source.format(1))
    assert got["xmlrpc.password"] == (MASK, source.format(2))


def test_xmlrpc_login_from_the_environment(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOFAR_LTA_USER", "ltauser")
    monkeypatch.setenv("LOFAR_LTA_PWD", LTA_PASSWORD)
    got = table(effective_settings())
    assert got["xmlrpc.user"] == ("ltauser", "env LOFAR_LTA_USER")
    assert got["xmlrpc.password"] == (MASK, "env LOFAR_LTA_PWD")


def test_no_secret_in_any_setting(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        config_home / ".picasrc",
        f"url=https://alice:{PASSWORD}@couch.example.org\npassword={PASSWORD}\n"
        f"macaroon=https://webdav.example.org:2880 2099-01-01T00:00:00Z {MACAROON}\n",
    )
    write(config_home / ".stagingrc", f"api_token={TOKEN}\n")
    monkeypatch.setenv("LOFAR_LTA_PWD", LTA_PASSWORD)
    settings = effective_settings()
    text = repr(settings) + "".join(f"{s.name}{s.value}{s.source}" for s in settings)
    for secret in (PASSWORD, TOKEN, LTA_PASSWORD, MACAROON):
        assert secret not in text
    got = table(settings)
    assert got["picas.url"][0] == "https://***@couch.example.org"
    assert got["picas.macaroons"] == (MASK, "~/.picasrc (1 macaroon= line)")
