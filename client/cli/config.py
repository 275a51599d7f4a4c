"""``lrt config ...``: show the settings in effect (and where each came from), write the
credentials files.

``show`` reads everything through the readers the commands use (:mod:`..configview`); no
secret is ever printed, only whether it is set. ``init`` writes ``~/.picasrc`` (``$PICASRC``,
or the global ``--config FILE``) and, with a StageIT API token, ``~/.stagingrc``, both 0600
(:mod:`..configfiles`). Secrets are never taken from the command line (``ps`` shows it to
every user, the shell history keeps it): at a terminal they are asked for without echo,
otherwise read from stdin (``--password-stdin``, ``--stageit-token-stdin``).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.credentials import DEFAULT_URL, picasrc_path
from grid_lrt.shared.errors import UsageError

from ..configfiles import (
    CredentialsFile,
    picasrc_file,
    refuse_existing,
    stagingrc_file,
    write_private,
)
from ..configview import effective_settings, shown_path
from ..staging.stageitcreds import stagingrc_path
from .connect import add_connection_options, check_answers, check_server_url
from .globalopts import CREATES_CONFIG, json_option
from .output import print_json, print_table

__all__ = ["register"]

log = logging.getLogger(__name__)

#: The variables that win over a line of ~/.picasrc (grid_lrt.shared.credentials).
_WINNING_VARIABLES = {
    "url": "PICAS_URL",
    "database": "PICAS_DB",
    "user": "PICAS_USR",
    "password": "PICAS_USR_PWD",
}

_INIT_EPILOG = (
    "At a terminal, init asks for what no option gives (the password and the API token "
    "without echo; Enter skips the token). Otherwise --db and --user are needed, and the "
    "secrets come from stdin: the password on the first line, then the token (with both "
    "options)."
    """

examples:
  lrt config init
  lrt config init --db sksp_dev --user alice --password-stdin < ~/picas-password
  printf '%s\\n%s\\n' "$PW" "$TOKEN" | lrt config init --db sksp_dev --user alice \\
      --password-stdin --stageit-token-stdin
  lrt --config ~/picas-test.rc config init --url http://127.0.0.1:5984 --db test --user admin \\
      --password-stdin --check
