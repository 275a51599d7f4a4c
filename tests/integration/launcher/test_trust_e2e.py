"""What a pipeline gets from a real launcher process (issue 9, finding 10).

The launcher logs in as a user whose password holds ``$@%:``, given in ``PICAS_URL`` itself
(``http://user:password@host``) or in ``PICAS_USR_PWD``. The pipeline used to get the password
and a ``PICAS_URL`` with it by default; now it gets neither unless the launcher runs with
``--export-credentials``, and the seed's ``master.sh`` check (code 1: ``TOKEN``, ``PICAS_USR``,
``PICAS_DB``) still passes. No log line of the launcher shows the password, even at ``-vv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator
from urllib.parse import quote

import pytest

from grid_lrt.shared.couch import CouchDB
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.launcher_kit import launcher_env, run_launcher, save_tokens, token_doc
from tests.support.secret_user import SECRET, USER, secret_admin

TYPE = "trust_e2e"
#: GRID_LRT's master.sh start (code 1), the environment into a file beside the marker, a result.
COMMAND = (
    'if [ -z "$TOKEN" ] || [ -z "$PICAS_USR" ] || [ -z "$PICAS_DB" ]; then exit 1; fi; '
    'env > "$MARKER.env"; echo ok > Output/ok.txt'
)


@pytest.fixture
def user(couchdb_server: CouchServer) -> Iterator[str]:
    with secret_admin(couchdb_server) as name:
        yield name


@pytest.fixture
def db(couchdb_server: CouchServer, couch_db_name: str) -> CouchDB:
    db = couch(couchdb_server, couch_db_name)
    save_tokens(db, [token_doc(TYPE, "t_env", command=COMMAND, fetch_inputs=False)])
    return db


def _pipeline_env(env: Dict[str, str]) -> Dict[str, str]:
    lines = Path(env["MARKER"] + ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.mark.parametrize("where", ["PICAS_USR_PWD", "PICAS_URL"])
def test_the_pipeline_gets_no_credentials_by_default(
    couchdb_server: CouchServer, db: CouchDB, user: str, tmp_path: Path, where: str
) -> None:
    env = launcher_env(couchdb_server, db.name, tmp_path, LRT_LINGER="0")
    if where == "PICAS_URL":
        userinfo = f"{quote(USER, safe='')}:{quote(SECRET, safe='')}"
        env["PICAS_URL"] = couchdb_server.url.replace("://", f"://{userinfo}@")
        env["PICAS_USR"] = env["PICAS_USR_PWD"] = ""
    else:
        env.update(PICAS_USR=USER, PICAS_USR_PWD=SECRET)
    proc = run_launcher(env, TYPE, "-vv")
    assert proc.returncode == 0, proc.stderr
    doc = db.get("t_env")
    assert (doc["status"], doc["output"]) == ("done", 0), doc.get("launcher_status")
    seen = _pipeline_env(env)
    assert "PICAS_USR_PWD" not in seen
    assert (seen["PICAS_URL"], seen["PICAS_USR"], seen["TOKEN"]) == (
        couchdb_server.url,
        USER,
        "t_env",
    )
    dump = Path(env["MARKER"] + ".env").read_text()
    for shown in (SECRET, quote(SECRET, safe="")):
        assert shown not in dump
        assert shown not in proc.stderr + proc.stdout  # -vv: every debug line


def test_export_credentials_hands_the_password_to_the_pipeline(
    couchdb_server: CouchServer, db: CouchDB, user: str, tmp_path: Path
) -> None:
    env = launcher_env(couchdb_server, db.name, tmp_path, LRT_LINGER="0")
    env.update(PICAS_USR=USER, PICAS_USR_PWD=SECRET)
    proc = run_launcher(env, TYPE, "--export-credentials")
    assert proc.returncode == 0, proc.stderr
    seen = _pipeline_env(env)
    assert seen["PICAS_USR_PWD"] == SECRET
    assert seen["PICAS_URL"] == couchdb_server.url
    assert SECRET not in proc.stderr + proc.stdout
