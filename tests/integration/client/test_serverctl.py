"""`lrt server start|stop|status` (``grid_lrt.client.serverctl``): a local pouchdb-server kept on
disk, detached from the command that started it.

Real Node.js and pouchdb-server (skipped without them, failing under ``CI=true``); every test
stops the servers of its folder in the fixture's teardown.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests

from grid_lrt.client.cli.globalopts import picasrc_from
from grid_lrt.client.cli.main import main
from grid_lrt.client.localserver import LocalServerError, free_loopback_port, welcome_document
from grid_lrt.client.serverctl import (
    DEFAULT_DATABASE,
    ServerState,
    default_folder,
    server_status,
    start_server,
    stop_server,
)
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.credentials import picas_cred
from grid_lrt.shared.errors import UsageError
from tests.support.pouchdb import ensure_pouchdb_installed


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A server folder; its server (if any) is stopped afterwards. ``lrt`` without ``--dir``
    and the PiCaS settings never reach the user's own (HOME is a fresh folder)."""
    ensure_pouchdb_installed()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LRT_SERVER_DIR", str(tmp_path / "default-server"))
    for name in ("PICASRC", "PICAS_URL", "PICAS_DB", "PICAS_USR", "PICAS_USR_PWD"):
        monkeypatch.delenv(name, raising=False)
    where = tmp_path / "server"
    yield where
    stop_server(where, grace=2.0)
    stop_server(default_folder(), grace=2.0)


def _settings(state: ServerState) -> Dict[str, str]:
    lines = state.picasrc.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def _db(state: ServerState) -> CouchDB:
    """The server's database with the login of its picasrc, as `lrt` reads it (PICASRC=)."""
    with picasrc_from(state.picasrc):
        creds = picas_cred()
    assert creds.url == state.url and creds.database == state.database
    return CouchDB(creds.url, creds.database, user=creds.user, password=creds.password)


def _refused(url: str) -> bool:
    try:
        requests.get(url + "/", timeout=2)
    except requests.ConnectionError:
        return True
    return False


