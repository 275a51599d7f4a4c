#!/usr/bin/env python3
"""A pool of a million tokens on one server: each operation's time and the client's memory.

Not a test: it prints figures. Run from the repository root with the project's Python::

    python bench/million.py --quick            # 20,000 tokens (a few minutes)
    python bench/million.py --tokens 200000 --json
    python bench/million.py                    # 1,000,000 tokens (hours on 2 cores)

It starts its own pouchdb-server, with its databases **on disk** (leveldb, in a temporary
folder) on a free loopback port, and creates one database. Then, each in a fresh Python
process of its own (so that each peak of memory is that operation's alone):

1. ``create``: ``create_tokens`` from a generator (a ~1 KB ``srm.txt`` inline per token, as in
   bench/tokens.py), one batch of 1,000 in memory at a time;
2. ``first_todo``: the first todo query after the bulk load, which builds the view index;
3. ``counts``: ``pool.counts`` (one ``group_level`` query);
4. ``reset``: every token listed and written back (``pool.update`` with a mutator);
5. ``archive``: ``archive_type`` into a tar.gz, in a temporary folder;
6. ``delete``: every token listed and deleted (``pool.delete``);

and, without the server, the baseline: the same documents (at most 100,000) held in one list.
Each process reports its seconds, its RSS after the imports and its high-water mark
(``VmHWM`` of ``/proc/self/status``) at the end. Progress (documents written, requests, memory)
goes to stderr every 10 s; the table (or ``--json``) to stdout. Everything it made (the
database, the server's folder, the archive) is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchlib import machine
from benchlib.memory import peak_rss_mb, rss_mb
from benchlib.million import log
from benchlib.million.phases import PHASES, Meter, held
from benchlib.million.report import memory_summary, table
from benchlib.pouchdb import server_pid

from grid_lrt.client.localserver import CONSOLE, local_server
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.pool import CouchTokenPool

DEFAULT_TOKENS = 1_000_000
QUICK_TOKENS = 20_000
PASSWORD_ENV = "BENCH_MILLION_PASSWORD"
#: The longest one operation may take (10^6 tokens on 2 shared cores: a few hours).
PHASE_TIMEOUT = 12 * 3600.0
#: pouchdb-server's Node.js heap (MB): Node's default (~2 GB) is tight for re-indexing 10^6
#: changed documents.
SERVER_HEAP_MB = 8192
#: Lines of the server's console shown when an operation fails.
CONSOLE_LINES = 40


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="grid-lrt: a pool of N tokens on an on-disk pouchdb-server, each operation's "
        "time and the client's peak memory"
    )
    p.add_argument("--tokens", type=int, help=f"tokens in the pool ({DEFAULT_TOKENS:,})")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_TOKENS:,} tokens")
    p.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated operations after create (which always runs first), run in the "
        "order given: " + ", ".join(list(PHASES)[1:]),
    )
    p.add_argument(
        "--server-heap-mb",
        type=int,
        default=SERVER_HEAP_MB,
        help=f"the Node.js heap of pouchdb-server in MB ({SERVER_HEAP_MB}; Node's default, "
        "~2 GB, is too small to re-index 10^6 changed documents)",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the held-in-memory baseline")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    # the child processes, one per operation
    p.add_argument("--child", choices=[*PHASES, "held"], help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--user", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.tokens = args.tokens or (QUICK_TOKENS if args.quick else DEFAULT_TOKENS)
    if args.tokens < 1:
        p.error("--tokens must be >= 1")
    wanted = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = set(wanted) - set(PHASES)
    if unknown:
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.server_heap_mb < 256:
        p.error("--server-heap-mb must be >= 256")
    args.phases = ["create", *dict.fromkeys(name for name in wanted if name != "create")]
    return args


# -- a child: one operation ---------------------------------------------------------------------


def child_main(args: argparse.Namespace) -> int:
    start = rss_mb() or 0.0
    if args.child == "held":
        out = held(args.tokens)
    else:
        # a view query may wait as long as the index takes to catch up (10^6 changes: an hour)
        db = CouchDB(
            args.url,
            args.db,
            user=args.user,
            password=os.environ[PASSWORD_ENV],
            timeout=(10.0, PHASE_TIMEOUT),
        )
        pool = CouchTokenPool(db)
        out = PHASES[args.child](pool, args.tokens, Meter(pool), Path(args.workdir))
    peak = peak_rss_mb() or 0.0
    out.update(rss_start_mb=start, peak_mb=peak, growth_mb=round(peak - start, 1))
    print(json.dumps(out))
    return 0


def run_child(phase: str, n: int, extra: List[str], env: Dict[str, str]) -> Dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        phase,
        "--tokens",
        str(n),
        *extra,
    ]
    done = subprocess.run(
        command, env=env, stdout=subprocess.PIPE, text=True, timeout=PHASE_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {phase} process failed (exit {done.returncode}); see above")
    result: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the parent: the server, the database, the operations in turn -------------------------------


def server_node_options(heap_mb: int) -> str:
    """``NODE_OPTIONS`` for the server: the caller's, with the heap limit set to ``heap_mb``."""
    kept = [o for o in os.environ.get("NODE_OPTIONS", "").split()
            if not o.startswith("--max-old-space-size")]  # fmt: skip
    return " ".join([*kept, f"--max-old-space-size={heap_mb}"])


