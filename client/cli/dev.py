"""``lrt dev ...``: local stand-ins for the grid services, for demos and development."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..devtools.service import StopSignal, run_until_stopped
from ..devtools.stageit_options import add_arguments

__all__ = ["lta_exports", "register"]

#: The LTA simulator's password unless LRT_SIM_LTA_PWD sets one (a loopback test service).
DEFAULT_SIM_PASSWORD = "lta-secret"  # noqa: S105


_EPILOG = """\
examples:
  lrt dev lta-simulator --port 8999        # then: eval the export line it prints
  lrt dev stageit-simulator --stagingrc ~/.stagingrc
"""


def register(subparsers: Any) -> None:
    dev = subparsers.add_parser(
        "dev",
        help="local simulators (LTA stager, StageIT) for demos and tests",
        description="Local stand-ins for the LTA's staging services, on 127.0.0.1, for "
        "demos and tests; each runs until Ctrl-C and prints how to point lrt at it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = dev.add_subparsers(dest="verb", metavar="VERB", required=True)
    # The options are declared here (argparse.REMAINDER does not take a first '--option').
    sim = verbs.add_parser(
        "lta-simulator",
        help="run an LTA stager simulator (XML-RPC) on 127.0.0.1 until Ctrl-C",
        description="Run an XML-RPC LTA stager simulator on 127.0.0.1 until Ctrl-C. It prints "
        "its URL and an export line for LRT_LTA_URL, LOFAR_LTA_USER and LOFAR_LTA_PWD (its "
        "password is lta-secret, or the one in LRT_SIM_LTA_PWD, which is never shown).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    sim.add_argument("--delay", type=float, default=2.0, help="seconds per request step")
    sim.add_argument("--linger", type=float, default=600.0, help="seconds to keep done ones")
    sim.add_argument("--user", default="lta-user", help="its user (default: lta-user)")
    sim.set_defaults(func=cmd_lta_simulator)
    stageit = verbs.add_parser(
        "stageit-simulator",
        help="run a StageIT simulator (REST + GraphQL over https) on 127.0.0.1 until Ctrl-C; "
        "prints its URL, the token file to use and the CA bundle",
        description="Run a StageIT simulator (REST + GraphQL over https, token auth, the "
        "LTA's limits, macaroons) on 127.0.0.1 until Ctrl-C. It prints its URL, the token "
        "file to use as ~/.stagingrc and the CA bundle for REQUESTS_CA_BUNDLE.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(stageit)  # without importing the simulator (graphql-core)
    stageit.set_defaults(func=cmd_stageit_simulator)


def lta_exports(url: str, user: str, password_from_env: bool) -> str:
    """The line that points ``lrt stage`` at the simulator: its URL, user and password.

    The default password is a fixed one for this loopback test service, so it is printed;
    one chosen with ``LRT_SIM_LTA_PWD`` is passed on by name, never shown."""
    password = '"$LRT_SIM_LTA_PWD"' if password_from_env else DEFAULT_SIM_PASSWORD
    return f"export LRT_LTA_URL={url} LOFAR_LTA_USER={user} LOFAR_LTA_PWD={password}"


def cmd_lta_simulator(args: argparse.Namespace) -> int:
    from ..devtools.lta_simulator import LtaSimulator

    # The password is never a flag (it would show in `ps`): LRT_SIM_LTA_PWD or the default.
    chosen = os.environ.get("LRT_SIM_LTA_PWD")
    sim = LtaSimulator(
        args.port,
        user=args.user,
        password=chosen or DEFAULT_SIM_PASSWORD,
        delay=args.delay,
        linger=args.linger,
    )
    with StopSignal() as stop, sim:  # Ctrl-C stops it from before the first line
        print(sim.url, flush=True)
        print(lta_exports(sim.url, args.user, bool(chosen)), flush=True)
        print("Ctrl-C stops the simulator", file=sys.stderr, flush=True)
        run_until_stopped(stop)
    return 0


def cmd_stageit_simulator(args: argparse.Namespace) -> int:
    from ..devtools.stageit.server import serve

    return serve(args)
