"""`lrt --version`; -v/-q, --json and --config before or after the verb; `lrt ... | head`."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grid_lrt.client.cli.main import main
from tests.integration.client.conftest import CliEnv


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("lrt (grid-lrt) ")


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "tokens", "list", "gl", "todo"],
        ["tokens", "list", "gl", "todo", "-v"],
        ["tokens", "-v", "list", "gl", "todo"],
    ],
)
def test_verbose_before_or_after_the_verb(
    cli_env: CliEnv, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "0 tokens in gl/todo" in captured.err  # an INFO line: shown with -v, on stderr


def test_quiet_after_the_verb_keeps_only_errors(
    cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)  # restored after the test
    assert main(["tokens", "list", "gl", "todo", "-q"]) == 0
    assert logging.getLogger().level == logging.ERROR
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "argv", [["--json", "tokens", "status", "gl"], ["tokens", "status", "gl", "--json"]]
)
def test_json_before_or_after_the_verb(
    cli_env: CliEnv, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    assert set(json.loads(capsys.readouterr().out)["types"]) == {"gl"}


def test_json_for_a_command_without_json_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    links = tmp_path / "srm.txt"
    links.write_text(_links(3), encoding="utf-8")
    assert main(["--json", "srm", "convert", str(links), "--to", "gsiftp"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "`lrt srm convert` prints no JSON" in captured.err


@pytest.mark.parametrize("before", [True, False])
def test_config_file_instead_of_picasrc(
    cli_env: CliEnv,
    before: bool,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = cli_env.server
    for name in ("PICAS_URL", "PICAS_DB", "PICAS_USR", "PICAS_USR_PWD", "PICASRC"):
        monkeypatch.delenv(name, raising=False)
    rc = tmp_path / "other.picasrc"
    rc.write_text(
        f"url={server.url}\ndatabase={cli_env.name}\n"
        f"user={server.user}\npassword={server.password}\n",
        encoding="utf-8",
    )
    rc.chmod(0o600)
    command = ["tokens", "status", "gl", "--json"]
    argv = ["--config", str(rc), *command] if before else [*command, "--config", str(rc)]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["database"] == cli_env.name
    assert "PICASRC" not in os.environ  # set for the command only


def test_config_file_missing_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "nope"), "tokens", "status", "x"]) == 2
    assert "--config" in capsys.readouterr().err


def test_tokens_create_keeps_its_own_config_option(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    links = tmp_path / "srm.txt"
    links.write_text(_links(4), encoding="utf-8")
    cfg = tmp_path / "t.cfg"
    cfg.write_text("Token:\n  MARK: seven\n", encoding="utf-8")
    assert main(["tokens", "create", "gl", "--srm", str(links), "--config", str(cfg)]) == 0
    assert "1 created" in capsys.readouterr().out
    assert {d.get("MARK") for d in cli_env.pool.docs(cli_env.pool.ids("gl"))} == {"seven"}


def _links(n: int) -> str:
    base = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/x/229507"
    return "".join(f"{base}/L229507_SB{i:03d}_uv.dppp.MS_{i:08x}.tar\n" for i in range(n))


def test_head_closing_the_pipe_prints_no_traceback(tmp_path: Path) -> None:
    links = tmp_path / "srm.txt"
    links.write_text(_links(3000), encoding="utf-8")  # well over a pipe's 64 KiB buffer
    proc = subprocess.Popen(
        [sys.executable, "-m", "grid_lrt.client", "srm", "convert", str(links), "--to", "https"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # what `| head -1` reads, then it goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert first.startswith(b"https://")
    assert err == ""


def test_head_on_a_real_shell_pipe(tmp_path: Path) -> None:
    links = tmp_path / "srm.txt"
    links.write_text(_links(3000), encoding="utf-8")
    err = tmp_path / "err.txt"
    done = subprocess.run(
        f"'{sys.executable}' -m grid_lrt.client srm convert '{links}' --to gsiftp "
        f"2>'{err}' | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.startswith("gsiftp://") and done.stdout.count("\n") == 1
    assert err.read_text(encoding="utf-8") == ""