def show_console(workdir: Path, password: str) -> None:
    """The last lines of pouchdb-server's console on stderr (it goes with the temp folder)."""
    try:
        lines = (workdir / CONSOLE).read_text(errors="replace").splitlines()[-CONSOLE_LINES:]
    except OSError:
        lines = ["(no console output)"]
    log("pouchdb-server's console, last lines:")
    for line in lines:
        log("    " + line.replace(password, "***"))


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def run(args: argparse.Namespace, tmp: Path) -> Dict[str, Any]:
    res: Dict[str, Any] = {
        "tokens": args.tokens,
        "quick": args.quick,
        "server": f"pouchdb-server {machine.pouchdb_server_version()}, leveldb on disk",
        "cpus": machine.cpus(),
        "loadavg_start": machine.loadavg_1min(),
        "memory_measure": "each operation in a fresh Python process; peak = VmHWM of "
        "/proc/self/status at its end; growth = peak - its RSS after the imports",
        "phases": {},
    }
    password = secrets.token_urlsafe(16)
    data = tmp / "data"
    res["server_heap_mb"] = args.server_heap_mb
    os.environ["NODE_OPTIONS"] = server_node_options(args.server_heap_mb)
    with local_server(
        tmp / "server", password=password, data_dir=data, attempts=3, die_with_parent=True
    ) as srv:
        log(f"pouchdb-server on {srv.url}, data on disk in {data}")
        name = f"bench_million_{uuid.uuid4().hex[:10]}"
        db = CouchDB(srv.url, name, user=srv.user, password=password)
        db.create()
        env = {**os.environ, PASSWORD_ENV: password}
        extra = ["--url", srv.url, "--db", name, "--user", srv.user, "--workdir", str(tmp)]
        pid = server_pid(srv.url)
        try:
            for phase in args.phases:
                log(f"{phase}: {args.tokens:,} tokens ...")
                out = run_child(phase, args.tokens, extra, env)
                out["server_rss_mb"] = rss_mb(pid)
                res["phases"][phase] = out
                log(
                    f"{phase}: {out['seconds']:.1f} s, client peak {out['peak_mb']} MB "
                    f"(growth {out['growth_mb']} MB), server RSS {out['server_rss_mb']} MB"
                )
                if phase == "create":
                    res["data_mb_after_create"] = round(folder_mb(data), 1)
            res["server_peak_rss_mb"] = peak_rss_mb(pid)
        except BaseException:
            show_console(tmp / "server", password)
            raise
        finally:
            with contextlib.suppress(LrtError):  # a dead server: its data goes with tmp
                db.drop()
    if not args.no_baseline:
        log("baseline: the same documents held in one list ...")
        res["held"] = run_child("held", args.tokens, [], dict(os.environ))
    res["loadavg_end"] = machine.loadavg_1min()
    res["memory"] = memory_summary(res)
    return res


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    tmp = Path(tempfile.mkdtemp(prefix="bench-million-"))
    try:
        res = run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res, indent=2) if args.json else "\n".join(table(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
