"""The one pouchdb-server spawner (``grid_lrt.client.localserver``) of ``lrt demo`` and the tests.

Real Node.js and pouchdb-server (skipped without them, failing under ``CI=true``); the failure
cases run small Node.js scripts in pouchdb-server's place.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator, List

import pytest
import requests

from grid_lrt.client import localserver
from grid_lrt.client.localserver import (
    LocalServerError,
    find_node,
    find_pouchdb_server,
    local_server,
    welcome_document,
)
from grid_lrt.shared.errors import LrtError
from tests.support.couchdb import unavailable
from tests.support.pouchdb import ensure_pouchdb_installed


@pytest.fixture
def node() -> str:
    try:
        return find_node()
    except LrtError as exc:
        unavailable(f"{exc.message} ({exc.hint})")


@pytest.fixture
def entry(node: str) -> Path:
    """The real pouchdb-server (installed with tools/install-pouchdb.sh if needed)."""
    return ensure_pouchdb_installed()


def _script(tmp_path: Path, body: str) -> Path:
    """A Node.js script that stands in for pouchdb-server."""
    path = tmp_path / "fake-pouchdb-server.js"
    path.write_text(textwrap.dedent(body))
    return path


def _children_argv() -> List[str]:
    """The command lines of this process's children (Linux /proc)."""
    argv = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv.append(fh.read().replace(b"\0", b" ").decode(errors="replace"))
    return argv


def _refused(url: str) -> bool:
    try:
        requests.get(url + "/", timeout=2)
    except requests.ConnectionError:
        return True
    return False


def test_starts_answers_and_stops(entry: Path) -> None:
    with local_server() as server:
        workdir = server.workdir
        welcome = welcome_document(server.url)
        assert welcome is not None and "express-pouchdb" in welcome
        r = requests.get(server.url + "/_session", auth=(server.user, server.password), timeout=10)
        assert r.json()["userCtx"]["roles"] == ["_admin"]
        wrong = requests.get(server.url + "/_session", auth=(server.user, "x"), timeout=10)
        assert wrong.status_code == 401
        # the random password is in no argv, repr or file: the server hashed config.json
        assert len(server.password) >= 16 and server.password not in repr(server)
        if Path("/proc").is_dir():
            port = server.url.rsplit(":", 1)[1]
            argv = [a for a in _children_argv() if f" -p {port} " in a]
            assert len(argv) == 1 and "--in-memory" in argv[0]
            assert server.password not in argv[0]
        for name in ("config.json", "log.txt", "server.out"):
            assert server.password not in (workdir / name).read_text()
    assert _refused(server.url)
    assert not workdir.exists()  # the default working folder is temporary


def test_refuses_a_non_empty_workdir(entry: Path, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"admins": {"old": "secret"}}')
    refused = pytest.raises(LocalServerError, match="needs an empty working folder")
    with refused as info, local_server(tmp_path):
        pytest.fail("started in a folder with an old config.json")
    assert str(tmp_path) in str(info.value) and "old config.json" in info.value.hint
    assert (tmp_path / "config.json").read_text() == '{"admins": {"old": "secret"}}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_without_node_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no node
    refused = pytest.raises(LrtError, match=r"Node\.js is not installed")
    with refused as info, local_server(tmp_path / "couch"):
        pytest.fail("started without node")
    assert "apt-get install nodejs" in info.value.hint
    assert not (tmp_path / "couch").exists()


def test_finding_pouchdb_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    own = tmp_path / "my-pouchdb-server"
    own.write_text("")
    monkeypatch.setenv("LRT_POUCHDB_SERVER", str(own))
    assert find_pouchdb_server() == own
    monkeypatch.setenv("LRT_POUCHDB_SERVER", str(tmp_path / "missing"))
    monkeypatch.setattr(localserver, "TREE_POUCHDB_SERVER", tmp_path / "no-tree" / "bin")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LrtError, match="no local CouchDB-compatible server") as info:
        find_pouchdb_server()
    assert "tools/install-pouchdb.sh" in info.value.hint and "LRT_POUCHDB_SERVER" in info.value.hint


