"""``lrt tokens reset TYPE --stale``: take back tokens whose launcher is gone."""

from __future__ import annotations

import argparse
import time

from grid_lrt.client.stale import find_stale, reset_stale
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.lease import DEFAULT_MAX_SCRUB
from grid_lrt.shared.pool import TokenPool

__all__ = ["add_stale_options", "reset_stale_command"]


def _hours(text: str) -> float:
    try:
        value = float(text.rstrip("h"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours (e.g. 24)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("--older-than must be more than 0 hours")
    return value


def add_stale_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "stale tokens",
        "--stale takes back locked tokens whose launcher is gone: those whose lease expired "
        "(the launcher stopped renewing it) and, with --older-than, tokens locked without a "
        "lease (GRID_LRT/picas launchers) for longer than that. Same rule as the launchers "
        "apply: scrub_count + 1, logs kept, error (code 5) after --max-scrub requeues.",
    )
    group.add_argument("--stale", action="store_true", help="take back stale tokens (no VIEW)")
    group.add_argument(
        "--older-than",
        type=_hours,
        metavar="HOURS",
        help="also lease-less tokens locked longer than HOURS",
    )
    group.add_argument(
        "--max-scrub",
        type=int,
        default=DEFAULT_MAX_SCRUB,
        metavar="N",
        help=f"requeues before a token goes to error (default {DEFAULT_MAX_SCRUB})",
    )


def reset_stale_command(args: argparse.Namespace, pool: TokenPool) -> int:
    if not args.stale:
        raise UsageError(
            "lrt tokens reset needs a VIEW (todo, locked, done, error, or a view name) or --stale",
            hint="e.g. lrt tokens reset TYPE error, or lrt tokens reset TYPE --stale",
        )
    if args.view is not None:
        raise UsageError("--stale works on the locked tokens: give no VIEW with it")
    older = args.older_than * 3600 if args.older_than else None
    if args.dry_run:
        ids = find_stale(pool, args.type, now=time.time(), older_than=older)
        for token_id in ids:
            print(token_id)
        print(f"would take back {len(ids)} stale tokens of type {args.type}")
        return 0
    report = reset_stale(pool, args.type, older_than=older, max_scrub=args.max_scrub)
    print(report.summary(args.type))
    return 0
