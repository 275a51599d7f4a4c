#!/usr/bin/env python3
"""Launcher benchmark (issue #4): W launcher processes drain N no-op tokens; picas 1.1.2 likewise.

Not a test: it prints figures, all measured in ONE run against ONE pouchdb-server (in memory,
loopback), so the ratio holds even when the absolute numbers move with the machine::

    python bench/launcher.py                         # 2,000 tokens x 16 launchers, then picas
    python bench/launcher.py --tokens 200 --workers 4 --skip-picas --json

Ours: a fresh database, ``--tokens`` tokens made with ``new_token`` + ``bulk_docs``, each with a
local sandbox (``SBXloc`` = file:// of a tar.gz whose master.sh appends ``$TOKEN
$EPOCHREALTIME`` to its launcher's marker file and touches ``Output/x``), ``fetch_inputs:
false`` and no ``RESULTS_DIR`` (so nothing is uploaded). ``--workers`` processes of
``python -m grid_lrt.launcher run TYPE -q`` are started together, each with its own
``LRT_WORKDIR``. Then the same with picas (``picas_baseline.run_picas_baseline``), fresh database.

Figures come from what is observable from outside the launcher: the tokens (``attempt``,
``times``, ``status``, ``output``), the marker files (one line per pipeline start) and the
server's request log (``log.txt`` of pouchdb-server: method, path, status of every request),
which gives the claim conflicts and the requests per token. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchlib import machine
from benchlib.launcher import progress
from benchlib.launcher.report import summary
from benchlib.launcher.runs import run_ours, run_picas
from benchlib.pouchdb import own_pouchdb_server
from benchlib.requestlog import RequestLog


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", type=int, default=2000, help="tokens to drain (2000)")
    p.add_argument("--workers", type=int, default=16, help="launcher / picas processes (16)")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of ours and picas, the order alternating; medians are reported (3)",
    )
    p.add_argument("--skip-picas", action="store_true", help="only our launcher")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, markers)")
    args = p.parse_args(argv)
    if args.tokens < 1 or args.workers < 1 or args.rounds < 1:
        p.error("--tokens, --workers and --rounds must be >= 1")
    return args


def _round(srv: Any, log: RequestLog, args: argparse.Namespace, work: Path, i: int) -> Dict:
    order = (
        ["ours"] if args.skip_picas else (["ours", "picas"] if i % 2 == 0 else ["picas", "ours"])
    )
    result: Dict[str, Any] = {"order": order}
    for side in order:
        folder = work / f"round{i + 1}-{side}"
        folder.mkdir()
        runner = run_ours if side == "ours" else run_picas
        progress(f"round {i + 1}/{args.rounds}: {side}")
        result[side] = runner(srv, log, args.tokens, args.workers, folder)
    if "picas" in result:
        result["ratio_tokens_per_s"] = round(
            result["ours"]["tokens_per_s"] / result["picas"]["tokens_per_s"], 2
        )
    return result


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-launcher-"))
    res: Dict[str, Any] = {"cpus": machine.cpus(), "loadavg_start": machine.loadavg_1min()}
    with own_pouchdb_server() as (srv, folder):
        progress(f"pouchdb-server on {srv.url}; work folder {work}")
        log = RequestLog(folder / "log.txt")
        res["rounds"] = [_round(srv, log, args, work, i) for i in range(args.rounds)]
    if not args.skip_picas:
        ratios = [r["ratio_tokens_per_s"] for r in res["rounds"]]
        res["ratio_tokens_per_s_median"] = round(statistics.median(ratios), 2)
        res["ratio_tokens_per_s_min"], res["ratio_tokens_per_s_max"] = min(ratios), max(ratios)
        for side in ("ours", "picas"):
            res[f"tokens_per_s_median_{side}"] = round(
                statistics.median(r[side]["tokens_per_s"] for r in res["rounds"]), 2
            )
    res["loadavg_end"] = machine.loadavg_1min()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(res, indent=2, ensure_ascii=False) if args.json else summary(res))
    bad = 0
    for r in res["rounds"]:
        ours = r["ours"]
        bad += ours["double_locked"] + ours["double_processed"] + ours["not_done_0"]
        bad += ours["never_processed"] + ours["launcher_error_lines"]
        bad += int(set(ours["exit_codes"]) != {0})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
