"""``lrt stage ...``: stage data from the LTA and release tokens whose data is online.

The service comes from the credentials, as ASTRON's ``stager_access`` 2.0 decides: an API
token (``api_token=`` in ~/.stagingrc, or LOFAR_LTA_TOKEN) selects StageIT, a user and
password the XML-RPC stager. The verbs work the same with both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List

from grid_lrt.shared.errors import UsageError

from ..progress import progress_bar
from ..staging.base import (
    StageRequest,
    StageStatus,
    StagingError,
    UnknownRequestError,
    wait_until_done,
)
from ..staging.planning import (
    MAX_FILES,
    MAX_IN_FLIGHT,
    MAX_REQUEST_BYTES,
    plan_requests,
    read_sized_list,
)
from ..staging.services import make_stager
from ..staging.stagebook import StageBook
from . import stage_watch
from .globalopts import json_option
from .output import print_json, print_table

__all__ = ["register"]

#: The status shown for a recorded request the service no longer knows.
FORGOTTEN = "unknown to the service (forgotten)"

_EPILOG = """\
Credentials: an API token (api_token= in ~/.stagingrc, or LOFAR_LTA_TOKEN) selects StageIT,
ASTRON's stager today; a user and password (~/.awe/Environment.cfg, user=/password= in
~/.stagingrc, or LOFAR_LTA_USER/LOFAR_LTA_PWD) the XML-RPC stager of GRID_LRT's days.

submit splits a list into requests within the LTA's limits (at most 1,000 files and under
5 TB each, one site and OBSID each) and keeps at most 5,000 files in flight over your
unfinished requests; the rest waits in a local queue (~/.config/grid-lrt/stage-queue.json)
that `lrt stage watch` (or `lrt stage submit` again) feeds as requests finish.

examples:
  lrt stage submit srm.txt               # prints the request ids; queues what does not fit
  lrt stage status                       # every recorded request and the queue
  lrt stage status 18748                 # one request: status, files online/pending/failed
  lrt stage wait 18748 --timeout 86400   # progress bar until done, failed or timed out
  lrt stage watch L229507_cal1           # feed the queue, release tokens as files come online
  lrt stage macaroons 18748              # keep its macaroons for `lrt submit` (StageIT)
