#!/usr/bin/env python3
"""Token benchmark: creation, overview and indexing cost, as ratios measured in ONE run.

Not a test: it prints figures. Run from the repository root with the project's Python::

    python bench/tokens.py                 # full sizes (20-40 min on 2 cores)
    python bench/tokens.py --quick         # every size / 10, a smoke run (~1 min)
    python bench/tokens.py --url http://admin:admin@127.0.0.1:5984 --json

Without ``--url`` (or ``COUCHDB_URL``) it starts its own pouchdb-server in memory on a free
loopback port (``tests/support/pouchdb.pouchdb_server``). Only loopback servers are used. Every
database it creates is named ``bench_<phase>_<hex>`` and deleted at the end.

Phases (see bench/README.md for what each figure means and the targets):

1. creation: ``TokenSet.create_dict_tokens`` (srm.txt inline, ``_bulk_docs``) vs (a) a raw
   ``requests`` ``_bulk_docs`` loop writing the same documents, vs (b) GRID_LRT's way, one PUT
   per token plus one attachment PUT per token, measured on a subset and extrapolated.
2. overview: per-state counts of one type through ``TokenPool.counts()`` (one request).
3. indexing with many types: first todo answer after loading, through the database-wide view
   vs through one ``_design/<type>`` per type.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchlib import machine
from benchlib.stats import perf
from benchlib.tokens import log
from benchlib.tokens.creation import phase_creation
from benchlib.tokens.indexing import phase_types
from benchlib.tokens.overview import phase_overview
from benchlib.tokens.report import notes, summary_lines
from benchlib.tokens.server import Server, own_server, server_from_url
from benchlib.tokens.workload import write_token_config

# -- defaults (the sizes) ---------------------------------------------------------------

DEFAULT_TOKENS = 20_000
DEFAULT_LEGACY = 1_000
DEFAULT_OVERVIEW = 100_000
DEFAULT_TYPES = 20
DEFAULT_PER_TYPE = 5_000
DEFAULT_CAP_MIN = 30.0


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="grid-lrt token benchmark (creation, overview, indexing with many types)"
    )
    p.add_argument("--tokens", type=int, help=f"tokens created in phase 1 ({DEFAULT_TOKENS})")
    p.add_argument(
        "--legacy-tokens", type=int, help=f"subset for GRID_LRT's per-token way ({DEFAULT_LEGACY})"
    )
    p.add_argument(
        "--overview", type=int, help=f"tokens of one type in phase 2 ({DEFAULT_OVERVIEW})"
    )
    p.add_argument("--types", type=int, help=f"token types in phase 3 ({DEFAULT_TYPES})")
    p.add_argument("--per-type", type=int, help=f"tokens per type in phase 3 ({DEFAULT_PER_TYPE})")
    p.add_argument(
        "--cap-minutes",
        type=float,
        default=DEFAULT_CAP_MIN,
        help="stop the per-type 'every type answered' loop after this long and extrapolate (30)",
    )
    p.add_argument(
        "--repeat", type=int, default=4, help="rounds of ours vs raw creation, best kept (4)"
    )
    p.add_argument("--quick", action="store_true", help="divide every default size by 10")
    p.add_argument(
        "--url",
        default=os.environ.get("COUCHDB_URL") or None,
        help="use this loopback server, e.g. http://admin:pw@127.0.0.1:5984 "
        "(default: COUCHDB_URL, else start pouchdb-server)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    p.add_argument(
        "--phases", default="1,2,3", help="comma-separated phases to run (default 1,2,3)"
    )
    args = p.parse_args(argv)
    div = 10 if args.quick else 1
    args.tokens = args.tokens or DEFAULT_TOKENS // div
    args.legacy_tokens = min(args.tokens, args.legacy_tokens or DEFAULT_LEGACY // div)
    args.overview = args.overview or DEFAULT_OVERVIEW // div
    args.types = args.types or DEFAULT_TYPES // div
    args.per_type = args.per_type or DEFAULT_PER_TYPE // div
    args.phases = {int(x) for x in args.phases.split(",") if x.strip()}
    return args


def run(args: argparse.Namespace, srv: Server, workdir: Path) -> Dict[str, Any]:
    config = write_token_config(workdir)
    res: Dict[str, Any] = {
        "server": srv.kind,
        "quick": args.quick,
        "cpus": machine.cpus(),
        "loadavg_1min_start": machine.loadavg_1min(),
    }
    started = perf()
    if 1 in args.phases:
        res.update(phase_creation(srv, args.tokens, args.legacy_tokens, args.repeat, config))
    if 2 in args.phases:
        res.update(phase_overview(srv, args.overview))
    if 3 in args.phases:
        res.update(phase_types(srv, args.types, args.per_type, config, args.cap_minutes * 60))
    res["loadavg_1min_end"] = machine.loadavg_1min()
    res["bench_total_s"] = round(perf() - started, 1)
    res["notes"] = notes(res)
    return res


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-tokens-"))
    stack = contextlib.ExitStack()
    try:
        if args.url:
            srv = server_from_url(args.url)
        else:
            log("starting pouchdb-server (in memory, loopback) ...")
            srv = stack.enter_context(own_server())
        log(f"server: {srv.url} ({srv.kind})")
        try:
            res = run(args, srv, workdir)
        finally:
            srv.drop_all()
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        lines = summary_lines({k: v for k, v in res.items() if k != "notes"})
        lines += [f"note: {n}" for n in res["notes"]]
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
