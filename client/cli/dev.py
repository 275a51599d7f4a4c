"""``lrt dev ...``: local stand-ins for the grid services, for demos and development."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    dev = subparsers.add_parser("dev", help="local simulators (LTA stager) for demos and tests")
    verbs = dev.add_subparsers(dest="verb", metavar="VERB", required=True)
    sim = verbs.add_parser(
        "lta-simulator",
        add_help=False,
        help="run an LTA stager simulator (XML-RPC) on 127.0.0.1 until Ctrl-C",
    )
    sim.add_argument("rest", nargs=argparse.REMAINDER)
    sim.set_defaults(func=cmd_lta_simulator)


def cmd_lta_simulator(args: argparse.Namespace) -> int:
    from ..devtools.lta_simulator import main

    return main(args.rest)