"""


def register(subparsers: Any) -> None:
    stage = subparsers.add_parser(
        "stage",
        help="stage data from the LTA, release held tokens",
        description="Stage LOFAR data from the Long Term Archive and release held tokens.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = stage.add_subparsers(dest="verb", metavar="VERB", required=True)
    submit = verbs.add_parser(
        "submit",
        help="stage the files of a SURL list (split within the LTA's limits)",
        description="Stage the files of a SURL list (one link per line, optionally its size "
        "in bytes after it): requests within the LTA's limits, the rest queued here.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    submit.add_argument("file", metavar="FILE", type=Path, help="SURLs, one per line [size]")
    submit.add_argument("--max-files", type=int, default=MAX_FILES, help="per request")
    submit.add_argument(
        "--max-tb", type=float, default=MAX_REQUEST_BYTES / 1e12, help="per request (TB)"
    )
    submit.add_argument(
        "--max-in-flight", type=int, default=MAX_IN_FLIGHT, help="files over your requests"
    )
    json_option(submit, "print JSON")
    submit.set_defaults(func=cmd_submit)
    status = verbs.add_parser(
        "status",
        help="a request's status (no ID: all of them)",
        description="The status of stage request ID, with its files online and failed; "
        "without ID every request recorded on this machine and the local queue. Exits 1 "
        "for a failed or aborted request, or an ID nobody knows.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("id", metavar="ID", nargs="?")
    json_option(status, "print JSON")
    status.set_defaults(func=cmd_status)
    wait = verbs.add_parser(
        "wait",
        help="wait for a staging request, with a progress bar",
        description="Poll stage request ID until it is done, failed or --timeout passed; "
        "progress on stderr, the final status on stdout. Exits 0 when it succeeded.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    wait.add_argument("id", metavar="ID")
    wait.add_argument("--timeout", type=float, default=24 * 3600, help="seconds (default 1 day)")
    wait.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    wait.set_defaults(func=cmd_wait)
    for verb, func, text in (
        ("reschedule", cmd_reschedule, "ask the service to go on with a request (on hold...)"),
        ("abort", cmd_abort, "cancel a request"),
    ):
        sub = verbs.add_parser(
            verb,
            help=text,
            description=text[0].upper() + text[1:] + ".",
            epilog=f"example:\n  lrt stage {verb} 18748",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("id", metavar="ID")
        sub.set_defaults(func=func)
    stage_watch.register(verbs)


def _check_id(text: str) -> None:
    """A stage request id is a whole number; anything else is a user mistake (exit 2)."""
    if not text.strip().isdigit():
        raise UsageError(
            f"{text!r} is not a stage request id (a whole number)",
            hint="the id `lrt stage submit` printed; `lrt stage status` lists them",
        )


def cmd_submit(args: argparse.Namespace) -> int:
    listed = read_sized_list(args.file)
    if not listed.links:
        raise UsageError(f"{args.file} holds no SURLs", hint="one srm:// link per line")
    if not 1 <= args.max_files <= MAX_FILES:
        raise UsageError(f"--max-files must be between 1 and {MAX_FILES} (the LTA's limit)")
    batches = plan_requests(
        listed.links,
        listed.sizes,
        max_files=args.max_files,
        max_bytes=int(args.max_tb * 1e12),
        source=str(args.file),
    )
    stager = make_stager()
    book = StageBook()
    book.enqueue(batches)
    fed = book.feed(stager, limit=args.max_in_flight)
    if args.json:
        print_json(
            {
                "service": stager.name,
                "submitted": [
                    {"id": r.request_id, "files": len(b), "site": b.site, "obsid": b.obsid}
                    for b, r in fed.submitted
                ],
                "queued_requests": fed.waiting,
                "queued_files": fed.waiting_files,
                "in_flight": fed.in_flight,
            }
        )
        return 0
    for batch, request in fed.submitted:
        print(f"{request.request_id}  {batch.describe()}")
    if fed.waiting:
        print(
            f"queued {fed.waiting} requests ({fed.waiting_files} files): {fed.in_flight} files "
            f"in flight, the LTA allows {args.max_in_flight}; `lrt stage watch TYPE` submits "
            "them as requests finish",
            file=sys.stderr,
        )
    return 0


def _one_status(stager: Any, request_id: str) -> Dict[str, Any]:
    record = next((r for r in StageBook().records() if str(r["id"]) == request_id), {})
    request = StageRequest(stager.name, request_id, surls=list(record.get("surls", [])))
    status = stager.status(request)
    if status is StageStatus.FINISHED_OR_UNKNOWN and not record:
        raise StagingError(
            f"stage request {request_id} is unknown: not recorded on this machine, and "
            f"the {stager.name} stager does not know it",
            hint="check the id: `lrt stage status` lists the requests recorded here (the LTA "
            "forgets finished requests)",
        )
    online = stager.online(request) if status is not StageStatus.FINISHED_OR_UNKNOWN else []
    failed = stager.failed(request) if request.surls or stager.name == "stageit" else {}
    total = int(record.get("files") or len(request.surls) or 0)
    return {
        "id": request_id,
        "service": stager.name,
        "status": status.value,
        "files": total,
        "online": len(online),
        "failed": failed,
    }


def cmd_status(args: argparse.Namespace) -> int:
    stager = make_stager()
    if args.id is None:
        return _all_status(stager, as_json=args.json)
    _check_id(args.id)
    found = _one_status(stager, args.id)
    if args.json:
        print_json(found)
    else:
        total = f"/{found['files']}" if found["files"] else ""
        print(f"{args.id}: {found['status']} ({found['online']}{total} files online)")
        for link, reason in sorted(found["failed"].items())[:20]:
            print(f"  failed  {link}: {reason}")
        if len(found["failed"]) > 20:
            print(f"  ... and {len(found['failed']) - 20} more failed files (--json lists all)")
        if found["status"] == StageStatus.ON_HOLD.value:
            print(f"  on hold at the LTA: `lrt stage reschedule {args.id}` when it may go on")
    bad = (StageStatus.FAILED.value, StageStatus.ABORTED.value)
    return 1 if found["status"] in bad else 0


def _all_status(stager: Any, *, as_json: bool) -> int:
    book = StageBook()
    rows: List[List[Any]] = []
    for record in book.records():
        if record.get("service", stager.name) != stager.name:
            continue
        try:
            status = stager.status(StageRequest(stager.name, str(record["id"]))).value
        except UnknownRequestError:
            status = FORGOTTEN
        rows.append(
            [
                record["id"],
                record.get("obsid", ""),
                record.get("site", ""),
                int(record.get("files", 0)),
                status,
            ]
        )
    queued = book.queued()
    if as_json:
        print_json(
            {
                "requests": [
                    dict(zip(("id", "obsid", "site", "files", "status"), r)) for r in rows
                ],
                "queued": [b.describe() for b in queued],
            }
        )
        return 0
    if rows:
        print_table(["request", "obsid", "site", "files", "status"], rows)
    else:
        print(f"no {stager.name} requests recorded on this machine")
    if queued:
        print(f"queued here: {len(queued)} requests, {sum(len(b) for b in queued)} files")
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    _check_id(args.id)
    stager = make_stager()
    record = next((r for r in StageBook().records() if str(r["id"]) == args.id), {})
    request = StageRequest(stager.name, args.id, surls=list(record.get("surls", [])))
    total = int(record.get("files") or 0)
    with progress_bar(total or None, f"request {args.id}", unit="file") as bar:

        def show(status: StageStatus, online: int, _total: int) -> None:
            bar.set_postfix_str(status.value)
            bar.update(online - bar.n)

        status = wait_until_done(
            stager, request, timeout=args.timeout, interval=args.interval, progress=show
        )
    print(f"{args.id}: {status.value}")
    return 0 if status in (StageStatus.SUCCESS, StageStatus.FINISHED_OR_UNKNOWN) else 1


def cmd_reschedule(args: argparse.Namespace) -> int:
    _check_id(args.id)
    make_stager().reschedule(args.id)
    print(f"{args.id}: rescheduled")
    return 0


def cmd_abort(args: argparse.Namespace) -> int:
    _check_id(args.id)
    make_stager().abort(args.id)
    print(f"{args.id}: aborted")
    return 0
