"""`lrt config show` and `lrt config init`: sources on the screen and in JSON, secrets never
shown, the files written 0600 and read back by the readers, no overwrite without --force,
secrets from stdin or the terminal, never from the command line."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Iterator, List

import pytest

from grid_lrt.client.cli import config as config_cli
from grid_lrt.client.cli.main import main
from grid_lrt.client.staging.stageitcreds import find_stageit_creds
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.credentials import picas_cred
from grid_lrt.shared.errors import ConfigError

PASSWORD = "picas-Pw-41d0c2"
TOKEN = "tok-e19a77b3c5"


class Terminal(io.StringIO):
    """stdin at a terminal, answering with the given lines."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def home(config_home: Path) -> Path:
    return config_home


@pytest.fixture
def umask() -> Iterator[None]:
    """A umask that would leave a new file readable by all (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def stdin(monkeypatch: pytest.MonkeyPatch, text: str, tty: bool = False) -> None:
    monkeypatch.setattr("sys.stdin", Terminal(text) if tty else io.StringIO(text))


def no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert TOKEN not in text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def init(monkeypatch: pytest.MonkeyPatch, argv: List[str], secrets: str = "") -> int:
    stdin(monkeypatch, secrets)
    return main(["config", "init", *argv])


# --- show --------------------------------------------------------------------------------------


def test_show_names_each_source_and_masks_the_password(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / ".picasrc").write_text(f"database=sksp_dev\nuser=alice\npassword={PASSWORD}\n")
    (home / ".picasrc").chmod(0o600)
    monkeypatch.setenv("PICAS_USR", "bob")
    monkeypatch.setenv("LOFAR_LTA_TOKEN", TOKEN)
    assert main(["config", "show"]) == 0
    out, err = capsys.readouterr()
    no_secret(out, err)
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in out.splitlines()[2:]}
    assert rows["picas.database"] == ["sksp_dev", "~/.picasrc line 1"]
    assert rows["picas.user"] == ["bob", "env PICAS_USR"]
    assert rows["picas.password"] == ["***", "~/.picasrc line 3"]
    assert rows["stageit.token"] == ["***", "env LOFAR_LTA_TOKEN"]


def test_show_json_is_a_list_of_name_value_source(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PICAS_USR_PWD", PASSWORD)
    (home / ".stagingrc").write_text(f"api_token={TOKEN}\n")
    (home / ".stagingrc").chmod(0o600)
    assert main(["config", "show", "--json", "--db", "test"]) == 0
    out, err = capsys.readouterr()
    no_secret(out, err)
    settings = json.loads(out)
    assert isinstance(settings, list)
    assert all(set(s) == {"name", "value", "source"} for s in settings)
    by_name = {s["name"]: s for s in settings}
    assert by_name["picas.database"] == {
        "name": "picas.database",
        "value": "test",
        "source": "--db",
    }
    assert by_name["picas.password"]["value"] == "***"
    assert by_name["picas.user"]["value"] is None
    assert by_name["stageit.token"] == {
        "name": "stageit.token",
        "value": "***",
        "source": "~/.stagingrc line 1",
    }


@pytest.mark.parametrize("before", [True, False])
def test_show_with_the_global_config_option(
    home: Path, tmp_path: Path, before: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = tmp_path / "test.rc"
    rc.write_text("database=other\n")
    rc.chmod(0o600)
    argv = (
        ["--config", str(rc), "config", "show"]
        if before
        else ["config", "show", "--config", str(rc)]
    )
    assert main([*argv, "--json"]) == 0
    by_name = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert by_name["picas.file"] == {"name": "picas.file", "value": str(rc), "source": "--config"}
    assert by_name["picas.database"]["source"] == f"{rc} line 1"


def test_show_of_a_malformed_file_names_the_line_not_its_text(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / ".picasrc").write_text(f"user=alice\n{PASSWORD}\n")
    assert main(["config", "show"]) == ConfigError.exit_status
    out, err = capsys.readouterr()
    no_secret(out, err)
    assert "line 2" in err


# --- init, without a terminal ----------------------------------------------------------------


def test_init_writes_private_files_the_readers_read_back(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], umask: None
) -> None:
    argv = ["--db", "sksp_dev", "--user", "alice", "--password-stdin", "--stageit-token-stdin"]
    argv += ["--stageit-host", "sdc-dev.astron.nl"]
    assert init(monkeypatch, argv, f"{PASSWORD}\n{TOKEN}\n") == 0
    out, err = capsys.readouterr()
    no_secret(out, err)
    assert "wrote ~/.picasrc (mode 0600)" in out
    assert "  password=***" in out and "  api_token=***" in out
    picasrc, stagingrc = home / ".picasrc", home / ".stagingrc"
    assert mode(picasrc) == 0o600 and mode(stagingrc) == 0o600
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []
    creds = picas_cred()
    assert (creds.url, creds.database, creds.user, creds.password) == (
        "https://picas-lofar.grid.surfsara.nl:6984",
        "sksp_dev",
        "alice",
        PASSWORD,
    )
    assert creds.sources["password"] == str(picasrc)
    token = find_stageit_creds()
    assert token is not None
    assert (token.token, token.host, token.source) == (TOKEN, "sdc-dev.astron.nl", str(stagingrc))
    lines = picasrc.read_text().splitlines()
    assert lines[1:] == [
        "url=https://picas-lofar.grid.surfsara.nl:6984",
        "database=sksp_dev",
        "user=alice",
        f"password={PASSWORD}",
    ]


def test_init_refuses_to_overwrite_without_force(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    picasrc = home / ".picasrc"
    picasrc.write_text("user=old\n")
    picasrc.chmod(0o644)
    argv = ["--db", "d", "--user", "new", "--password-stdin"]
    assert init(monkeypatch, argv, f"{PASSWORD}\n") == 2
    err = capsys.readouterr().err
    assert "error: ~/.picasrc exists; not overwritten" in err
    assert "--force" in err
    assert picasrc.read_text() == "user=old\n"
    assert init(monkeypatch, [*argv, "--force"], f"{PASSWORD}\n") == 0
    assert "user=new" in picasrc.read_text()
    assert mode(picasrc) == 0o600


def test_init_refuses_an_existing_stagingrc_before_reading_the_token(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / ".stagingrc").write_text("user=lta\npassword=x\n")
    argv = ["--db", "d", "--user", "u", "--stageit-token-stdin"]
    assert init(monkeypatch, argv, f"{TOKEN}\n") == 2
    assert "~/.stagingrc exists" in capsys.readouterr().err
    assert not (home / ".picasrc").exists()


def test_init_into_the_global_config_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = tmp_path / "new.rc"
    stdin(monkeypatch, f"{PASSWORD}\n")
    argv = ["--config", str(rc), "config", "init", "--url", "http://127.0.0.1:5984"]
    assert main([*argv, "--db", "test", "--user", "admin", "--password-stdin"]) == 0
    assert f"wrote {rc} (mode 0600)" in capsys.readouterr().out
    assert mode(rc) == 0o600
    assert not (home / ".picasrc").exists()
    monkeypatch.setenv("PICASRC", str(rc))
    assert picas_cred().url == "http://127.0.0.1:5984"


@pytest.mark.parametrize(
    "argv",
    [
        ["--password", PASSWORD],
        [f"--password={PASSWORD}"],
        [f"--password-stdin={PASSWORD}"],
        ["--stageit-token", TOKEN],
        ["--token", TOKEN],
    ],
)
def test_no_secret_option_on_the_command_line(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: List[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        init(monkeypatch, ["--db", "d", "--user", "u", *argv], f"{PASSWORD}\n")
    assert stop.value.code == 2
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "secrets", "message"),
    [
        (["--password-stdin"], "", "stdin must hold 1 non-empty line(s): the password on line 1"),
        (["--password-stdin", "--stageit-token-stdin"], f"{PASSWORD}\n", "token on line 2"),
        (["--password-stdin"], f"{PASSWORD}\n{TOKEN}\n", "stdin must hold 1"),
        (["--password-stdin"], f" {PASSWORD}\n", "starts or ends with a space"),
    ],
)
def test_init_wants_exactly_the_secrets_it_was_told_about(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: List[str],
    secrets: str,
    message: str,
) -> None:
    assert init(monkeypatch, ["--db", "d", "--user", "u", *argv], secrets) == 2
    out, err = capsys.readouterr()
    no_secret(out, err)
    assert message in err
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--user", "u"], "--db needed: there is no terminal to ask"),
        (["--db", "d", "--user", "a\nurl=http://evil"], "holds a line break"),
        (["--db", "d", "--user", "u", "--url", f"https://u:{PASSWORD}@h"], "--url must not hold"),
        (["--db", "d", "--user", "u", "--url", "ftp://h"], "not a valid server URL"),
    ],
)
def test_init_refuses_what_it_cannot_write(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: List[str],
    message: str,
) -> None:
    assert init(monkeypatch, argv) == 2
    out, err = capsys.readouterr()
    no_secret(out, err)
    assert message in err
    assert list(home.iterdir()) == []


def test_init_without_a_password_says_so(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PICAS_DB", "env_db")
    assert init(monkeypatch, ["--db", "d", "--user", "u"]) == 0
    err = capsys.readouterr().err
    assert "no password written" in err
    assert "PICAS_DB is set and wins over database= of ~/.picasrc" in err
    assert "password" not in (home / ".picasrc").read_text().split("\n", 1)[1]


def test_check_asks_the_database_first(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: List[CouchDB] = []

    def answers(db: CouchDB) -> None:
        asked.append(db)

    monkeypatch.setattr(config_cli, "check_answers", answers)
    argv = ["--url", "http://127.0.0.1:5984", "--db", "test", "--user", "admin"]
    assert init(monkeypatch, [*argv, "--password-stdin", "--check"], f"{PASSWORD}\n") == 0
    assert [(db.server_url, db.name) for db in asked] == [("http://127.0.0.1:5984", "test")]
    assert "checked: database test" in capsys.readouterr().err


def test_a_failed_check_writes_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refused(db: CouchDB) -> None:
        raise ConfigError(f"{db.server_url} is not a CouchDB server")

    monkeypatch.setattr(config_cli, "check_answers", refused)
    argv = ["--url", "http://127.0.0.1:9", "--db", "t", "--user", "u", "--check"]
    assert init(monkeypatch, argv) == 2
    assert "is not a CouchDB server" in capsys.readouterr().err
    assert list(home.iterdir()) == []


# --- init, at a terminal ------------------------------------------------------------------------


def test_init_at_a_terminal_asks_and_hides_the_secrets(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hidden = iter([PASSWORD, TOKEN])
    prompts: List[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(hidden)

    monkeypatch.setattr(config_cli.getpass, "getpass", getpass)
    stdin(monkeypatch, "\nsksp_dev\nalice\n", tty=True)
    assert main(["config", "init"]) == 0
    out, err = capsys.readouterr()
    no_secret(out, err)
    assert "PiCaS server URL [https://picas-lofar.grid.surfsara.nl:6984]: " in err
    assert "database: " in err and "database: " not in out
    assert [p.split(" (")[0] for p in prompts] == ["PiCaS password", "StageIT API token"]
    creds = picas_cred()
    assert (creds.url, creds.database, creds.user, creds.password) == (
        "https://picas-lofar.grid.surfsara.nl:6984",
        "sksp_dev",
        "alice",
        PASSWORD,
    )
    token = find_stageit_creds()
    assert token is not None and token.token == TOKEN
    assert mode(home / ".picasrc") == 0o600 and mode(home / ".stagingrc") == 0o600


def test_init_at_a_terminal_skips_the_token_of_an_existing_stagingrc(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / ".stagingrc").write_text("api_token=old\n")
    monkeypatch.setattr(config_cli.getpass, "getpass", lambda prompt="": PASSWORD)
    stdin(monkeypatch, "", tty=True)
    assert main(["config", "init", "--db", "d", "--user", "u", "--url", "http://127.0.0.1:1"]) == 0
    assert "~/.stagingrc exists: not asking for a StageIT token" in capsys.readouterr().err
    assert (home / ".stagingrc").read_text() == "api_token=old\n"
    assert picas_cred().password == PASSWORD
