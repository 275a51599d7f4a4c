"""``lrt jobs status``: the recorded pilot jobs, polled, joined with the tokens they hold."""

from __future__ import annotations

import argparse
import collections
import sys
from typing import Any, Dict, List

from grid_lrt.shared.schema import TokenState, state_of

from ..submit.condor import CondorBackend
from ..submit.ledger import Ledger
from ..submit.submission import BACKENDS, poll
from ..submit.tools import SubmitError
from .completers import token_type
from .connect import add_connection_options, pool
from .globalopts import json_option
from .output import print_json, print_table

__all__ = ["register"]

_EPILOG = """\
Every job `lrt submit` recorded in the token database (from any login node), its pilots
polled now with the batch system's own tools (squeue/scontrol/sacct, condor_q/condor_history,
dirac-wms-job-status, glite-wms-job-status; local: /proc), and per pilot the tokens it holds
(locked) and has finished (done, error), from the tokens' batch_job_id.

examples:
  lrt jobs status L229507_cal1
  lrt jobs status --backend slurm --json
"""


def register(subparsers: Any) -> None:
    jobs = subparsers.add_parser(
        "jobs",
        help="the pilot jobs submitted for a token type, and the tokens they hold",
        description="Pilot jobs recorded by lrt submit.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = jobs.add_subparsers(dest="verb", metavar="VERB", required=True)
    status = verbs.add_parser(
        "status",
        help="poll the pilots and show them with their tokens",
        description="Poll the recorded pilot jobs (of TYPE, or all) with the batch system's "
        "tools and show each pilot with the tokens it holds and has finished.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token_type(
        status.add_argument("t_type", nargs="?", metavar="TYPE", help="only this token type")
    )
    status.add_argument("--backend", choices=sorted(BACKENDS), help="only this backend")
    json_option(status, "print the result as JSON")
    add_connection_options(status)
    status.set_defaults(func=cmd_status)


def _pilot(backend: str, batch_job_id: str) -> str:
    return CondorBackend.task_of(batch_job_id) if backend == "condor" else batch_job_id


def _tokens_by_pilot(the_pool: Any, types: List[str]) -> Dict[str, Dict[str, List[str]]]:
    """batch_job_id → state → token ids, for the tokens of ``types``."""
    found: Dict[str, Dict[str, List[str]]] = collections.defaultdict(
        lambda: collections.defaultdict(list)
    )
    for t_type in types:
        for doc in the_pool.docs(the_pool.ids(t_type)):
            job = str(doc.get("batch_job_id") or "")
            if job:
                found[job][state_of(doc).value].append(str(doc["_id"]))
    return found


def cmd_status(args: argparse.Namespace) -> int:
    the_pool = pool(args)
    ledger = Ledger(the_pool)
    records = ledger.records(args.t_type, args.backend)
    tokens = _tokens_by_pilot(the_pool, sorted({r.token_type for r in records}))
    rows: List[List[Any]] = []
    data = []
    for record in records:
        try:
            states = {k: v.value for k, v in poll(ledger, record).items()}
        except SubmitError as err:
            print(f"warning: {record.backend} job {record.job_id}: {err.message}", file=sys.stderr)
            states = dict(record.states)
        pilots = []
        for task in record.tasks:
            held: Dict[str, List[str]] = collections.defaultdict(list)
            for job, by_state in tokens.items():
                if _pilot(record.backend, job) == task:
                    for state, ids in by_state.items():
                        held[state].extend(ids)
            state = states.get(task, "unknown")
            locked = held[TokenState.LOCKED.value]
            rows.append(
                [
                    record.token_type,
                    record.backend,
                    task,
                    state,
                    ", ".join(locked) or "-",
                    len(held[TokenState.DONE.value]),
                    len(held[TokenState.ERROR.value]),
                ]
            )
            pilots.append({"pilot": task, "state": state, "tokens": dict(held)})
        data.append({"record": record.to_doc(), "pilots": pilots})
    if args.json:
        print_json(data)
        return 0
    if not rows:
        print("no pilot jobs recorded" + (f" for {args.t_type}" if args.t_type else ""))
        return 0
    print_table(["type", "backend", "pilot", "state", "holds (locked)", "done", "error"], rows)
    return 0
