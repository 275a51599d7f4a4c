"""Bad-input corpus of the login node (issue 9): ``lrt`` and GRID_LRT's API given mistakes.

Every case runs against the real server fixture on a database seeded with tokens, views and a
per-type design document, and asserts two things:

* the answer: the exit status and a message that names the problem (``error:`` first, no
  traceback, no "bug in grid-lrt", no secret), or for the API the exception and its message;
* that nothing in the database changed: every document (design documents included) has the
  same revision before and after.

The launcher's corpus is tests/corpus/test_launcher_corpus.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple, Type

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.staging.srmlist import srmlist
from grid_lrt.client.token import TokenHandler, TokenSet
from grid_lrt.client.typeviews import TypeViews
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ConfigError, LrtError, UsageError
from grid_lrt.shared.schema import inline_attachment, new_token
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.paths import DATA
from tests.support.pools import pool_of

TYPE = "corpus"
SECRET = "corpus-Pw-7x"  # the password the cases must never show
SARA_LINE = (DATA / "srm_50_sara.txt").read_text().splitlines()[0]
JUELICH_LINE = (DATA / "srm_juelich.txt").read_text().splitlines()[0]
EVIL_IDS = ("../../victim/autostart/x", "/absolute/token", "nul\x00byte", "x" * 300)

#: Files the cases refer to as ``{name}``; written into the case's folder.
FILES: Dict[str, str] = {
    "good.srm": (DATA / "srm_50_sara.txt").read_text(),
    "mixed.srm": f"{SARA_LINE}\n{JUELICH_LINE}\n",
    "notalink.srm": f"{SARA_LINE}\nnot a link\n",
    "empty.srm": "# nothing but a comment\n\n",
    "unknown_section.cfg": "Token:\n  a: 1\nSandbx: {}\n",
    "wrong_type.cfg": "Token:\n  lock: 'yes'\n",
    "nan.cfg": "Token:\n  ok: 1\n  weight: .nan\n",
    "id.cfg": "Token:\n  _id: fixed\n",
    "bad_yaml.cfg": "Token:\n  status: queued\n   bad: indent\n",
    "other_type.cfg": "Token:\n  type: another_type\n",
    "not_a_mapping.cfg": "- just\n- a list\n",
    "afile": "I am a file, not a folder\n",
}


@dataclass(frozen=True)
class CliCase:
    """``lrt ARGV`` must exit ``status`` with ``message`` on stderr (or stdout for 0)."""

    name: str
    argv: Tuple[str, ...]
    status: int
    message: str


CLI_CASES = [
    CliCase(
        "yaml-unknown-section",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{unknown_section.cfg}"),
        2,
        "unknown_section.cfg, line 3: unknown section 'Sandbx'",
    ),
    CliCase(
        "yaml-wrong-type",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{wrong_type.cfg}"),
        2,
        "token field 'lock' must be an integer",
    ),
    CliCase(
        "yaml-nan",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{nan.cfg}"),
        2,
        "line 3: token field 'weight' is nan: not a finite number",
    ),
    CliCase(
        "yaml-id",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{id.cfg}"),
        2,
        "'_id' cannot be set in a token configuration",
    ),
    CliCase(
        "yaml-syntax",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{bad_yaml.cfg}"),
        2,
        "bad_yaml.cfg, line 3",
    ),
    CliCase(
        "yaml-type-differs",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{other_type.cfg}"),
        2,
        "the Token section's type differs from TYPE",
    ),
    CliCase(
        "yaml-not-a-mapping",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{not_a_mapping.cfg}"),
        2,
        "the top level must be a mapping",
    ),
    CliCase(
        "yaml-missing",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{dir}/none.cfg"),
        2,
        "cannot read token configuration",
    ),
    CliCase(
        "yaml-is-a-folder",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--config", "{dir}"),
        2,
        "cannot read token configuration",
    ),
    CliCase(
        "type-with-slash",
        ("tokens", "list", "a/b", "todo"),
        2,
        "invalid token type 'a/b'",
    ),
    CliCase(
        "srm-mixed-sites",
        ("tokens", "create", TYPE, "--srm", "{mixed.srm}"),
        2,
        "mixed.srm, line 2",
    ),
    CliCase(
        "srm-not-a-link",
        ("tokens", "create", TYPE, "--srm", "{notalink.srm}"),
        2,
        "notalink.srm, line 2",
    ),
    CliCase("srm-empty", ("tokens", "create", TYPE, "--srm", "{empty.srm}"), 2, "holds no SURLs"),
    CliCase("srm-missing", ("tokens", "create", TYPE, "--srm", "{dir}/none.srm"), 2, "none.srm"),
    CliCase("srm-is-a-folder", ("tokens", "create", TYPE, "--srm", "{dir}"), 2, "Is a directory"),
    CliCase(
        "negative-size",
        ("tokens", "create", TYPE, "--srm", "{good.srm}", "--size", "-3"),
        2,
        "--size must be at least 1, not -3",
    ),
    CliCase(
        "unknown-view-list",
        ("tokens", "list", TYPE, "nosuchview"),
        2,
        "view 'nosuchview' does not exist",
    ),
    CliCase(
        "unknown-view-reset",
        ("tokens", "reset", TYPE, "nosuchview", "--yes"),
        2,
        "view 'nosuchview' does not exist",
    ),
    CliCase(
        "unknown-view-delete",
        ("tokens", "delete", TYPE, "nosuchview", "--yes"),
        2,
        "view 'nosuchview' does not exist",
    ),
    CliCase(
        "reset-without-view",
        ("tokens", "reset", TYPE),
        2,
        "lrt tokens reset needs a VIEW",
    ),
    CliCase(
        "reset-stale-with-view",
        ("tokens", "reset", TYPE, "error", "--stale"),
        2,
        "give no VIEW with it",
    ),
    CliCase(
        "delete-many-unconfirmed",
        ("tokens", "delete", TYPE, "error"),
        2,
        "not confirmed: delete of 7 tokens cancelled",
    ),
    CliCase(
        "url-with-credentials",
        ("tokens", "status", TYPE, "--url", "{url_with_credentials}"),
        2,
        "--url must not hold a user name or password",
    ),
    CliCase(
        "url-malformed",
        ("tokens", "status", TYPE, "--url", "http://[::1"),
        2,
        "--url 'http://[::1' is not a valid server URL",
    ),
    CliCase(
        "url-no-scheme",
        ("tokens", "status", TYPE, "--url", "picas.example.org:6984"),
        2,
        "is not a valid server URL",
    ),
    CliCase(
        "unknown-database",
        ("tokens", "status", TYPE, "--db", "no_such_db_corpus"),
        1,
        "database 'no_such_db_corpus' does not exist",
    ),
    CliCase(
        "archive-dest-is-a-file",
        ("tokens", "archive", TYPE, "--dest", "{afile}"),
        2,
        "is a file, not a folder",
    ),
    CliCase(
        "archive-delete-unconfirmed",
        ("tokens", "archive", TYPE, "--dest", "{dir}/out", "--delete"),
        2,
        "not confirmed: nothing was archived or deleted",
    ),
    CliCase(
        "archive-all-states-alone",
        ("tokens", "archive", TYPE, "--dest", "{dir}/out", "--all-states"),
        2,
        "--all-states goes with --delete",
    ),
    CliCase(
        "archive-traversal-ids",
        ("tokens", "archive", "evil", "--dest", "{dir}/out"),
        0,
        "archived 4 tokens of type evil",
    ),
    CliCase(
        "stage-wait-not-an-id",
        ("stage", "wait", "not-a-number", "--timeout", "1"),
        2,
        "'not-a-number' is not an LTA stage request id",
    ),
]


def _seed(db: CouchDB) -> None:
    pool = pool_of(db)
    docs: List[Dict[str, Any]] = []
    for n in range(7):
        docs.append(new_token(TYPE, f"t_{TYPE}_e{n}", {"lock": 1, "done": 2, "output": 21}))
    docs += [new_token(TYPE, f"t_{TYPE}_d{n}", {"lock": 1, "done": 2}) for n in range(2)]
    docs.append(new_token(TYPE, f"t_{TYPE}_todo"))
    docs += [new_token("evil", token_id, {"done": 1}) for token_id in EVIL_IDS]
    docs.append(new_token("a_b", "t_a_b_x"))
    for doc in docs:
        doc["_attachments"] = {
            "srm.txt": inline_attachment(SARA_LINE.encode() + b"\n", "text/plain"),
            "../../escape.sh": inline_attachment(b"#!/bin/sh\n", "text/plain"),
        }
    assert pool.create(docs).ok
    TypeViews(pool, TYPE).add_status_views()


def snapshot(db: CouchDB) -> Dict[str, str]:
    """Every document of the database (design documents too) and its revision."""
    rows = db.all_docs()["rows"]
    return {str(row["id"]): str(row["value"]["rev"]) for row in rows}


@pytest.fixture
def corpus_db(
    couchdb_server: CouchServer,
    couch_db_name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[CouchDB]:
    """The seeded database, ``PICAS_*`` pointing at it, and an empty home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PICAS_URL", couchdb_server.url)
    monkeypatch.setenv("PICAS_DB", couch_db_name)
    monkeypatch.setenv("PICAS_USR", couchdb_server.user)
    monkeypatch.setenv("PICAS_USR_PWD", couchdb_server.password)
    db = couch(couchdb_server, couch_db_name)
    _seed(db)
    before = snapshot(db)
    yield db
    assert snapshot(db) == before, "the database changed"


