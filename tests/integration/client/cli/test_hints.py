"""Hints a new user can act on: CLI words first, the exact command to link gfal2 into this
venv, no Python call where a command line is meant."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest

from grid_lrt.client.cli.main import main
from tests.integration.client.conftest import CliEnv
from tests.support.paths import DATA


def _hint(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("hint: ")]
    assert lines, err
    return lines[-1]


def test_srm_check_without_gfal2_says_how_to_link_debians_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "gfal2", None)  # `import gfal2` fails, as on a fresh venv
    assert main(["srm", "check", str(DATA / "srm_50_sara.txt")]) == 1
    err = capsys.readouterr().err
    assert f"gfal2 Python bindings not found for {sys.executable}" in err
    hint = _hint(err)
    assert "apt-get install python3-gfal2" in hint
    if sys.prefix != sys.base_prefix:  # a venv: the command names this venv's folder
        assert "dpkg -L python3-gfal2" in hint
        assert f"{sysconfig.get_paths()['purelib']}/" in hint and "<venv>" not in hint


def test_mixed_observations_hint_speaks_of_lists_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = (DATA / "srm_50_sara.txt").read_text(encoding="utf-8").splitlines()[0]
    mixed = tmp_path / "mixed.txt"
    mixed.write_text(f"{first}\n{first.replace('229507', '229508')}\n", encoding="utf-8")
    assert main(["srm", "convert", str(mixed), "--to", "srm"]) == 2
    hint = _hint(capsys.readouterr().err)
    assert hint.startswith("hint: Put each observation (OBSID) in its own SURL list")
    assert "from Python, srmlist(check_OBSID=False)" in hint


def test_unknown_view_hint_names_the_states(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "list", "hint", "nosuchview"]) == 2
    err = capsys.readouterr().err
    assert "add_status_views()" not in err
    assert "give a state: todo, locked, done, error or waiting" in _hint(err)


def test_sandbox_upload_hint_names_a_real_command(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "s.cfg"
    cfg.write_text("Sandbox:\n  name: s\n  git: {location: /nowhere, branch: b}\n")
    argv = ["sandbox", "upload", str(cfg), "--to", str(tmp_path / "up"), "--tokens", "none"]
    assert main(argv) == 2
    hint = _hint(capsys.readouterr().err)
    assert "`lrt tokens status`" in hint and "tokens types" not in hint
