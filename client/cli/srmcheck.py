"""``lrt srm check FILE``: locality of every file (gfal2 ``user.status``), percent staged."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from ..staging.base import FileState
from ..staging.gfal import check_states
from ..staging.release import status_url
from .globalopts import json_option
from .output import print_json, print_table
from .srm import load_links

__all__ = ["add_check"]


def add_check(verbs: Any) -> None:
    check = verbs.add_parser(
        "check",
        help="staging state of every file (ONLINE, NEARLINE, ...) and percent staged",
        description="Ask the storage for the locality of every file of a SURL list, "
        "concurrently, and report per-file errors instead of stopping at the first. "
        "Needs the gfal2 Python bindings (README: Staging).",
        epilog="examples:\n  lrt srm check srm.txt\n"
        "  lrt srm check srm.txt --door https://webdav.example.org:2880 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("file", metavar="FILE", type=Path)
    check.add_argument(
        "--door",
        metavar="URL",
        help="https/davs WebDAV door of the same namespace (Tape REST) "
        "instead of SRM, e.g. https://webdav.example.org:2880",
    )
    check.add_argument("--workers", type=int, default=16, help="concurrent checks (default 16)")
    json_option(check, "print JSON")
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    links = load_links(args.file)
    urls = [status_url(link, args.door) for link in links]
    results = check_states(urls, workers=args.workers)
    counts = Counter(state for _, state, _ in results)
    staged = sum(n for state, n in counts.items() if state.on_disk)
    percent = 100.0 * staged / len(results) if results else 0.0
    if args.json:
        print_json(
            {
                "files": [
                    {"surl": link, "state": state.value, "error": error}
                    for link, (_, state, error) in zip(links, results)
                ],
                "counts": {state.value: counts.get(state, 0) for state in FileState},
                "percent_staged": round(percent, 1),
            }
        )
    else:
        print_table(
            ["file", "state", "error"],
            [
                [link.rsplit("/", 1)[-1], state.value, error]
                for link, (_, state, error) in zip(links, results)
            ],
        )
        print(f"{staged}/{len(results)} staged ({percent:.1f} %)")
    return 0 if not counts.get(FileState.ERROR) else 1
