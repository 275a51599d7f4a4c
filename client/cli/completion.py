"""``lrt completion bash|zsh``: the shell code that makes a shell complete ``lrt``.

The code is argcomplete's (``shellcode``): on TAB the shell runs ``lrt`` with
``_ARGCOMPLETE`` set, and ``main`` hands the parser tree to argcomplete before parsing, so
the completion is the parser's own: nouns, verbs, options, choices, file names, and the token
types of the database (``completers.py``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["SHELLS", "register"]

SHELLS = ("bash", "zsh")

_EPILOG = (
    "Put the line in your shell's start-up file and open a new shell. TAB then completes "
    "commands, options (after a -), choices, file names and the token types of your database "
    "(asked from the server, at most 3 s; nothing is offered when it does not answer)."
    """

examples:
  eval "$(lrt completion bash)"        in ~/.bashrc
  eval "$(lrt completion zsh)"         in ~/.zshrc, after compinit
  lrt tokens status L2<TAB>            the types of the database starting with L2
"""
)


def register(subparsers: Any) -> None:
    completion = subparsers.add_parser(
        "completion",
        help="print the shell code for tab completion of lrt (bash, zsh)",
        description="Print the code that makes SHELL complete lrt commands on TAB (argcomplete).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")
    completion.set_defaults(func=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode(["lrt"], shell=args.shell))
    return 0