"""
)


def register(subparsers: Any) -> None:
    config = subparsers.add_parser(
        "config",
        help="show the settings in effect, write ~/.picasrc and ~/.stagingrc",
        description="Show the PiCaS, staging and LRT_* settings in effect and where each "
        "came from, or write the credentials files (mode 0600).",
        epilog="examples:\n  lrt config show\n  lrt config init",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = config.add_subparsers(dest="verb", metavar="VERB", required=True)
    show = verbs.add_parser(
        "show",
        help="the effective settings and where each came from (secrets masked)",
        description="Show the effective settings: PiCaS (file, url, database, user, "
        "password), staging (the service the credentials select, StageIT's host and token, "
        "the XML-RPC stager's user and password) and the LRT_* variables of the login node, "
        "each with where it came from (env PICAS_URL, ~/.picasrc line 3, --url, default). "
        "A secret shows as *** when set, never a character of it.",
        epilog="examples:\n  lrt config show\n  lrt config show --db sksp_dev --json\n"
        "  lrt --config ~/picas-test.rc config show",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    json_option(show, "print a JSON list of {name, value, source}")
    add_connection_options(show)
    show.set_defaults(func=cmd_show)
    init = verbs.add_parser(
        "init",
        help="write ~/.picasrc (and ~/.stagingrc) with mode 0600",
        description="Write the PiCaS settings to ~/.picasrc ($PICASRC, or the global "
        "--config FILE) and, given a StageIT API token, the token to ~/.stagingrc, both with "
        "mode 0600 from the start. An existing file is not overwritten without --force.",
        epilog=_INIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = init.add_argument_group("settings (secrets are never options)")
    group.add_argument("--url", help=f"the PiCaS (CouchDB) server (default: {DEFAULT_URL})")
    group.add_argument("--db", metavar="NAME", help="the database")
    group.add_argument("--user", help="the PiCaS user")
    group.add_argument(
        "--password-stdin", action="store_true", help="read the PiCaS password from stdin"
    )
    group.add_argument(
        "--stageit-token-stdin",
        action="store_true",
        help="read the StageIT API token from stdin (after the password, with both)",
    )
    group.add_argument("--stageit-host", metavar="HOST", help="hostname= for ~/.stagingrc")
    init.add_argument("--force", action="store_true", help="replace files that exist")
    init.add_argument(
        "--check",
        action="store_true",
        help="first check that the database answers with these settings (one request); "
        "nothing is written when it does not",
    )
    init.set_defaults(func=cmd_init, **{CREATES_CONFIG: True})


def cmd_show(args: argparse.Namespace) -> int:
    settings = effective_settings(url=args.url, db=args.db, config_file=args.config_file)
    if args.json:
        print_json([s.as_dict() for s in settings])
    else:
        rows = [(s.name, "-" if s.value is None else s.value, s.source) for s in settings]
        print_table(("setting", "value", "source"), rows)
    return 0


def _ask(question: str, default: str = "") -> str:
    """One answer from the terminal (the question on stderr); ``default`` for Enter."""
    sys.stderr.write(f"{question}{f' [{default}]' if default else ''}: ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no answer: the input ended", hint="give the settings as options")
    return line.strip() or default


def _from_terminal(args: argparse.Namespace, token_wanted: bool) -> Dict[str, Optional[str]]:
    url = args.url or _ask("PiCaS server URL", DEFAULT_URL)
    check_server_url(url, "the server URL")
    answers: Dict[str, Optional[str]] = {
        "url": url,
        "database": args.db or _ask("database"),
        "user": args.user or _ask("user"),
    }
    answers["password"] = getpass.getpass("PiCaS password (not shown): ") or None
    token = None
    if token_wanted:
        token = getpass.getpass("StageIT API token (not shown; Enter: none): ") or None
    answers["token"] = token
    return answers


def _from_stdin(args: argparse.Namespace) -> Dict[str, Optional[str]]:
    """The options, and the secrets from stdin: the password first, then the token."""
    missing = [flag for flag, value in (("--db", args.db), ("--user", args.user)) if not value]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} needed: there is no terminal to ask",
            hint="give --db and --user, the password with --password-stdin "
            "(run `lrt config init` at a terminal to be asked)",
        )
    wanted = [
        name
        for name, on in (("password", args.password_stdin), ("token", args.stageit_token_stdin))
        if on
    ]
    lines = [line.rstrip("\r") for line in sys.stdin.read().split("\n")] if wanted else []
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) != len(wanted) or not all(lines):
        order = " then the ".join(f"{name} on line {i}" for i, name in enumerate(wanted, 1))
        raise UsageError(
            f"stdin must hold {len(wanted)} non-empty line(s): the {order}",
            hint="e.g. printf '%s\\n' \"$PW\" | lrt config init ... --password-stdin",
        )
    secrets = dict(zip(wanted, lines))
    return {
        "url": args.url or DEFAULT_URL,
        "database": args.db,
        "user": args.user,
        "password": secrets.get("password"),
        "token": secrets.get("token"),
    }


def _check(answers: Dict[str, Optional[str]]) -> None:
    db = CouchDB(
        str(answers["url"]),
        str(answers["database"]),
        user=answers["user"] or None,
        password=answers["password"] or "",
    )
    check_answers(db)
    print(f"checked: database {db.name} on {db.server_url} answers", file=sys.stderr)


def _overridden(written: CredentialsFile) -> None:
    """Warn about the variables that win over the PiCaS settings just written."""
    for key, _, _ in written.lines:
        variable = _WINNING_VARIABLES.get(key, "")
        if os.environ.get(variable):
            log.warning(
                "%s is set and wins over %s= of %s; unset it to use the file",
                variable,
                key,
                shown_path(written.path),
            )


def _answers(args: argparse.Namespace, stagingrc: Path) -> Dict[str, Optional[str]]:
    """The settings to write: asked at a terminal, else the options and stdin's secrets."""
    if args.stageit_token_stdin:
        refuse_existing([stagingrc], args.force)
    if not sys.stdin.isatty() or args.password_stdin or args.stageit_token_stdin:
        return _from_stdin(args)
    token_wanted = args.force or not (stagingrc.exists() or stagingrc.is_symlink())
    if not token_wanted:
        log.warning(
            "%s exists: not asking for a StageIT token (--force replaces it)",
            shown_path(stagingrc),
        )
    answers = _from_terminal(args, token_wanted)
    for key, flag in (("database", "--db"), ("user", "--user")):
        if not answers[key]:
            raise UsageError(f"no {key} given", hint=f"answer it, or give {flag}")
    return answers


def cmd_init(args: argparse.Namespace) -> int:
    picasrc, stagingrc = picasrc_path(), stagingrc_path()
    refuse_existing([picasrc], args.force)
    if args.url:
        check_server_url(args.url, "--url")
    answers = _answers(args, stagingrc)
    files = [
        picasrc_file(
            picasrc,
            str(answers["url"]),
            str(answers["database"]),
            str(answers["user"]),
            answers["password"],
        ),
    ]
    if answers["token"]:
        files.append(stagingrc_file(stagingrc, answers["token"], args.stageit_host))
    elif args.stageit_host:
        log.warning("--stageit-host without an API token: %s not written", shown_path(stagingrc))
    if args.check:
        _check(answers)
    for written in files:
        write_private(written.path, written.text())
        print(f"wrote {shown_path(written.path)} (mode 0600):")
        for line in written.shown():
            print(f"  {line}")
    if not answers["password"]:
        log.warning("no password written: give it in PICAS_USR_PWD, or run init again")
    _overridden(files[0])
    return 0
