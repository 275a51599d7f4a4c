"""``lrt db ...``: create a PiCaS database and show what it holds."""

from __future__ import annotations

import argparse
from typing import Any

from .connect import add_connection_options, database
from .globalopts import json_option
from .output import print_json

__all__ = ["register"]


def register(subparsers: Any) -> None:
    db = subparsers.add_parser(
        "db",
        help="create a database, show its size",
        description="Create the PiCaS database or show its size.",
    )
    verbs = db.add_subparsers(dest="verb", metavar="VERB", required=True)
    create = verbs.add_parser("create", help="create the database (needs server admin rights)")
    add_connection_options(create)
    create.set_defaults(func=cmd_create)
    info = verbs.add_parser("info", help="document count and size of the database")
    json_option(info, "print JSON")
    add_connection_options(info)
    info.set_defaults(func=cmd_info)


def cmd_create(args: argparse.Namespace) -> int:
    db = database(args)
    created = db.create()
    print(f"database {db.name} {'created' if created else 'already exists'} on {db.server_url}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    db = database(args)
    info = db.info()
    if args.json:
        print_json(info)
    else:
        print(f"database {db.name} on {db.server_url}: {info.get('doc_count', '?')} documents")
    return 0
