"""Building database handles for commands from ``--url``/``--db`` and the PiCaS credentials."""

from __future__ import annotations

import argparse

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ConfigError

from ..credentials import picas_cred
from ..token import TokenHandler

__all__ = ["add_connection_options", "database", "handler"]


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "server",
        "The password is never a flag: it comes from PICAS_USR_PWD or password= in ~/.picasrc.",
    )
    group.add_argument("--url", help="CouchDB server URL (default: $PICAS_URL, url= in ~/.picasrc)")
    group.add_argument("--db", help="database name (default: $PICAS_DB, database= in ~/.picasrc)")


def _creds(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    creds = picas_cred(dbn=getattr(args, "db", None), url=getattr(args, "url", None))
    if not creds.database:
        raise ConfigError(
            "no PiCaS database given",
            hint="set PICAS_DB, add database=NAME to ~/.picasrc, or pass --db NAME",
        )
    return creds


def database(args: argparse.Namespace) -> CouchDB:
    creds = _creds(args)
    return CouchDB(creds.url, creds.database, user=creds.user or None, password=creds.password)


def handler(args: argparse.Namespace, t_type: str) -> TokenHandler:
    creds = _creds(args)
    return TokenHandler(
        t_type, srv=creds.url, uname=creds.user, pwd=creds.password, dbn=creds.database
    )
