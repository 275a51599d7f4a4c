"""Building database handles for commands from ``--url``/``--db`` and the PiCaS credentials."""

from __future__ import annotations

import argparse

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.credentials import PicasCredentials
from grid_lrt.shared.errors import ConfigError
from grid_lrt.shared.pool import CouchTokenPool

from ..credentials import picas_cred

__all__ = ["add_connection_options", "database", "pool"]


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "server",
        "The password is never a flag: it comes from PICAS_USR_PWD or password= in ~/.picasrc.",
    )
    group.add_argument("--url", help="CouchDB server URL (default: $PICAS_URL, url= in ~/.picasrc)")
    group.add_argument("--db", help="database name (default: $PICAS_DB, database= in ~/.picasrc)")


def _creds(args: argparse.Namespace) -> PicasCredentials:
    creds = picas_cred(dbn=getattr(args, "db", None), url=getattr(args, "url", None))
    if not creds.database:
        raise ConfigError(
            "no PiCaS database given",
            hint="set PICAS_DB, add database=NAME to ~/.picasrc, or pass --db NAME",
        )
    return creds


def database(args: argparse.Namespace) -> CouchDB:
    """The database the command names (nothing is sent yet)."""
    creds = _creds(args)
    return CouchDB(creds.url, creds.database, user=creds.user or None, password=creds.password)


def pool(args: argparse.Namespace) -> CouchTokenPool:
    """The token pool of the database the command names, checked to answer (one request):
    an unreachable server, a refused login or a missing database end the command with a
    message here, before any work."""
    db = database(args)
    db.info()
    return CouchTokenPool(db)
