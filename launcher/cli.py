"""``lrt-launcher`` (also ``python -m grid_lrt.launcher`` and ``python3 grid-lrt-launcher.pyz``).

The worker-node launcher. Credentials come from the environment or ``~/.picasrc`` only. Once
read, the password is taken out of the launcher's own environment (so no child inherits it
unless ``--export-credentials`` hands it over) and registered for redaction by value: no log
line of this process shows it (:class:`~grid_lrt.shared.redact.SecretFilter`).

A user mistake ends with a message and exit 1, never a traceback: a ``PICAS_URL`` that is no
usable URL, or an address that answers but not as CouchDB (a web page). A bug in a token's
run still ends that token with code 14 and its traceback (``runner.py``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.logsetup import setup_logging
from grid_lrt.shared.redact import SecretFilter, add_secret, redact

from .config import OPTIONS, SWITCHES, LauncherConfig
from .server import ServerError

__all__ = ["main", "run"]

try:
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("grid-lrt")
    except PackageNotFoundError:  # running from the zipapp
        __version__ = "zipapp"
except ImportError:  # pragma: no cover
    __version__ = "unknown"

_EPILOG = """\
environment:
  PICAS_USR, PICAS_USR_PWD, PICAS_DB, PICAS_URL   the token pool (or ~/.picasrc with
                                                 user=, password=, database=, url= lines)
  every option below also reads an LRT_* variable (shown in its help); flags win.

exit status:
  0        no more todo tokens (or a stop criterion): each token's outcome is in the token
  1        cannot work at all: no credentials, a PICAS_URL that is no CouchDB server,
           server unreachable, no permission
  2        bad usage
  128+N    stopped by signal N (143: SIGTERM); the token in hand went back to todo

example (in a job script):
  export PICAS_USR=alice PICAS_DB=alice_db PICAS_URL=https://picas.example.org:6984
  export PICAS_USR_PWD="$(cat ~/.picas-password)"
  python3 grid-lrt-launcher.pyz run pref_cal1 --max-time 20h --heartbeat 60 --lease 10m
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrt-launcher",
        description="Worker-node launcher: lock a todo token, fetch its sandbox and data, run "
        "the pipeline, upload the results and record the outcome in the token; repeat.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    run = verbs.add_parser(
        "run",
        help="process tokens of TYPE until none is left",
        description="Process todo tokens of TYPE until none is left or a limit is reached.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("type", metavar="TYPE", help="the token type (the tokens' `type` field)")
    for name, (var, default, kind, text) in OPTIONS.items():
        metavar = {"duration": "SECONDS", "int": "N", "path": "DIR"}.get(kind, "VALUE")
        run.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            metavar=metavar,
            default=None,
            help=f"{text} (${var}; default {default!r})".replace("%", "%%"),
        )
    for name, (var, default, flag, text) in SWITCHES.items():
        run.add_argument(
            flag,
            dest=name,
            action="store_const",
            const=not default,
            default=None,
            help=f"{text} (the same: {var}={0 if default else 1})".replace("%", "%%"),
        )
    run.add_argument("--keep-jobdirs", action="store_true", help="keep each token's job directory")
    run.add_argument(
        "-v", "--verbose", action="count", default=1, help="more log output (-vv: debug)"
    )
    run.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return parser


def _guard_secret(password: str) -> None:
    """Keep ``password`` out of children's environments and out of every log line."""
    add_secret(password)
    os.environ.pop("PICAS_USR_PWD", None)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())


def _not_json(exc: ValueError) -> bool:
    """A JSON decoding error (json's, requests' or simplejson's), not any ValueError."""
    return any(cls.__name__ == "JSONDecodeError" for cls in type(exc).__mro__)


def _fail(exc: LrtError) -> int:
    print(f"lrt-launcher: error: {redact(exc.message)}", file=sys.stderr)
    if exc.hint:
        print(f"lrt-launcher: hint: {redact(exc.hint)}", file=sys.stderr)
    return exc.exit_status


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)
    setup_logging(0 if args.quiet else args.verbose, with_host=True)
    flags: Dict[str, Any] = {name: getattr(args, name) for name in (*OPTIONS, *SWITCHES)}
    flags["keep_jobdirs"] = args.keep_jobdirs
    try:
        config = LauncherConfig.load(args.type, flags)
        _guard_secret(config.password)
        from .loop import Launcher  # imported late: `--help` works without requests

        return Launcher(config).run()  # its first request checks that CouchDB answers
    except LrtError as exc:
        return _fail(exc)
    except ValueError as exc:  # outside a token's run: the server answered no JSON
        if not _not_json(exc):
            raise
        return _fail(
            ServerError(
                "the server answered something that is not JSON (is PICAS_URL the CouchDB "
                "address, and no proxy or web page in between?)",
                hint="check PICAS_URL (or url= in ~/.picasrc)",
            )
        )


def run(argv: Optional[List[str]] = None) -> None:
    raise SystemExit(main(argv))


if __name__ == "__main__":
    run()
