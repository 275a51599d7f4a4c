"""``lrt-launcher`` (also ``python -m grid_lrt.launcher`` and ``python3 grid-lrt-launcher.pyz``).

The worker-node launcher. Credentials come from the environment or ``~/.picasrc`` only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.logsetup import setup_logging

from .config import OPTIONS, LauncherConfig

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
  1        cannot work at all: no credentials, server unreachable, no permission
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
    run.add_argument("--keep-jobdirs", action="store_true", help="keep each token's job directory")
    run.add_argument(
        "-v", "--verbose", action="count", default=1, help="more log output (-vv: debug)"
    )
    run.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)
    setup_logging(0 if args.quiet else args.verbose, with_host=True)
    flags: Dict[str, Any] = {name: getattr(args, name) for name in OPTIONS}
    flags["keep_jobdirs"] = args.keep_jobdirs
    try:
        config = LauncherConfig.load(args.type, flags)
        from .loop import Launcher  # imported late: `--help` works without requests

        return Launcher(config).run()
    except LrtError as exc:
        print(f"lrt-launcher: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"lrt-launcher: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_status


def run(argv: Optional[List[str]] = None) -> None:
    raise SystemExit(main(argv))


if __name__ == "__main__":
    run()
