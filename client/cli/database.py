"""``lrt db ...``: create a PiCaS database and show what it holds."""

from __future__ import annotations

import argparse
from typing import Any

from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.partitions import is_partitioned

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
        "~/.picasrc) on the server. An existing database is left as it is.\n\n"
        "--partitioned (Apache CouchDB 3): one partition per OBSID; tokens get ids "
        "OBSID:t_<type>_..., and `lrt-launcher --db-partition OBSID` claims, `lrt tokens "
        "status --db-partition OBSID` counts, in one partition's shards only.",
        epilog="examples:\n  lrt db create sksp_dev\n"
        "  lrt db create --partitioned lotss_2027\n"
        "  lrt db create --url http://127.0.0.1:5984 --db test",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("name", nargs="?", metavar="NAME", help="the database (default: --db)")
    create.add_argument(
        "--partitioned",
        action="store_true",
        help="a partitioned database, one partition per OBSID (Apache CouchDB 3 only)",
    )
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
    created = db.create(partitioned=args.partitioned)
    partitioned = is_partitioned(db.info()) if args.partitioned else False
    if args.partitioned and not partitioned:
        if created:  # the server ignored ?partitioned=true: not the database asked for
            db.drop()
        raise UsageError(
            f"the server at {db.server_url} made no partitioned database"
            + (f" ({db.name} existed already, unpartitioned)" if not created else ""),
            hint="partitioned databases need Apache CouchDB 3 (pouchdb-server and CouchDB 2 "
            "have none); leave out --partitioned, or give a new name",
        )
    kind = "partitioned database" if partitioned else "database"
    state = "created" if created else "already exists"
    print(f"{kind} {db.name} {state} on {db.server_url}")
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
