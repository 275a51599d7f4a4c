#!/usr/bin/env python3
"""Baseline for bench/launcher.py: picas 1.1.2's claim loop (``RunActor``) with a no-op task.

picas is NOT a dependency of grid-lrt. It lives in its own virtualenv, ``bench/.venv-picas``
(made on first use with ``python3.11 -m venv`` + ``pip install picas==1.1.2``). The code,
in bench/benchlib/picas_baseline/, has two halves:

* the **driver**, standard library only, importable from bench/launcher.py (no picas import)::

      from picas_baseline import run_picas_baseline
      figures = run_picas_baseline(url, db, user, password, tokens=2000, workers=16)

  It creates the database, lets picas create its ``Monitor`` views and the tasks (the
  ``setup`` verb, run in the picas venv), starts ``workers`` worker processes, releases them
  together once all are connected, waits, and returns the figures (see
  :func:`run_picas_baseline`).
* the **worker**, run inside the picas venv::

      bench/.venv-picas/bin/python bench/picas_baseline.py worker --url URL --db DB \\
          --user U --password-env VAR --max-tasks N --record PATH

  A ``RunActor`` subclass whose ``process_task`` runs ``/bin/true`` through picas's
  ``executers.execute`` (a subprocess, like our launcher's no-op pipeline), then
  ``task.done()``. It appends one JSON line per event to ``--record``: every processing
  (token id, pid, time) and, through a counting ``picas.clients.CouchDB``, every claim and
  every 409 conflict. The password comes from the environment variable named by
  ``--password-env``, never from argv.

Stand-alone (starts its own pouchdb-server unless ``--url``; prints JSON)::

    python bench/picas_baseline.py run --tokens 300 --workers 3

picas's claim (``iterators._claim_task``) reads 100 rows of ``todo``, GETs a random one and
saves it locked without checking that it is still unlocked, so two workers can both "claim"
a token (shared/reference/test-infrastructure.md §2.2, §5.3): ``double_processed`` counts them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from benchlib.picas_baseline import progress
from benchlib.picas_baseline.driver import run_picas_baseline
from benchlib.picas_baseline.inside import setup_main, worker_main
from benchlib.picas_baseline.venv import ensure_picas_venv
from benchlib.pouchdb import own_pouchdb_server

__all__ = ["ensure_picas_venv", "main", "own_pouchdb_server", "run_picas_baseline"]


def run_main(args: argparse.Namespace) -> int:
    if args.url:
        password = os.environ.get(args.password_env or "", "")
        figures = run_picas_baseline(
            args.url, args.db, args.user, password, args.tokens, args.workers
        )
    else:
        with own_pouchdb_server() as (srv, _folder):
            progress(f"pouchdb-server on {srv.url}")
            figures = run_picas_baseline(
                srv.url, args.db, srv.user, srv.password, args.tokens, args.workers
            )
    print(json.dumps(figures, indent=2))
    return 0


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    for name in ("setup", "worker", "run"):
        sub = verbs.add_parser(name)
        sub.add_argument("--url", required=name != "run", help="CouchDB URL, no credentials")
        sub.add_argument("--db", default=f"picas_baseline_{os.getpid()}")
        sub.add_argument("--user", default="admin")
        sub.add_argument("--password-env", required=name != "run", metavar="VAR")
        if name in ("setup", "run"):
            sub.add_argument("--tokens", type=int, default=2000)
        if name == "run":
            sub.add_argument("--workers", type=int, default=16)
        if name == "worker":
            sub.add_argument("--max-tasks", type=int, default=0, help="0: until none is left")
            sub.add_argument("--record", required=True, metavar="PATH", help="JSONL events")
            sub.add_argument("--ready", help="touch this file once connected")
            sub.add_argument("--gate", help="then wait for this file before claiming")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    verbs = {"setup": setup_main, "worker": worker_main, "run": run_main}
    return verbs[args.verb](args)


if __name__ == "__main__":
    sys.exit(main())
