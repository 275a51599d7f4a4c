"""`lrt server` on the command line: its options parse, its default folder, and the mistakes
refused before any server starts (the servers themselves: tests/integration/client/
test_serverctl.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid_lrt.client.cli import server
from grid_lrt.client.cli.main import build_parser, main
from grid_lrt.client.serverctl import DEFAULT_DATABASE, default_folder, start_server
from grid_lrt.shared.errors import UsageError


def test_the_options_parse() -> None:
    argv = ["server", "start", "--dir", "x", "--port", "5990", "--db", "sksp_dev", "--json"]
    args = build_parser().parse_args(argv)
    assert (args.folder, args.port, args.db, args.json) == (Path("x"), 5990, "sksp_dev", True)
    assert args.func is server.cmd_start
    args = build_parser().parse_args(["server", "start"])
    assert (args.folder, args.port, args.db) == (None, None, DEFAULT_DATABASE)
    assert build_parser().parse_args(["server", "stop", "-q"]).func is server.cmd_stop


def test_stop_prints_no_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["server", "stop", "--dir", str(tmp_path), "--json"]) == 2
    assert "prints no JSON" in capsys.readouterr().err


def test_the_default_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LRT_SERVER_DIR", str(tmp_path / "couch"))
    assert default_folder() == tmp_path / "couch"
    monkeypatch.delenv("LRT_SERVER_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_folder() == tmp_path / ".local/share/grid-lrt/server"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"database": "Bad Name"}, "no CouchDB database name"), ({"port": 70000}, "no TCP port")],
)
def test_mistakes_are_refused_before_anything_starts(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        start_server(tmp_path / "server", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "server").exists()
