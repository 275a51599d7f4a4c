"""``lrt stage ...``: stage data from the LTA and release tokens whose data is online."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Tuple

from grid_lrt.shared import surl
from grid_lrt.shared.errors import UsageError

from ..staging.base import StageRequest, StageStatus, wait_until_done
from ..staging.lta import LtaStager
from ..staging.release import release_staged
from ..staging.surllist import SurlList
from .connect import add_connection_options, pool
from .output import print_json

__all__ = ["register"]

_EPILOG = """\
The LTA stager URL comes from LRT_LTA_URL (default: ASTRON's service); credentials from
~/.awe/Environment.cfg, ~/.stagingrc (user=, password=) or LOFAR_LTA_USER/LOFAR_LTA_PWD.

examples:
  lrt stage submit srm.txt              # one request per site and OBSID; prints the ids
  lrt stage wait 18748 --timeout 86400  # progress bar until done, failed or timed out
  lrt stage release L229507_cal1        # held tokens whose files are online -> todo
  lrt stage watch L229507_cal1          # release as files come online, until none is held
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
    submit = verbs.add_parser("submit", help="stage the files of a SURL list")
    submit.add_argument("file", metavar="FILE", type=Path)
    submit.set_defaults(func=cmd_submit)
    status = verbs.add_parser("status", help="status of a staging request")
    status.add_argument("id", metavar="ID")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)
    wait = verbs.add_parser("wait", help="wait for a staging request, with a progress bar")
    wait.add_argument("id", metavar="ID")
    wait.add_argument("--timeout", type=float, default=24 * 3600, help="seconds (default 1 day)")
    wait.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    wait.set_defaults(func=cmd_wait)
    for verb, func, text in (
        ("release", cmd_release, "one pass: release held tokens whose files are all online"),
        ("watch", cmd_watch, "release held tokens as their files come online, until none is held"),
    ):
        sub = verbs.add_parser(verb, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("type", metavar="TYPE", help="token type")
        sub.add_argument("--door", metavar="URL", help="https/davs door to check states through")
        sub.add_argument("--workers", type=int, default=16, help="concurrent state checks")
        if verb == "watch":
            sub.add_argument("--interval", type=float, default=300.0, help="seconds between passes")
            sub.add_argument("--timeout", type=float, default=7 * 24 * 3600, help="give up after")
        add_connection_options(sub)
        sub.set_defaults(func=func)


def _records() -> Path:
    return Path.home() / ".config" / "grid-lrt" / "stage-requests.jsonl"


def _group(links: List[str]) -> Dict[Tuple[str, str], List[str]]:
    groups: Dict[Tuple[str, str], List[str]] = defaultdict(list)
    for link in links:
        groups[(surl.site_of(link).name, surl.obsid_of(link))].append(link)
    return groups


def cmd_submit(args: argparse.Namespace) -> int:
    links = list(SurlList.from_file(args.file, check_obsid=False, check_location=False))
    if not links:
        raise UsageError(f"{args.file} holds no SURLs", hint="one srm:// link per line")
    stager = LtaStager()
    record = _records()
    record.parent.mkdir(parents=True, exist_ok=True)
    for (site, obsid), group in sorted(_group(links).items()):
        request = stager.submit(group)
        print(f"{request.request_id}  {obsid} at {site}: {len(group)} files")
        with record.open("a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {
                        "id": request.request_id,
                        "site": site,
                        "obsid": obsid,
                        "files": len(group),
                        "file": str(args.file),
                        "time": int(time.time()),
                    }
                )
                + "\n"
            )
    return 0


def _check_id(text: str) -> None:
    """An LTA request id is a whole number; anything else is a user mistake (exit 2).

    Raises:
        UsageError: ``text`` is not a whole number.
    """
    if not text.strip().isdigit():
        raise UsageError(
            f"{text!r} is not an LTA stage request id (a whole number)",
            hint="the id `lrt stage submit` printed; past ones are in "
            "~/.config/grid-lrt/stage-requests.jsonl",
        )


def cmd_status(args: argparse.Namespace) -> int:
    _check_id(args.id)
    stager = LtaStager()
    status = stager.status(StageRequest("lta", args.id))
    detail = stager.progress().get(str(args.id), {}) if not status.finished else {}
    if args.json:
        print_json({"id": args.id, "status": status.value, "progress": detail})
    else:
        done = (
            f" ({detail.get('Files done', '?')}/{detail.get('File count', '?')} files)"
            if detail
            else ""
        )
        print(f"{args.id}: {status.value}{done}")
    return 0 if status not in (StageStatus.FAILED, StageStatus.ABORTED) else 1


def _bar(status: StageStatus, online: int, total: int) -> None:
    width = 30
    filled = int(width * online / total) if total else 0
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {online}/{total} {status.value:<20}"
    )
    sys.stderr.flush()


def cmd_wait(args: argparse.Namespace) -> int:
    _check_id(args.id)
    stager = LtaStager()
    request = StageRequest("lta", args.id, surls=[])
    status = wait_until_done(
        stager,
        request,
        timeout=args.timeout,
        interval=args.interval,
        progress=lambda s, _o, _t: _bar(s, *_files(stager, args.id)),
    )
    sys.stderr.write("\n")
    print(f"{args.id}: {status.value}")
    return 0 if status in (StageStatus.SUCCESS, StageStatus.FINISHED_OR_UNKNOWN) else 1


def _files(stager: LtaStager, request_id: str) -> Tuple[int, int]:
    detail = stager.progress().get(str(request_id), {})
    try:
        return int(detail.get("Files done", 0)), int(detail.get("File count", 0))
    except (TypeError, ValueError):
        return 0, 0


def _release_once(args: argparse.Namespace) -> Tuple[int, int]:
    from ..staging.gfal import check_states

    report = release_staged(
        pool(args), args.type, lambda urls: check_states(urls, workers=args.workers), door=args.door
    )
    print(f"{args.type}: released {len(report.released)}, still held {report.still_held}")
    for token_id, lost in report.lost.items():
        print(f"  {token_id}: {len(lost)} files LOST/UNAVAILABLE, e.g. {lost[0]}")
    for token_id, error in report.errors.items():
        print(f"  {token_id}: {error}")
    return len(report.released), report.still_held - len(report.lost) - len(report.errors)


def cmd_release(args: argparse.Namespace) -> int:
    _release_once(args)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    while True:
        _released, pending = _release_once(args)
        if pending == 0:
            return 0
        if time.monotonic() + args.interval > deadline:
            print(f"{args.type}: gave up after {args.timeout:.0f} s with {pending} tokens waiting")
            return 1
        time.sleep(args.interval)
