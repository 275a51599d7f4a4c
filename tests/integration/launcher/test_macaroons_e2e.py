"""A real launcher process reads its inputs from a macaroon-checking door (issue 11).

The macaroon reaches the launcher only in its credentials file (``PICASRC``), as ``lrt submit``
writes it. The token completes with a valid macaroon and ends with 21 (message and hint) with
an expired one. The macaroon is in no log line (launcher stderr at ``-vv``), no token field or
attachment, and no process's argv or environment (the pipeline's among them) while the
launcher runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from tests.support.archive_server import running_archive
from tests.support.couchdb import CouchServer
from tests.support.helpers import documents_text
from tests.support.launcher_kit import (
    launcher_env,
    make_sandbox,
    save_tokens,
    start_launcher,
    token_doc,
)
from tests.support.macaroon_kit import mint_for, put_file
from tests.support.procscan import processes_holding

TYPE = "macaroon_e2e"
SECRET = b"e2e-door-secret"
PATH = "/pnfs/grid.sara.nl/data/lofar/ops/projects/lc0_012/229507/L229507_SB000_uv.MS.txt"
DATA = b"visibilities\n" * 1000
BACKENDS = ["builtin", pytest.param("gfal2", marks=pytest.mark.gfal2)]


@pytest.fixture
def door(tmp_path: Path) -> Iterator[Any]:
    put_file(tmp_path / "door", PATH, DATA)
    with running_archive(tmp_path / "door", delay=0.1, macaroon_secret=SECRET) as archive:
        yield archive


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "gfal2":
        request.getfixturevalue("gfal2_module")
    return str(request.param)


def _run(
    server: CouchServer, db: CouchDB, door: Any, tmp_path: Path, backend: str, valid_until: str
) -> Tuple[str, str, Dict[str, str]]:
    """One launcher over one token reading ``PATH`` from ``door``: (macaroon, stderr, argv hits)."""
    token = mint_for(SECRET, "/pnfs/grid.sara.nl/data/lofar/ops")
    rc = tmp_path / "lrt-credentials"
    rc.write_text(f"# written by lrt submit\nmacaroon={door.base_url} {valid_until} {token}\n")
    rc.chmod(0o600)
    sandbox = make_sandbox(tmp_path / "sandbox.tar.gz")
    results = tmp_path / "results"
    results.mkdir()
    fields = {"SBXloc": sandbox.as_uri(), "RESULTS_DIR": results.as_uri() + "/", "MODE": "sleep",
              "SLEEP": "1", "OBSID": "L229507", "STARTSB": "000"}  # fmt: skip
    save_tokens(db, [token_doc(TYPE, "t_mac", srm=door.base_url + PATH + "\n", **fields)])
    env = launcher_env(server, db.name, tmp_path, LRT_LINGER="0", LRT_STORAGE=backend)
    env.update(PICASRC=str(rc), X509_CERT_DIR=str(door.cert_dir))
    proc = start_launcher(env, TYPE, "-vv", "--max-tasks", "1")
    hits: Dict[str, str] = {}
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        hits.update(processes_holding([token]))
        time.sleep(0.05)
    out, err = proc.communicate(timeout=30)
    return token, out + err, hits


def test_the_token_completes_with_a_valid_macaroon(
    couchdb_server: CouchServer, db: CouchDB, door: Any, tmp_path: Path, backend: str
) -> None:
    token, logs, argv = _run(couchdb_server, db, door, tmp_path, backend, "2100-01-01T00:00:00Z")
    doc = db.get("t_mac")
    assert (doc["status"], doc["output"]) == ("done", 0), (doc.get("launcher_status"), logs)
    assert (tmp_path / "results" / "L229507_SB000_uv.MS.txt.out").read_bytes() == DATA
    assert door.refusals == []
    assert any(auth == f"Bearer {token}" for method, _p, auth in door.seen if method == "GET")
    assert token not in logs
    assert token not in documents_text(couchdb_server, db.name, ["t_mac"])
    assert argv == {}


def test_an_expired_macaroon_ends_the_token_with_21(
    couchdb_server: CouchServer, db: CouchDB, door: Any, tmp_path: Path, backend: str
) -> None:
    token, logs, argv = _run(couchdb_server, db, door, tmp_path, backend, "2020-01-01T00:00:00Z")
    doc = db.get("t_mac")
    assert (doc["status"], doc["output"]) == ("error", int(ErrorCode.DOWNLOAD_FAILED)), logs
    status = str(doc.get("launcher_status"))
    assert f"the macaroon for {door.base_url} expired at 2020-01-01T00:00:00Z" in status
    assert "lrt stage macaroons ID" in status + logs
    assert not any(path == PATH for _m, path, _a in door.seen)  # refused before any request
    assert token not in logs
    assert token not in documents_text(couchdb_server, db.name, ["t_mac"])
    assert argv == {}
