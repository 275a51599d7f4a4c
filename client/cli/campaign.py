"""``lrt campaign run|status|sample``: chained pipeline steps from one campaign file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List

from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.schema import TokenState

from ..campaign.run import StepStatus, campaign_status, run_campaign
from ..campaign.sample import write_sample
from ..campaign.spec import load_campaign
from ..devtools.tapefolder import TapeFolder
from .connect import add_connection_options, credentials, pool
from .globalopts import json_option
from .output import print_json, print_table

__all__ = ["register"]

_EPILOG = """\
A campaign file names steps, each a token type with its seed token configuration, input
links, sandbox and backend, and the steps they wait for (after: STEP, per OBSID or subband
group). Tokens of a step with after: are created held and released when their group of
the earlier step is done, with its Results_location in the token field after_results.
See README "Campaigns" for the file format.

examples:
  lrt campaign sample ./demo-campaign      a two-step sample with its local inputs
  lrt campaign sample ./big --subbands 240 --stage     240 subbands to stage first
  lrt campaign run ./demo-campaign/campaign.yaml --timeout 600
  lrt campaign status ./demo-campaign/campaign.yaml
"""


def register(subparsers: Any) -> None:
    noun = subparsers.add_parser(
        "campaign",
        help="run chained pipeline steps (calibrator, then target) from a campaign file",
        description="Campaigns: steps of token types that wait for each other.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)
    run = verbs.add_parser(
        "run",
        help="create every step's tokens, release and submit until the campaign ends",
        description="Create the tokens of every step (none twice), release held tokens when\n"
        "their group of the earlier step is done, submit pilots per step, and wait until\n"
        "every step is done or failed. Progress goes to stderr, the final table to stdout.\n"
        "Exit 0: every token done; 1: the campaign ended with failed or blocked tokens;\n"
        "4: --timeout passed first (running it again carries on).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("file", type=Path, metavar="FILE", help="the campaign file (YAML)")
    run.add_argument(
        "--timeout", type=float, default=3600.0, metavar="SECONDS", help="default: 3600"
    )
    run.add_argument(
        "--interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="between release and submission passes (default: 10)",
    )
    run.add_argument(
        "--worker-python", default="python3", help="Python on the workers (default: python3)"
    )
    run.add_argument("--launcher", type=Path, metavar="PYZ", help="use this launcher zipapp")
    run.add_argument("--wheels", type=Path, metavar="DIR", help="wheels for the zipapp build")
    json_option(run, "print the final status as JSON")
    add_connection_options(run)
    run.set_defaults(func=cmd_run)

    status = verbs.add_parser(
        "status",
        help="every step's tokens per state, and what the waiting groups wait for",
        description="Show every step of a campaign: its tokens per state, the groups still\n"
        "waiting for an earlier step, and those blocked by one that failed (with why).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("file", type=Path, metavar="FILE", help="the campaign file (YAML)")
    json_option(status, "print the result as JSON")
    add_connection_options(status)
    status.set_defaults(func=cmd_status)

    sample = verbs.add_parser(
        "sample",
        help="write the two-step sample campaign and its input files into a folder",
        description="Write the sample campaign (a calibrator step and a target step that\n"
        "reads the calibrator's solutions) with its configurations, sandboxes and input\n"
        "files into DIR, ready for `lrt campaign run DIR/campaign.yaml`.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sample.add_argument("folder", type=Path, metavar="DIR", help="a new or empty folder")
    sample.add_argument(
        "--subbands",
        type=int,
        metavar="N",
        help="an observation of N subbands (default: the packaged 8); token sizes scale",
    )
    sample.add_argument(
        "--stage",
        action="store_true",
        help="SURLs in a tape folder, most on tape: the calibrator step stages them first "
        "(stage: true)",
    )
    sample.set_defaults(func=cmd_sample)


def _as_json(statuses: List[StepStatus]) -> List[Dict[str, Any]]:
    return [
        {
            "step": s.step.name,
            "type": s.step.type,
            "after": s.step.after,
            "counts": {state.value: s.counts[state] for state in TokenState},
            "ended": s.ended,
            "waiting": {
                s.release.groups.get(i, i): why for i, why in sorted(s.release.waiting.items())
            },
            "blocked": {
                s.release.groups.get(i, i): why for i, why in sorted(s.release.blocked.items())
            },
        }
        for s in statuses
    ]


def _show(statuses: List[StepStatus]) -> None:
    print_table(
        ["step", "type", "after", *(s.value for s in TokenState), "total"],
        [
            [
                s.step.name,
                s.step.type,
                s.step.after or "-",
                *(s.counts[state] for state in TokenState),
                s.total,
            ]
            for s in statuses
        ],
    )
    rows = [
        [s.step.name, s.release.groups.get(i, i), "blocked" if blocked else "waiting", why]
        for s in statuses
        for blocked, found in ((False, s.release.waiting), (True, s.release.blocked))
        for i, why in sorted(found.items())
    ]
    if rows:
        print()
        print_table(["step", "group", "held", "for"], rows)


def cmd_run(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.file)
    if args.timeout <= 0 or args.interval <= 0:
        raise UsageError("--timeout and --interval must be more than 0 seconds")
    statuses = run_campaign(
        pool(args),
        campaign,
        credentials(args),
        timeout=args.timeout,
        interval=args.interval,
        worker_python=args.worker_python,
        wheels=args.wheels,
        launcher=args.launcher,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    if args.json:
        print_json(_as_json(statuses))
    else:
        _show(statuses)
    ok = all(s.ok for s in statuses)
    verdict = "every token done" if ok else "ended with failed or blocked tokens"
    print(f"campaign {campaign.name}: {verdict}", file=sys.stderr)
    return 0 if ok else 1


def cmd_status(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.file)  # the file's mistakes before any connection
    statuses = campaign_status(pool(args), campaign)
    if args.json:
        print_json(_as_json(statuses))
    else:
        _show(statuses)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Copy the packaged sample and make its observation's files (see campaign.sample)."""
    print(write_sample(args.folder, subbands=args.subbands, staged=args.stage))
    campaign = args.folder.absolute() / "campaign.yaml"
    if args.stage:
        door = TapeFolder(args.folder.absolute() / "archive").door
        print(
            f"stage it from StageIT (or `lrt dev stageit-simulator --archive "
            f"{args.folder.absolute() / 'archive'}`), and let the pilots read the staged files:"
        )
        print(f"  export LRT_DATA_DOOR={door}")
    print(f"run it:  lrt campaign run {campaign}")
    return 0