def _argv(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_start_status_stop_and_start_again_resumes_the_data(folder: Path) -> None:
    state = start_server(folder)
    assert state.url.startswith("http://127.0.0.1:") and "@" not in state.url
    assert state.folder == folder.resolve() and state.database == DEFAULT_DATABASE
    assert state.picasrc == folder.resolve() / "picasrc"
    assert server_status(folder) == state
    assert "express-pouchdb" in (welcome_document(state.url) or {})
    db = _db(state)
    assert db.create() is False  # start created it
    r = requests.put(f"{db.url}/kept", json={"n": 1}, auth=db.session.auth, timeout=30)
    assert r.status_code == 201
    recorded = json.loads((folder / "server.json").read_text())
    assert recorded["url"] == state.url and recorded["pid"] == state.pid
    assert recorded["port"] == int(state.url.rsplit(":", 1)[1])
    assert recorded["database"] == "lrt" and recorded["started"].endswith("Z")

    assert stop_server(folder) is True
    assert server_status(folder) is None and _refused(state.url)
    assert not (folder / "server.json").exists() and any((folder / "data").iterdir())

    again = start_server(folder)
    assert again.url == state.url and again.pid != state.pid  # the same URL, a new process
    r = requests.get(f"{db.url}/kept", auth=_db(again).session.auth, timeout=30)
    assert r.status_code == 200 and r.json()["n"] == 1
    assert sorted(p.name for p in (folder / "run").iterdir()) == [
        "config.json",
        "log.txt",
        "server.out",
    ]


def test_the_password_stays_in_picasrc(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server", "start", "--dir", str(folder)]) == 0
    state = server_status(folder)
    assert state is not None
    settings = _settings(state)
    password = settings["password"]
    assert set(settings) == {"url", "user", "password", "database"} and len(password) >= 16
    assert stat.S_IMODE(state.picasrc.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "run").stat().st_mode) == 0o700
    out = capsys.readouterr()
    assert f"export PICASRC={state.picasrc}" in out.out and state.url in out.out
    assert password not in out.out + out.err
    assert password not in (folder / "server.json").read_text()
    assert password not in _argv(state.pid)
    for name in ("config.json", "log.txt", "server.out"):
        assert password not in (folder / "run" / name).read_text()
    wrong = requests.get(state.url + "/_session", auth=("admin", "x"), timeout=10)
    assert wrong.status_code == 401
    # a later start reuses the password, so the picasrc handed out keeps working
    assert stop_server(folder)
    again = start_server(folder)
    assert _settings(again)["password"] == password
    r = requests.get(again.url + "/_session", auth=("admin", password), timeout=10)
    assert r.json()["userCtx"]["roles"] == ["_admin"]
    # `lrt` commands work at once with PICASRC=<folder>/picasrc
    assert main(["db", "info", "--config", str(again.picasrc)]) == 0
    assert "database lrt on " in capsys.readouterr().out


def test_a_second_start_returns_the_running_server(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = start_server(folder, database="sksp_dev")
    assert state.database == "sksp_dev" and _settings(state)["database"] == "sksp_dev"
    assert start_server(folder) == state  # not a second server (the database is not looked at)
    assert main(["server", "start", "--dir", str(folder)]) == 0
    assert f"server already running on {state.url} (pid {state.pid})" in capsys.readouterr().out
    with pytest.raises(UsageError, match="runs already") as info:
        start_server(folder, port=free_loopback_port())
    assert "lrt server stop" in info.value.hint


def test_a_stale_record_is_replaced(folder: Path) -> None:
    state = start_server(folder)
    assert stop_server(folder)
    for pid in (_dead_pid(), os.getpid()):  # gone, or alive but no pouchdb-server of ours
        record = {"url": state.url, "port": 1, "pid": pid, "database": "lrt", "started": "x"}
        (folder / "server.json").write_text(json.dumps(record))
        assert server_status(folder) is None
        assert stop_server(folder, grace=0.5) is False  # and it did not signal that pid
        assert not (folder / "server.json").exists()
    (folder / "server.json").write_text("not json")
    assert server_status(folder) is None
    again = start_server(folder)
    assert again.url == state.url and server_status(folder) == again


def _dead_pid() -> int:
    with subprocess.Popen(["true"]) as proc:
        proc.wait()
    return proc.pid


def test_stop_and_status_when_not_running(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stop_server(folder) is False and not folder.exists()
    assert server_status(folder) is None
    assert main(["server", "stop", "--dir", str(folder)]) == 0
    assert "not running" in capsys.readouterr().out
    assert main(["server", "status", "--dir", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "not running" in captured.out and "lrt server start --dir" in captured.err
    assert main(["server", "status", "--dir", str(folder), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["running"] is False and document["url"] is None


def test_cli_exit_codes_and_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server", "start", "--dir", str(folder), "--json", "--db", "test_db"]) == 0
    started = json.loads(capsys.readouterr().out)
    assert set(started) == {"url", "pid", "folder", "picasrc", "database", "running"}
    assert started["running"] is True and started["database"] == "test_db"
    assert main(["server", "status", "--dir", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == started
    assert main(["server", "status", "--dir", str(folder)]) == 0
    assert f"server running on {started['url']}" in capsys.readouterr().out
    assert main(["server", "stop", "--dir", str(folder)]) == 0
    assert "server stopped" in capsys.readouterr().out
    assert main(["server", "status", "--dir", str(folder)]) == 1
    assert main(["server", "start", "--dir", str(folder), "--db", "Bad Name"]) == 2
    assert "no CouchDB database name" in capsys.readouterr().err
    assert not (folder / "server.json").exists()


def test_a_folder_that_is_a_file_is_a_usage_error(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder.write_text("not a folder")
    with pytest.raises(UsageError, match="cannot keep the server in"):
        start_server(folder)
    assert main(["server", "start", "--dir", str(folder)]) == 2
    assert "hint: give another --dir" in capsys.readouterr().err
    assert main(["server", "status", "--dir", str(folder)]) == 1
    assert main(["server", "stop", "--dir", str(folder)]) == 0


def test_the_default_folder_is_lrt_server_dir(folder: Path) -> None:
    assert main(["server", "start", "-q"]) == 0
    state = server_status(default_folder())
    assert state is not None and state.folder == Path(os.environ["LRT_SERVER_DIR"]).resolve()
    assert main(["server", "stop"]) == 0 and server_status(default_folder()) is None


def test_a_taken_port_is_refused_and_port_moves_the_server(folder: Path) -> None:
    state = start_server(folder)
    port = int(state.url.rsplit(":", 1)[1])
    assert stop_server(folder)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(LocalServerError, match=f"port {port} on 127.0.0.1 is in use") as info:
            start_server(folder)
        assert "--port" in info.value.hint
        assert not (folder / "server.json").exists()
        moved = start_server(folder, port=free_loopback_port())
    assert moved.url != state.url and _settings(moved)["url"] == moved.url
    assert _settings(moved)["password"] == _settings(state)["password"]


def test_a_server_that_stopped_answering_is_killed_by_stop(folder: Path) -> None:
    state = start_server(folder)
    os.kill(state.pid, signal.SIGSTOP)  # alive, but answers nothing (not even SIGTERM)
    try:
        assert server_status(folder) is None
        with pytest.raises(LocalServerError, match="does not answer") as info:
            start_server(folder)
        assert "lrt server stop" in info.value.hint
    finally:
        assert stop_server(folder, grace=1.0) is True  # SIGKILL after the grace
    with pytest.raises(ProcessLookupError):
        os.kill(state.pid, 0)


def test_concurrent_starts_start_one_server(folder: Path) -> None:
    states: List[ServerState] = []
    threads = [threading.Thread(target=lambda: states.append(start_server(folder))) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(states) == 2 and states[0] == states[1]


def test_concurrent_commands_start_one_detached_server(folder: Path) -> None:
    """Two `lrt server start` processes at once: one server, which outlives both."""
    command = [sys.executable, "-m", "grid_lrt.client", "server", "start", "--dir", str(folder)]
    procs = [
        subprocess.Popen([*command, "--json"], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=90)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    first, second = (json.loads(text) for text in outputs)
    assert first == second
    state = server_status(folder)  # both starters have exited: the server runs on
    assert state is not None and state.pid == first["pid"] and state.url == first["url"]
    assert "pouchdb-server" in _argv(state.pid)
    assert stop_server(folder, grace=2.0) is True  # not our child: signalled by pid
    assert _refused(state.url)
