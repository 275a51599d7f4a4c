"""``lrt db ...``: create a PiCaS database and show what it holds."""

from __future__ import annotations

import argparse
from typing import Any

from grid_lrt.shared.errors import UsageError

from .connect import add_connection_options, check_answers, database
from .globalopts import json_option
from .output import print_json

__all__ = ["register"]


def register(subparsers: Any) -> None:
    db = subparsers.add_parser(
        "db",
        help="create a database, show its size",
        description="Create the PiCaS database or show its size.",
        epilog="examples:\n  lrt db create sksp_dev\n  lrt db info --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = db.add_subparsers(dest="verb", metavar="VERB", required=True)
    create = verbs.add_parser(
        "create",
        help="create the database (needs server admin rights)",
        description="Create the PiCaS database NAME (default: --db, $PICAS_DB, database= in "
        "~/.picasrc) on the server. An existing database is left as it is.",
        epilog="examples:\n  lrt db create sksp_dev\n"
        "  lrt db create --url http://127.0.0.1:5984 --db test",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("name", nargs="?", metavar="NAME", help="the database (default: --db)")
    add_connection_options(create)
    create.set_defaults(func=cmd_create)
    info = verbs.add_parser(
        "info",
        help="document count and size of the database",
        description="Show how many documents the database holds (--json: CouchDB's whole "
        "description of it).",
        epilog="example:\n  lrt db info --db sksp_dev",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    json_option(info, "print JSON")
    add_connection_options(info)
    info.set_defaults(func=cmd_info)


def cmd_create(args: argparse.Namespace) -> int:
    if args.name:
        if args.db and args.db != args.name:
            raise UsageError(
                f"two databases named: {args.name} and --db {args.db}", hint="give one of them"
            )
        args.db = args.name
    db = database(args)
    created = db.create()
    print(f"database {db.name} {'created' if created else 'already exists'} on {db.server_url}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    db = database(args)
    check_answers(db)
    info = db.info()
    if args.json:
        print_json(info)
    else:
        print(f"database {db.name} on {db.server_url}: {info.get('doc_count', '?')} documents")
    return 0
