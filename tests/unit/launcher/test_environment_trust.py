"""The pipeline's environment and what ``--no-token-commands`` refuses (issue 9, finding 10).

A token is code: its ``command`` runs, its mappings may set ``LD_PRELOAD``; and the pipeline
used to get the PiCaS password and a ``PICAS_URL`` with ``user:pw@`` by default.
"""

from __future__ import annotations

import errno
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from grid_lrt.launcher.config import LauncherConfig
from grid_lrt.launcher.environment import pipeline_environment, token_environment
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.trust import loader_name
from grid_lrt.shared.errors import ErrorCode

PASSWORD = "pa$s@w:rd%41"
TOKEN: Dict[str, Any] = {"_id": "L1_SB000", "type": "pref", "OBSID": "L1", "LIB": "/tmp/x.so"}
#: The seed's master.sh: exit 1 unless TOKEN, PICAS_USR and PICAS_DB are set.
SEED_CHECK = 'if [ -z "$TOKEN" ] || [ -z "$PICAS_USR" ] || [ -z "$PICAS_DB" ]; then exit 1; fi'


def _config(**settings: Any) -> LauncherConfig:
    return LauncherConfig(
        token_type="pref",
        url=f"https://alice:{PASSWORD}@couch.example.org:6984",
        database="alice_db",
        user="alice",
        password=PASSWORD,
        **settings,
    )


def _pipeline_env(config: LauncherConfig, extra: Dict[str, str]) -> Dict[str, str]:
    base = {"HOME": "/home/alice", "PATH": "/usr/bin:/bin", "PICAS_USR_PWD": PASSWORD}
    return pipeline_environment(base, extra, token_id="L1_SB000", attempt=2, config=config)


def _fetch(name: str) -> bytes:
    return b"data of " + name.encode()


def test_credentials_stay_with_the_launcher_by_default() -> None:
    env = _pipeline_env(_config(), {"OBSID": "L1", "PICAS_USR_PWD": "from-the-token"})
    assert "PICAS_USR_PWD" not in env
    assert env["PICAS_URL"] == "https://couch.example.org:6984"
    assert (env["TOKEN"], env["PICAS_USR"], env["PICAS_DB"], env["LRT_ATTEMPT"]) == (
        "L1_SB000",
        "alice",
        "alice_db",
        "2",
    )
    assert PASSWORD not in json.dumps(env)
    assert (env["OBSID"], env["HOME"], env["PATH"]) == ("L1", "/home/alice", "/usr/bin:/bin")


def test_the_seed_master_sh_check_passes_without_the_password() -> None:
    env = _pipeline_env(_config(), {})
    assert subprocess.run(["/bin/sh", "-c", SEED_CHECK], env=env, check=False).returncode == 0


def test_export_credentials_hands_the_password_over() -> None:
    env = _pipeline_env(_config(export_credentials=True), {})
    assert env["PICAS_USR_PWD"] == PASSWORD
    assert env["PICAS_URL"] == "https://couch.example.org:6984"  # still no userinfo


@pytest.mark.parametrize(
    "name",
    [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "BASH_ENV",
        "ENV",
        "PATH",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "PYTHONHOME",
        "PERL5LIB",
        "PERL5OPT",
        "RUBYLIB",
        "NODE_OPTIONS",
        "GCONV_PATH",
        "GLIBC_TUNABLES",
        "HOME",
        "PS4",
        "SHELLOPTS",
    ],
)
def test_loader_names(name: str) -> None:
    assert loader_name(name)


@pytest.mark.parametrize("name", ["OBSID", "PARSET", "STARTSB", "OMP_NUM_THREADS", "path", "XPATH"])
def test_data_names(name: str) -> None:
    assert not loader_name(name)


def test_no_token_commands_refuses_loader_names_in_the_environment() -> None:
    config = _config(token_commands=False)
    with pytest.raises(TokenFailure) as excinfo:
        _pipeline_env(config, {"OBSID": "L1", "LD_PRELOAD": "/tmp/x.so"})
    assert excinfo.value.code is ErrorCode.TOKEN_REFUSED
    assert "LD_PRELOAD" in excinfo.value.message
    assert "--no-token-commands" in excinfo.value.message
    env = _pipeline_env(config, {"OBSID": "L1", "TOKEN": "x", "JOBDIR": "/j", "TOKEN_TYPE": "p"})
    assert env["PATH"] == "/usr/bin:/bin"  # the launcher's own PATH is no token's


def _refused(token: Dict[str, Any], jobdir: Path, fetched: List[str]) -> TokenFailure:
    def fetch(name: str) -> bytes:
        fetched.append(name)
        return _fetch(name)

    with pytest.raises(TokenFailure) as excinfo:
        token_environment(token, jobdir, fetch_attachment=fetch, token_commands=False)
    assert excinfo.value.code is ErrorCode.TOKEN_REFUSED
    return excinfo.value


def test_config_json_may_not_set_ld_preload(tmp_path: Path) -> None:
    token = {**TOKEN, "config.json": {"variables": {"_token_keys": {"$LD_PRELOAD": "LIB"}}}}
    failure = _refused(token, tmp_path, [])
    assert "variables._token_keys.$LD_PRELOAD" in failure.message
    assert token_environment(token, tmp_path, fetch_attachment=_fetch)["LD_PRELOAD"] == "/tmp/x.so"


def test_an_attachment_may_not_become_bash_env(tmp_path: Path) -> None:
    token = {**TOKEN, "config.json": {"variables": {"_attachments": {"$BASH_ENV": "evil.sh"}}}}
    fetched: List[str] = []
    failure = _refused(token, tmp_path, fetched)
    assert "BASH_ENV" in failure.message
    assert fetched == [] and not (tmp_path / "evil.sh").exists()  # refused before saving


def test_tokvar_cfg_may_not_set_path(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").write_text(yaml.dump({"OBSID": "$OBSID", "LIB": "$PATH"}))
    failure = _refused(dict(TOKEN), tmp_path, [])
    assert failure.message.startswith("tokvar.cfg, line 1: the token may not set PATH")


@pytest.mark.parametrize("command", ["echo hi", ["/bin/echo", "hi"]])
def test_a_token_command_is_refused(tmp_path: Path, command: Any) -> None:
    failure = _refused({**TOKEN, "command": command}, tmp_path, [])
    assert "has its own 'command'" in failure.message
    assert "master.sh" in failure.message


@pytest.mark.parametrize("command", [None, "", "  ", []])
def test_no_command_is_no_refusal(tmp_path: Path, command: Any) -> None:
    token = {**TOKEN, "command": command}
    env = token_environment(token, tmp_path, fetch_attachment=_fetch, token_commands=False)
    assert env["TOKEN"] == "L1_SB000"


def test_a_full_disk_while_saving_an_attachment_is_21(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    token = {**TOKEN, "config.json": {"variables": {"_attachments": {"$PARSET": "x.parset"}}}}
    with pytest.raises(TokenFailure) as excinfo:
        token_environment(token, tmp_path, fetch_attachment=_fetch)
    assert excinfo.value.code is ErrorCode.DOWNLOAD_FAILED
    assert "No space left on device" in excinfo.value.message
