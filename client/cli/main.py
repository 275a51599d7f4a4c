# PYTHON_ARGCOMPLETE_OK  (argcomplete's global completion looks for it in the first 1024 bytes)
"""``lrt``: the login-node command line. Nouns, then verbs: ``lrt tokens status TYPE``.

This module is the one place where exceptions become exit statuses:

* an ``LrtError`` (a user mistake, a refused login, an unreachable server ...) prints one
  ``error:`` line and a ``hint:`` line to stderr, and exits with its ``exit_status``;
* Ctrl-C exits 130; a closed pipe (``lrt ... | head``) exits 0, quietly (no traceback, not
  even when Python flushes stdout at exit);
* anything else is a bug: one line, the traceback only with ``-v``, exit 1;
* argparse exits 2 for a command line it cannot parse.

Results go to stdout, logs, warnings and progress to stderr. The global options (``-v``,
``-q``, ``--json``, ``--config FILE``) are taken before or after the verb (``globalopts``).

Tab completion: a shell that ran ``lrt completion bash`` runs ``lrt`` with ``_ARGCOMPLETE``
set on TAB; ``main`` then hands the parser to argcomplete, which prints the completions and
exits before anything is parsed or run. argcomplete is imported only then.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from typing import List, Optional, Sequence

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.logsetup import setup_logging

from ..progress import set_quiet
from . import (
    campaign,
    completion,
    config,
    database,
    demo,
    dev,
    jobs,
    launcher,
    report,
    sandbox,
    server,
    srm,
    stage,
    submit,
    tokens,
)
from .globalopts import CREATES_CONFIG, LrtParser, check_json, picasrc_from

__all__ = ["build_parser", "main", "run"]

log = logging.getLogger("grid_lrt.client.cli")

_DESCRIPTION = """\
grid-lrt: push LOFAR observations through grid and HPC clusters with a PiCaS token pool.

Connection settings come from the environment (PICAS_URL, PICAS_DB, PICAS_USR,
PICAS_USR_PWD) or from ~/.picasrc (url=, database=, user=, password=; chmod 600):
`lrt config init` writes it, `lrt config show` shows what is in effect and why.
"""

_EPILOG = """\
examples:
  lrt demo                              run the whole flow on a local server
  lrt tokens status MYTYPE              counts per state
  lrt tokens reset MYTYPE error --yes   retry the failed tokens

Run `lrt NOUN --help` for each command's options.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = LrtParser(
        prog="lrt",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        top=True,
    )
    nouns = parser.add_subparsers(dest="noun", metavar="COMMAND", required=True)
    tokens.register(nouns)
    srm.register(nouns)
    stage.register(nouns)
    dev.register(nouns)
    database.register(nouns)
    server.register(nouns)
    demo.register(nouns)
    launcher.register(nouns)
    sandbox.register(nouns)
    submit.register(nouns)
    jobs.register(nouns)
    campaign.register(nouns)
    report.register(nouns)
    config.register(nouns)
    completion.register(nouns)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (lrt completion)
        import argcomplete

        # options only after a "-": a TAB after `lrt tokens status ` lists the types alone
        argcomplete.autocomplete(parser, always_complete_options=False)  # prints, exits
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except BrokenPipeError:  # `lrt --help | head`
        _drop_stdout()
        return 0
    setup_logging(0 if args.quiet else args.verbose)
    set_quiet(bool(args.quiet))
    if args.quiet:
        logging.getLogger().setLevel(logging.ERROR)
    try:
        check_json(args)
        with picasrc_from(args.config_file, must_exist=not getattr(args, CREATES_CONFIG, False)):
            return int(args.func(args))
    except LrtError as err:
        print(f"error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        if args.verbose >= 2:
            traceback.print_exc()
        return err.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 - the one boundary for unexpected errors
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        else:
            print(
                "hint: this is a bug in grid-lrt; run again with -v for the traceback "
                "and report it",
                file=sys.stderr,
            )
        return 1


def _drop_stdout() -> None:
    """Point stdout at /dev/null: the reader is gone, and Python's flush at exit would
    print a BrokenPipeError of its own."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def run(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point."""
    status = main(argv)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()
    raise SystemExit(status)


if __name__ == "__main__":
    run()
