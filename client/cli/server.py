"""``lrt server ...``: the local CouchDB-compatible server kept on disk (start, stop, status)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Dict, Optional

from ..serverctl import (
    DEFAULT_DATABASE,
    ServerState,
    default_folder,
    server_status,
    start_server,
    stop_server,
)
from .globalopts import json_option
from .output import print_json

__all__ = ["register"]

_EPILOG = """\
examples:
  lrt server start                  # then paste the export line it prints
  lrt tokens status                 # with PICASRC=~/.local/share/grid-lrt/server/picasrc
  lrt server status --json
  lrt server stop                   # the databases stay; start resumes them
"""


def register(subparsers: Any) -> None:
    server = subparsers.add_parser(
        "server",
        help="a local CouchDB-compatible server kept on disk (start, stop, status)",
        description="Run a local CouchDB-compatible server (pouchdb-server, on 127.0.0.1) that "
        "keeps its databases in a folder and outlives the command that started it. It keeps "
        "its URL, admin login and data from one start to the next; its picasrc (url=, user=, "
        "password=, database=, chmod 600) points lrt at it. For one machine, not production.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = server.add_subparsers(dest="verb", metavar="VERB", required=True)
    start = verbs.add_parser(
        "start",
        help="start the server (or show the one running) and create its database",
        description="Start the server of the folder in the background, create the database "
        "(--db) on it and print the export line for its picasrc. A server that runs already "
        "is left as it is. The first start picks a free port and a random admin password; "
        "later starts reuse both.",
        epilog="examples:\n  lrt server start\n  lrt server start --dir ./couch --db sksp_dev\n"
        "  lrt server start --port 5984   # moves the server: its picasrc is rewritten",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _folder_option(start)
    start.add_argument(
        "--port", type=int, help="listen on this loopback port (default: the last one used)"
    )
    start.add_argument(
        "--db",
        default=DEFAULT_DATABASE,
        metavar="NAME",
        help=f"the database to create and name in picasrc (default: {DEFAULT_DATABASE})",
    )
    json_option(start, "print JSON (url, pid, folder, picasrc, database, running)")
    start.set_defaults(func=cmd_start)
    status = verbs.add_parser(
        "status",
        help="is the server running? (exit 0 when it is, 1 when not)",
        description="Show whether the server of the folder runs and answers: its URL, process "
        "and picasrc. Exits 0 when it runs, 1 when it does not.",
        epilog="examples:\n  lrt server status\n  lrt server status --dir ./couch --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _folder_option(status)
    json_option(status, "print JSON (url, pid, folder, picasrc, database, running)")
    status.set_defaults(func=cmd_status)
    stop = verbs.add_parser(
        "stop",
        help="stop the server; its databases stay in the folder",
        description="Stop the server of the folder (SIGTERM, then SIGKILL after 5 s). The "
        "databases and the picasrc stay: `lrt server start` resumes them. Stopping a server "
        "that is not running is no error.",
        epilog="examples:\n  lrt server stop\n  lrt server stop --dir ./couch",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _folder_option(stop)
    stop.set_defaults(func=cmd_stop)


def _folder_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        dest="folder",
        type=Path,
        metavar="FOLDER",
        help="the server's folder (default: $LRT_SERVER_DIR, else ~/.local/share/grid-lrt/server)",
    )


def _folder(args: argparse.Namespace) -> Path:
    folder: Optional[Path] = args.folder
    return folder if folder is not None else default_folder()


def _document(state: ServerState) -> Dict[str, Any]:
    return {
        "url": state.url,
        "pid": state.pid,
        "folder": str(state.folder),
        "picasrc": str(state.picasrc),
        "database": state.database,
        "running": True,
    }


def _describe(state: ServerState, verb: str) -> None:
    print(f"server {verb} on {state.url} (pid {state.pid}), database {state.database}")
    print(f"data in {state.folder / 'data'}; to use it:")
    print(f"export PICASRC={shlex.quote(str(state.picasrc))}")


def cmd_start(args: argparse.Namespace) -> int:
    folder = _folder(args)
    before = server_status(folder)
    state = start_server(folder, port=args.port, database=args.db)
    if args.json:
        print_json(_document(state))
    else:
        again = before is not None and before.pid == state.pid
        _describe(state, "already running" if again else "started")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    folder = _folder(args).expanduser().resolve()
    state = server_status(folder)
    if state is None:
        if args.json:
            keys = ("url", "pid", "folder", "picasrc", "database")
            print_json({**dict.fromkeys(keys), "folder": str(folder), "running": False})
        else:
            print(f"not running: no server in {folder}")
        print(f"hint: start it: lrt server start --dir {shlex.quote(str(folder))}", file=sys.stderr)
        return 1
    if args.json:
        print_json(_document(state))
    else:
        _describe(state, "running")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    folder = _folder(args).expanduser().resolve()
    if stop_server(folder):
        print(f"server stopped; its databases stay in {folder / 'data'}")
    else:
        print(f"not running: no server in {folder}")
    return 0
