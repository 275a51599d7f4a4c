"""``lrt dev ...``: local stand-ins for the grid services, for demos and development."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List

__all__ = ["register"]


def register(subparsers: Any) -> None:
    dev = subparsers.add_parser(
        "dev", help="local simulators (LTA stager, StageIT) for demos and tests"
    )
    verbs = dev.add_subparsers(dest="verb", metavar="VERB", required=True)
    # The options are declared here (argparse.REMAINDER does not take a first '--option').
    sim = verbs.add_parser(
        "lta-simulator",
        help="run an LTA stager simulator (XML-RPC) on 127.0.0.1 until Ctrl-C",
    )
    sim.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    sim.add_argument("--delay", type=float, default=2.0, help="seconds per request step")
    sim.add_argument("--linger", type=float, default=600.0, help="seconds to keep done ones")
    sim.add_argument("--user", default="lta-user")
    sim.set_defaults(func=cmd_lta_simulator)
    stageit = verbs.add_parser(
        "stageit-simulator",
        help="run a StageIT simulator (REST + GraphQL over https) on 127.0.0.1 until Ctrl-C; "
        "prints its URL, the token file to use and the CA bundle",
    )
    # the same options as grid_lrt.client.devtools.stageit.server.add_arguments (not imported
    # here: it would load graphql-core at every `lrt` start)
    stageit.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    stageit.add_argument("--delay", type=float, default=2.0, help="seconds per request step")
    stageit.add_argument(
        "--stagingrc", type=Path, help="write the token file here (default: in a temp folder)"
    )
    stageit.add_argument("--door", help="WebDAV door URL for convert2webdav (default: made up)")
    stageit.set_defaults(func=cmd_stageit_simulator)


def cmd_lta_simulator(args: argparse.Namespace) -> int:
    from ..devtools.lta_simulator import main

    argv: List[str] = ["--port", str(args.port), "--delay", str(args.delay)]
    argv += ["--linger", str(args.linger), "--user", args.user]
    return main(argv)


def cmd_stageit_simulator(args: argparse.Namespace) -> int:
    from ..devtools.stageit.server import serve

    return serve(args)
