"""End to end: tokens held until staged become todo exactly when the LTA simulator stages them.

Real parts: the CouchDB-compatible server, the LTA stager simulator over XML-RPC, an https
WebDAV archive with the WLCG Tape REST API, and gfal2 reading ``user.status`` through it.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.client.token import TokenHandler
from grid_lrt.shared import surl
from grid_lrt.shared.schema import TokenState
from tests.support.couchdb import CouchServer
from tests.support.tape_archive import TapeArchive

LINK = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/L229507_SB{:03d}_uv.dppp.MS_{:08x}.tar"


@pytest.fixture
def archive(
    gfal2_module: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TapeArchive]:
    """Everything under /pnfs starts on tape; only the LTA simulator brings files online."""
    with TapeArchive(tmp_path / "archive", delay=3600, tape_prefixes=("/pnfs/",)) as tape:
        for name, value in tape.client_env.items():
            monkeypatch.setenv(name, value)
        yield tape


@pytest.fixture
def env(
    couchdb_server: CouchServer, couch_db_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PICAS_URL", couchdb_server.url)
    monkeypatch.setenv("PICAS_DB", couch_db_name)
    monkeypatch.setenv("PICAS_USR", couchdb_server.user)
    monkeypatch.setenv("PICAS_USR_PWD", couchdb_server.password)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_held_tokens_released_exactly_when_staged(
    env: None,
    archive: TapeArchive,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    links = [LINK.format(sb, sb * 7919) for sb in range(100, 120)]
    for link in links:
        target = archive.root / surl.path_of(link).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"visibilities " * 10)
    srm = tmp_path / "srm.txt"
    srm.write_text("\n".join(links) + "\n")

    def online(surls: list[str]) -> None:
        archive.make_online([surl.path_of(s) for s in surls])

    with LtaSimulator(user="lta-user", password="lta-secret", delay=0.3, on_online=online) as lta:
        monkeypatch.setenv("LRT_LTA_URL", lta.url)
        monkeypatch.setenv("LOFAR_LTA_USER", "lta-user")
        monkeypatch.setenv("LOFAR_LTA_PWD", "lta-secret")

        assert main(["tokens", "create", "obs", "--srm", str(srm), "--size", "10", "--hold"]) == 0
        th = TokenHandler("obs")
        assert th.pool.counts("obs")[TokenState.WAITING] == 2
        assert th.pool.ids("obs", TokenState.TODO) == [], "held tokens never reach todo"

        door = ["--door", archive.base_url]
        assert main(["srm", "check", str(srm), *door]) == 0
        assert "0/20 staged" in capsys.readouterr().out
        assert main(["stage", "release", "obs", *door]) == 0
        assert "released 0, still held 2" in capsys.readouterr().out

        assert main(["stage", "submit", str(srm)]) == 0
        request_id = capsys.readouterr().out.split()[0]
        assert lta.calls["add_getid"] == 1
        screen = _Terminal()  # the progress bar goes to a terminal's stderr
        with monkeypatch.context() as mp:
            mp.setattr(sys, "stderr", screen)
            assert main(["stage", "wait", request_id, "--timeout", "30", "--interval", "0.2"]) == 0
        assert "success" in capsys.readouterr().out
        assert f"request {request_id}:" in screen.getvalue() and "/20 [" in screen.getvalue()

        assert main(["srm", "check", str(srm), *door, "--json"]) == 0
        assert '"percent_staged": 100.0' in capsys.readouterr().out
        assert main(["stage", "watch", "obs", *door, "--interval", "0.2", "--timeout", "30"]) == 0
        assert "released 2, still held 0" in capsys.readouterr().out
        counts = th.pool.counts("obs")
        assert (counts[TokenState.TODO], counts[TokenState.WAITING]) == (2, 0)


def test_lost_files_keep_the_token_held_and_are_reported(
    env: None, archive: TapeArchive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    links = [
        LINK.format(sb, sb).replace(".tar", "_lost.tar" if sb == 1 else ".tar") for sb in range(3)
    ]
    for link in links:
        target = archive.root / surl.path_of(link).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
    archive.make_online([surl.path_of(link) for link in links])
    srm = tmp_path / "srm.txt"
    srm.write_text("\n".join(links) + "\n")
    assert main(["tokens", "create", "obs", "--srm", str(srm), "--size", "1", "--hold"]) == 0
    capsys.readouterr()
    start = time.monotonic()
    assert main(["stage", "release", "obs", "--door", archive.base_url]) == 0
    out = capsys.readouterr().out
    assert "released 2, still held 1" in out and "LOST/UNAVAILABLE" in out
    assert time.monotonic() - start < 30