def test_an_early_exit_is_retried_and_reported_without_the_password(
    node: str, tmp_path: Path
) -> None:
    fake = _script(
        tmp_path,
        """
        const fs = require("fs");
        console.error("boom: " + fs.readFileSync("config.json", "utf-8"));
        process.exit(3);
        """,
    )
    workdir = tmp_path / "couch"
    refused = pytest.raises(LocalServerError)
    with refused as info, local_server(workdir, password="s3cret-pw", entry=fake, attempts=2):
        pytest.fail("a server that exits must not be yielded")
    message = str(info.value)
    assert "did not start in 2 attempts" in message and "exited with status 3" in message
    assert "boom:" in message and "***" in message and "s3cret-pw" not in message
    assert (workdir / "server.out").read_text().count("boom:") == 2


def test_a_silent_server_times_out_and_is_stopped(node: str, tmp_path: Path) -> None:
    fake = _script(
        tmp_path,
        """
        require("fs").writeFileSync("pid", String(process.pid));
        setInterval(() => {}, 1000);
        """,
    )
    workdir = tmp_path / "couch"
    started = time.monotonic()
    refused = pytest.raises(LocalServerError, match=r"did not answer on http://127\.0\.0\.1:\d+ ")
    with refused, local_server(workdir, entry=fake, timeout=1.0, attempts=3):
        pytest.fail("a server that does not answer must not be yielded")
    assert time.monotonic() - started < 10  # no retries after a timeout
    pid = int((workdir / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped


def test_a_data_dir_keeps_the_databases(entry: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with local_server(tmp_path / "first", data_dir=data) as server:
        auth = (server.user, server.password)
        assert requests.put(server.url + "/kept", auth=auth, timeout=30).status_code == 201
        r = requests.put(server.url + "/kept/doc", json={"n": 1}, auth=auth, timeout=30)
        assert r.status_code == 201
    assert any(data.iterdir())
    with local_server(tmp_path / "second", data_dir=data) as server:
        auth = (server.user, server.password)
        r = requests.get(server.url + "/kept/doc", auth=auth, timeout=30)
        assert r.status_code == 200 and r.json()["n"] == 1


def test_a_fixed_port_keeps_the_url_across_a_restart(entry: Path, tmp_path: Path) -> None:
    """Stopped and started again on the same port and data folder (a new working folder): the
    same URL answers with the same databases, as a restarted CouchDB does for its clients."""
    data, port = tmp_path / "data", localserver.free_loopback_port()
    with local_server(tmp_path / "first", data_dir=data, port=port, password="pw") as server:
        first_url = server.url
        assert first_url == f"http://127.0.0.1:{port}"
        auth = (server.user, "pw")
        assert requests.put(server.url + "/kept", auth=auth, timeout=30).status_code == 201
        r = requests.put(server.url + "/kept/doc", json={"n": 1}, auth=auth, timeout=30)
        assert r.status_code == 201
        taken = pytest.raises(LocalServerError, match=f"port {port} on 127.0.0.1 is in use")
        with taken, local_server(tmp_path / "clash", port=port):
            pytest.fail("a second server was yielded on a port that the first one holds")
    assert _refused(first_url)
    with local_server(tmp_path / "second", data_dir=data, port=port, password="pw") as server:
        assert server.url == first_url
        r = requests.get(server.url + "/kept/doc", auth=auth, timeout=30)
        assert r.status_code == 200 and r.json()["n"] == 1


CHILD = """
import sys, time
from pathlib import Path
from grid_lrt.client.localserver import local_server
with local_server(Path(sys.argv[1]), die_with_parent=True) as server:
    print(server.url, flush=True)
    time.sleep(600)
"""


@pytest.fixture
def orphan_guard() -> Iterator[List[Path]]:
    """Kill a pouchdb-server left behind by a failing die-with-parent test (by its folder)."""
    folders: List[Path] = []
    yield folders
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if Path(os.readlink(cwd)) in folders:
                os.kill(int(cwd.parent.name), signal.SIGKILL)
        except OSError:
            continue


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_die_with_parent_stops_the_server_when_its_starter_is_killed(
    entry: Path, tmp_path: Path, orphan_guard: List[Path]
) -> None:
    workdir = tmp_path / "couch"
    orphan_guard.append(workdir.resolve())
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(workdir)], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        assert welcome_document(url) is not None
        child.kill()  # SIGKILL: no finally, no atexit
        child.wait()
    deadline = time.monotonic() + 10
    while not _refused(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _refused(url)