def _argv(case: CliCase, folder: Path, server: CouchServer) -> List[str]:
    """The case's argv with ``{file}``, ``{dir}`` and ``{url_with_credentials}`` filled in."""
    values = {f"{{{name}}}": str(folder / name) for name in FILES}
    values["{dir}"] = str(folder)
    values["{url_with_credentials}"] = server.url.replace("://", f"://admin:{SECRET}@")
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    argv = []
    for part in case.argv:
        filled = part
        for key, value in values.items():
            filled = filled.replace(key, value)
        argv.append(filled)
    return argv


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_cli_case(
    case: CliCase,
    corpus_db: CouchDB,
    couchdb_server: CouchServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    assert main(_argv(case, folder, couchdb_server)) == case.status
    out, err = capsys.readouterr()
    shown = out if case.status == 0 else err
    assert case.message in shown, shown
    if case.status:
        assert err.startswith("error: "), err
    for bad in ("Traceback", "bug in grid-lrt", "unexpected", SECRET):
        assert bad not in out + err
    assert not (tmp_path / "victim").exists() and not (folder / "escape.sh").exists()


# -- GRID_LRT's API -------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCase:
    """``call(folder)`` must raise ``error`` whose message holds ``message``."""

    name: str
    call: Callable[[Path], object]
    error: Type[LrtError]
    message: str


def _write(folder: Path, name: str) -> str:
    path = folder / name
    path.write_text(FILES[name], encoding="utf-8")
    return str(path)


API_CASES: Sequence[ApiCase] = [
    ApiCase(
        "create-token-nan",
        lambda d: TokenHandler(TYPE).create_token(keys={"w": math.nan}, append="n"),
        UsageError,
        "token field 'w' is nan: not a finite number",
    ),
    ApiCase(
        "create-token-of-another-type",
        lambda d: TokenHandler("a").create_token(append="b_x"),
        UsageError,
        "already used by tokens of another type, e.g. t_a_b_x (type 'a_b')",
    ),
    ApiCase(
        "get-missing-attachment",
        lambda d: TokenHandler(TYPE).get_attachment(f"t_{TYPE}_e0", "no.txt", str(d / "x")),
        UsageError,
        f"token 't_{TYPE}_e0' has no attachment 'no.txt'",
    ),
    ApiCase(
        "reset-unknown-view",
        lambda d: TokenHandler(TYPE).reset_tokens("nosuchview"),
        UsageError,
        "view 'nosuchview' does not exist",
    ),
    ApiCase(
        "del-unknown-view",
        lambda d: TokenHandler(TYPE).del_view("nosuchview"),
        UsageError,
        "view 'nosuchview' does not exist",
    ),
    ApiCase(
        "tokenset-bad-config",
        lambda d: TokenSet(TokenHandler(TYPE), tok_config=_write(d, "unknown_section.cfg")),
        ConfigError,
        "unknown section 'Sandbx'",
    ),
    ApiCase(
        "tokenset-nan-config",
        lambda d: TokenSet(TokenHandler(TYPE), tok_config=_write(d, "nan.cfg")),
        ConfigError,
        "token field 'weight' is nan",
    ),
    ApiCase(
        "srmlist-not-a-link",
        lambda d: srmlist.from_file(_write(d, "notalink.srm")),
        LrtError,
        "line 2",
    ),
    ApiCase(
        "tokenhandler-bad-url",
        lambda d: TokenHandler(TYPE, srv="http://[::1", uname="u", pwd=SECRET, dbn="x"),
        UsageError,
        "srv is not a valid server URL",
    ),
    ApiCase(
        "archive-a-missing-token",
        lambda d: TokenHandler(TYPE).archive_a_token("t_none"),
        UsageError,
        "token 't_none' does not exist",
    ),
    ApiCase(
        "archive-into-a-file",
        lambda d: TokenHandler(TYPE).archive_tokens(dest=_write(d, "afile")),
        UsageError,
        "is a file, not a folder",
    ),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c.name for c in API_CASES])
def test_api_case(
    case: ApiCase, corpus_db: CouchDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # GRID_LRT's archive functions write into the current folder
    with pytest.raises(case.error) as info:
        case.call(tmp_path)
    assert case.message in str(info.value)
    assert SECRET not in str(info.value) + info.value.hint
