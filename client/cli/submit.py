"""``lrt submit`` and ``lrt jdl render``: pilot jobs that drain a token pool."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from grid_lrt.shared.errors import UsageError

from ..staging.macaroon_store import MacaroonStore
from ..submit.backend import PilotSpec
from ..submit.submission import (
    BACKENDS,
    LAUNCHER_NAME,
    auto_jobs,
    backend_for,
    default_folder,
    plan_folder,
)
from ..submit.submission import submit as submit_pilots
from ..zipapp.wheels import build_with_fallback
from .completers import token_type
from .connect import add_connection_options, credentials, pool
from .globalopts import json_option
from .output import print_json

__all__ = ["register"]

#: Wheels for the launcher zipapp (the test suite's; submission.py reads it too).
WHEELS_VARIABLE = "LRT_LAUNCHER_WHEELS"

_SUBMIT_EPILOG = """\
Each pilot is one lrt-launcher that claims and runs tokens of TYPE until none is left.
The submission folder (--folder; it must be visible to the worker nodes for slurm and local)
gets the launcher zipapp, a 0600 credentials file the pilots read (the password is never in
a job description, an argument or a job's environment), the rendered description, logs/ and
submission.json. The job ids are recorded in the token database: `lrt jobs status TYPE`.

--auto submits min(todo + waiting tokens, --max-queued) minus this type's pilots still in
the queue (default caps: slurm 10, local = CPUs, condor/dirac/glite 100), and nothing
when there is no work.

examples:
  lrt submit --backend slurm --type L229507_cal1 --jobs 4 --partition normal --time 240
  lrt submit --backend slurm --type L229507_cal1 --auto          (run it from cron)
  lrt submit --backend local --type L229507_cal1 --auto          (no batch system)
  lrt submit --backend dirac --type L229507_cal1 --jobs 50 --cpus 4
"""


def _spec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", required=True, choices=sorted(BACKENDS), help="the batch system"
    )
    token_type(
        parser.add_argument(
            "--type", dest="t_type", required=True, metavar="TYPE", help="the token type to drain"
        )
    )
    parser.add_argument("--cpus", type=int, default=1, help="cores per pilot (default: 1)")
    parser.add_argument("--memory", type=int, default=2048, metavar="MB", help="default: 2048")
    parser.add_argument(
        "--time", type=int, default=720, metavar="MINUTES", help="wall time (default: 720)"
    )
    parser.add_argument(
        "--partition", default="", help="slurm partition, DIRAC site, gLite CE queue"
    )
    parser.add_argument(
        "--max-parallel",
        type=int,
        default=0,
        metavar="K",
        help="slurm: at most K pilots of the array at once (--array 1-N%%K)",
    )
    parser.add_argument("--whole-nodes", action="store_true", help="a whole node per pilot")
    parser.add_argument(
        "--requirements", default="true", help="gLite Requirements expression (default: true)"
    )
    parser.add_argument(
        "--worker-python", default="python3", help="Python on the workers (default: python3)"
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="LINE",
        help="an extra line for the description, e.g. --option=--account=lofar (slurm)",
    )
    parser.add_argument(
        "--launcher-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an argument for every lrt-launcher, e.g. --launcher-arg=--max-time=10h",
    )


def _spec(args: argparse.Namespace, jobs: int) -> PilotSpec:
    return PilotSpec(
        token_type=args.t_type,
        jobs=jobs,
        cpus=args.cpus,
        memory_mb=args.memory,
        walltime_minutes=args.time,
        partition=args.partition,
        max_parallel=args.max_parallel,
        whole_nodes=args.whole_nodes,
        requirements=args.requirements,
        worker_python=args.worker_python,
        launcher_args=tuple(args.launcher_arg),
        options=tuple(args.option),
    )


def register(subparsers: Any) -> None:
    submit = subparsers.add_parser(
        "submit",
        help="submit pilot jobs that drain a token type (slurm, condor, dirac, glite, local)",
        description="Submit pilot jobs to a batch system; each runs lrt-launcher on TYPE.",
        epilog=_SUBMIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _spec_options(submit)
    count = submit.add_mutually_exclusive_group(required=True)
    count.add_argument("--jobs", type=int, metavar="N", help="submit N pilots")
    count.add_argument("--auto", action="store_true", help="as many pilots as the work needs")
    submit.add_argument("--max-queued", type=int, metavar="N", help="--auto's cap on pilots")
    submit.add_argument(
        "--folder", type=Path, help="submission folder (default: ~/lrt-submissions/TYPE-TIME)"
    )
    submit.add_argument("--launcher", type=Path, metavar="PYZ", help="use this launcher zipapp")
    submit.add_argument("--wheels", type=Path, metavar="DIR", help="wheels for the zipapp build")
    submit.add_argument(
        "--no-macaroons",
        action="store_true",
        help="leave out the macaroons kept by `lrt stage macaroons` (default: the valid ones "
        "go into the credentials file)",
    )
    json_option(submit, "print the result as JSON")
    add_connection_options(submit)
    submit.set_defaults(func=cmd_submit)

    jdl = subparsers.add_parser(
        "jdl",
        help="print the job description lrt submit would use",
        description="Render a job description template of jdl/ with the options given.",
        epilog="example:\n  lrt jdl render --backend slurm --type L229507_cal1 --jobs 4",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = jdl.add_subparsers(dest="verb", metavar="VERB", required=True)
    render = verbs.add_parser(
        "render",
        help="print a rendered job description",
        description="Print the job description lrt submit would submit for these options "
        "(nothing is submitted or written).",
        epilog="examples:\n  lrt jdl render --backend slurm --type L229507_cal1 --jobs 4\n"
        "  lrt jdl render --backend glite --type L229507_cal1 --jobs 50",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _spec_options(render)
    render.add_argument("--jobs", type=int, default=1, metavar="N")
    render.add_argument("--folder", type=Path, default=Path("SUBMISSION_FOLDER"))
    render.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    backend = backend_for(args.backend)
    print(backend.render(_spec(args, args.jobs), plan_folder(args.folder)), end="")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    backend = backend_for(args.backend)
    the_pool = pool(args)
    jobs = args.jobs
    if args.auto:
        sizing = auto_jobs(the_pool, backend, args.t_type, cap=args.max_queued)
        jobs = sizing["jobs"]
        print(
            f"auto: {sizing['work']} tokens todo or waiting, {sizing['queued']} pilots queued, "
            f"cap {sizing['cap']}: submitting {jobs}",
            file=sys.stderr,
        )
        if jobs == 0:
            if args.json:
                print_json({"submitted": None, **sizing})
            return 0
    elif jobs is None or jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    spec = _spec(args, jobs)
    macaroons = [] if args.no_macaroons else MacaroonStore().valid()
    for kept in macaroons:
        print(f"macaroon  {kept.describe()} (into the credentials file)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="lrt-submit-") as tmp:
        launcher = args.launcher
        if launcher is None and args.wheels is None and not os.environ.get(WHEELS_VARIABLE):
            # as `lrt launcher build` does: pip fetches the workers' wheels when this
            # Python's distributions are too new for them
            launcher = Path(tmp) / LAUNCHER_NAME
            build_with_fallback(launcher, download_to=Path(tmp) / "wheels")
        print(
            f"submitting {spec.jobs} {backend.name} pilot(s) of {spec.token_type} ...",
            file=sys.stderr,
            flush=True,
        )
        record = submit_pilots(
            the_pool,
            backend,
            spec,
            credentials(args),
            folder=args.folder or default_folder(args.t_type),
            launcher=launcher,
            wheels=args.wheels,
            macaroons=macaroons,
        )
    if args.json:
        print_json({"submitted": record.to_doc()})
        return 0
    print(
        f"submitted {backend.name} job {record.job_id}: "
        f"{len(record.tasks)} pilots of {spec.token_type}"
    )
    print(f"folder    {record.folder}")
    print(f"follow    lrt jobs status {spec.token_type}")
    return 0
