#!/usr/bin/env python3
"""The benchmark table: every benchmark in one run, written to bench/RESULTS.md.

Not a test: it runs the benchmarks and writes what they measured. ``nox -s bench`` runs it::

    python bench/results.py --quick          # quick sizes: a smoke run of ~10 minutes
    python bench/results.py                  # the issue's sizes (10^6 tokens: many hours)
    python bench/results.py --from bench/RESULTS.json     # format saved figures again
    python bench/results.py --quick --full launcher --million-from million.json
                    # quick sizes but the launcher's, and the pool's figures from a
                    # `bench/million.py --json` run of its own (10^6 tokens take hours)

It runs, each as its own script with ``--json`` and each against its own loopback
pouchdb-server: bench/tokens.py (creation, overview counts, first todo with many types),
bench/launcher.py with 1, 4 and 16 workers (ours and picas 1.1.2 in the same run, picas's
venv made first; without the package index, ``--skip-picas`` and RESULTS.md says so),
bench/staging.py (when this Python imports gfal2), bench/million.py (a pool of N tokens on
disk), and the two replicated-claims tests with ``-s`` (their printed figures). Then it writes
the machine, one table of ratios (ours / the baseline of the same run, with the raw figures)
and the pool's table to ``--output`` (bench/RESULTS.md), and everything it collected to
``--save`` (bench/RESULTS.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchlib import BENCH, machine
from benchlib.results import log, runs
from benchlib.results.table import markdown

SECTIONS = ("tokens", "launcher", "staging", "million", "replicated")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="grid-lrt: every benchmark in one run, the ratios written to bench/RESULTS.md"
    )
    p.add_argument("--quick", action="store_true", help="quick sizes for every benchmark")
    p.add_argument(
        "--skip",
        default="",
        help=f"comma-separated sections to leave out: {', '.join(SECTIONS)}",
    )
    p.add_argument(
        "--full",
        default="",
        help="with --quick: comma-separated sections at the issue's sizes all the same",
    )
    p.add_argument(
        "--million-from",
        type=Path,
        help="the pool's figures from this `bench/million.py --json` output instead of a run",
    )
    p.add_argument("--skip-picas", action="store_true", help="run the launcher without picas")
    p.add_argument(
        "--million-tokens", type=int, help="tokens of bench/million.py (10^6; quick 20,000)"
    )
    p.add_argument("--output", type=Path, default=BENCH / "RESULTS.md", help="bench/RESULTS.md")
    p.add_argument("--save", type=Path, default=BENCH / "RESULTS.json", help="bench/RESULTS.json")
    p.add_argument(
        "--from", dest="source", type=Path, help="format this saved JSON again; run nothing"
    )
    args = p.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.full = {s.strip() for s in args.full.split(",") if s.strip()}
    unknown = (args.skip | args.full) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return args


def collect(args: argparse.Namespace, argv: List[str]) -> Dict[str, Any]:
    started = time.monotonic()

    def sizes_of(section: str) -> runs.Sizes:
        return runs.QUICK if args.quick and section not in args.full else runs.FULL

    raw: Dict[str, Any] = {
        "quick": args.quick,
        "full_sections": sorted(args.full) if args.quick else [],
        "command": " ".join(["python bench/results.py", *argv]),
        "machine_start": machine.describe(),
    }
    skipped = {name: {"skipped": "left out (--skip)"} for name in args.skip}
    raw.update(skipped)
    if "launcher" not in args.skip:
        raw["picas"] = "--skip-picas was given" if args.skip_picas else runs.picas_available()
        if raw["picas"]:
            log(f"picas: {raw['picas']}; the launcher runs without it")
    if "tokens" not in args.skip:
        raw["tokens"] = runs.tokens(sizes_of("tokens"))
    if "launcher" not in args.skip:
        raw["launcher"] = runs.launcher(sizes_of("launcher"), raw["picas"])
    if "staging" not in args.skip:
        raw["staging"] = runs.staging(sizes_of("staging"))
    if args.million_from:
        raw["million"] = json.loads(args.million_from.read_text(encoding="utf-8"))
        raw["million"]["source"] = (
            f"a bench/million.py --json run of its own ({args.million_from.name})"
        )
    elif "million" not in args.skip:
        raw["million"] = runs.million(sizes_of("million"), args.million_tokens)
    if "replicated" not in args.skip:
        raw["replicated"] = runs.replicated()
    end = machine.describe()
    raw["machine_end"] = {"loadavg": end["loadavg"], "date_utc": end["date_utc"]}
    raw["seconds"] = round(time.monotonic() - started)
    return raw


def main(argv: Optional[List[str]] = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    if args.source:
        raw = json.loads(args.source.read_text(encoding="utf-8"))
    else:
        raw = collect(args, given)
        args.save.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"figures saved to {args.save}")
    args.output.write_text(markdown(raw), encoding="utf-8")
    log(f"table written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
