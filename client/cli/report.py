"""``lrt report TYPE [TYPE...] -o report.html``: a picture of what happened to the tokens."""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, List

from grid_lrt.shared.errors import UsageError

from ..report.collect import TypeReport, collect
from .completers import token_type_or_campaign
from .connect import add_connection_options, pool

__all__ = ["register"]

log = logging.getLogger(__name__)

_EPILOG = """\
The page is one HTML file with everything embedded (figures as PNG, no scripts, nothing
loaded from the network): open it in any browser, mail it, put it on a web page. It shows
the tokens per state, a timeline of claims and ends (from the tokens' times), pipeline run
times, staging (held tokens, waits where known), the error codes with their meanings and
the tokens that have them, scrub counts, and failures per host and per batch job.

examples:
  lrt report L229507_pref_cal1 -o cal1.html
  lrt report L229507_pref_cal1 L229507_pref_targ1 -o L229507.html
  lrt report campaign.yaml -o campaign.html      # every step of a campaign, in order
"""


def register(subparsers: Any) -> None:
    report = subparsers.add_parser(
        "report",
        help="an HTML page with the state, timeline, durations and failures of token types",
        description="Write a self-contained HTML report on the tokens of one or more types.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token_type_or_campaign(
        report.add_argument(
            "types",
            nargs="+",
            metavar="TYPE",
            help="token type (the 'type' field of its tokens), "
            "or a campaign file: its steps' types",
        )
    )
    report.add_argument(
        "-o", "--output", required=True, type=Path, help="the HTML file to write, e.g. report.html"
    )
    add_connection_options(report)
    report.set_defaults(func=cmd_report)


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a reader never sees half a page)."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise UsageError(
            f"cannot write {path}: folder {folder} does not exist", hint="create it first"
        )
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temp).chmod(0o644)  # mkstemp's 0600 would hide the page from a web server
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _types_of(name: str) -> List[str]:
    """A token type as it is; a campaign file (``*.yaml``/``*.yml`` that exists): the token
    types of its steps, in step order (its mistakes are errors naming the file and line)."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        from ..campaign.spec import load_campaign

        return [step.type for step in load_campaign(name).steps]
    return [name]


def cmd_report(args: argparse.Namespace) -> int:
    the_pool = pool(args)
    now = time.time()
    types: List[str] = list(dict.fromkeys(t for name in args.types for t in _types_of(name)))
    reports: List[TypeReport] = []
    for t_type in types:
        log.info("%s: reading its tokens", t_type)
        reports.append(collect(the_pool, t_type, now=now))
    empty = [r.t_type for r in reports if r.total == 0]
    if empty:
        known = sorted(the_pool.types())
        shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
        raise UsageError(
            f"no tokens of type {', '.join(empty)} in database {the_pool.name}: nothing to report",
            hint=f"types in this database: {shown}" if known else "this database has no tokens",
        )
    from ..report.html import render  # matplotlib is imported only by this command

    _write(args.output, render(reports, database=the_pool.name, now=now))
    total = sum(r.total for r in reports)
    print(f"wrote {args.output}: {total} tokens of {len(reports)} type(s)")
    return 0
