"""Bad-input corpus of the login node (issue 9), ``lrt``: every case runs against the real
server fixture on a seeded database (tests/corpus/client_kit.py) and asserts the exit status,
a message that names the problem (``error:`` first, no traceback, no "bug in grid-lrt", no
secret), and that no document of the database changed. GRID_LRT's API cases are in
test_client_api_corpus.py, the launcher's in test_launcher_corpus.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.shared.couch import CouchDB
from tests.corpus.client_kit import FILES, SECRET, TYPE
from tests.support.couchdb import CouchServer


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
        "'not-a-number' is not a stage request id",
    ),
]


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
    client_db: CouchDB,
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
