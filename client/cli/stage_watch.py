"""``lrt stage release|watch|macaroons``: held tokens released as their data comes online,
the local queue fed, and a request's macaroons kept for the pilots."""

from __future__ import annotations

import argparse
import time
from typing import Any, List, Tuple

from grid_lrt.shared.errors import UsageError

from ..staging.base import StageStatus
from ..staging.macaroon_store import KeptMacaroon, MacaroonStore, door_of
from ..staging.release import ReleaseReport, release_staged
from ..staging.release_requests import RequestReport, release_by_requests
from ..staging.request_macaroons import NoMacaroonsError, request_macaroons
from ..staging.services import make_stager
from ..staging.stagebook import StageBook
from ..staging.stageit import StageItStager
from .completers import token_type
from .connect import add_connection_options, pool

__all__ = ["register"]

_BY_HELP = (
    "how to tell a file is online: 'requests' asks the stager about the recorded requests "
    "(StageIT's default: it names failed files and why), 'files' checks each file at a door "
    "with gfal2/Tape REST (the XML-RPC stager's default)"
)


def register(verbs: Any) -> None:
    for verb, func, text in (
        ("release", cmd_release, "one pass: release held tokens whose files are all online"),
        ("watch", cmd_watch, "feed the queue and release held tokens until none is held"),
    ):
        sub = verbs.add_parser(
            verb,
            help=text,
            description=text[0].upper() + text[1:] + ".",
            epilog=f"examples:\n  lrt stage {verb} L229507_cal1\n"
            f"  lrt stage {verb} L229507_cal1 --by files --door https://webdav.example.org:2880",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        token_type(sub.add_argument("type", metavar="TYPE", help="token type"))
        sub.add_argument("--by", choices=("requests", "files"), help=_BY_HELP)
        sub.add_argument("--door", metavar="URL", help="https/davs door to check states through")
        sub.add_argument("--workers", type=int, default=16, help="concurrent state checks")
        if verb == "watch":
            sub.add_argument("--interval", type=float, default=300.0, help="seconds between passes")
            sub.add_argument("--timeout", type=float, default=7 * 24 * 3600, help="give up after")
        add_connection_options(sub)
        sub.set_defaults(func=func)
    macaroons = verbs.add_parser(
        "macaroons",
        help="keep a StageIT request's macaroons for the pilots (never printed)",
        description="Fetch the macaroons of staged requests (one per LTA site) and keep them, "
        "mode 0600, in ~/.config/grid-lrt/macaroons; `lrt submit` puts the valid ones into "
        "each submission's credentials file, so pilots read the files over WebDAV.",
        epilog="example:\n  lrt stage macaroons 18748 18749\n"
        "  lrt stage macaroons 18748 --door sara=https://webdav.grid.surfsara.nl:2880",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    macaroons.add_argument("ids", metavar="ID", nargs="+")
    macaroons.add_argument(
        "--door",
        action="append",
        default=[],
        metavar="[SITE=]URL",
        help="the WebDAV door of a site (default: from the request's WebDAV URLs)",
    )
    macaroons.set_defaults(func=cmd_macaroons)


class _Lazy:
    """The stager, made at its first use: a release by file states at a door with nothing
    queued needs no staging credentials."""

    def __init__(self) -> None:
        self._stager: Any = None

    def __call__(self) -> Any:
        if self._stager is None:
            self._stager = make_stager()
        return self._stager


def _default_by(args: argparse.Namespace, stager: _Lazy) -> str:
    if args.by:
        return str(args.by)
    if args.door:
        return "files"
    return "requests" if stager().name == "stageit" else "files"


def _release_once(args: argparse.Namespace, stager: _Lazy) -> int:
    """Feed the queue, release what is online; how many tokens and batches still wait."""
    book = StageBook()
    waiting_batches = 0
    if book.queued():
        fed = book.feed(stager())
        for batch, request in fed.submitted:
            print(f"submitted {request.request_id}  {batch.describe()} (from the queue)")
        if fed.waiting:
            print(f"queue: {fed.waiting} requests ({fed.waiting_files} files) wait for room")
        waiting_batches = fed.waiting
    report: ReleaseReport
    if _default_by(args, stager) == "requests":
        by_requests = release_by_requests(pool(args), args.type, stager(), book.records())
        _show_requests(by_requests)
        report = by_requests
    else:
        from ..staging.gfal import check_states

        report = release_staged(
            pool(args),
            args.type,
            lambda urls: check_states(urls, workers=args.workers),
            door=args.door,
        )
    print(f"{args.type}: released {len(report.released)}, still held {report.still_held}")
    for token_id, gone in report.lost.items():
        print(f"  {token_id}: {len(gone)} files LOST/UNAVAILABLE, e.g. {gone[0]}")
    for token_id, error in report.errors.items():
        print(f"  {token_id}: {error}")
    # Tokens with lost/failed files or unreadable lists wait for nobody: not counted.
    return len(report.waiting) + waiting_batches


def _show_requests(report: RequestReport) -> None:
    for request_id, status in sorted(report.requests.items()):
        if status == StageStatus.ON_HOLD.value:
            print(
                f"  request {request_id}: on hold at the LTA; `lrt stage reschedule {request_id}`"
            )
        elif status in (StageStatus.ABORTED.value, StageStatus.FAILED.value) or ":" in status:
            print(f"  request {request_id}: {status}")
    for token_id, bad in sorted(report.failed.items()):
        first, reason = next(iter(bad.items()))
        print(f"  {token_id}: held, {len(bad)} file(s) failed to stage, e.g. {first}: {reason}")


def cmd_release(args: argparse.Namespace) -> int:
    _release_once(args, _Lazy())
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    stager = _Lazy()
    deadline = time.monotonic() + args.timeout
    while True:
        pending = _release_once(args, stager)
        if pending == 0:
            return 0
        if time.monotonic() + args.interval > deadline:
            print(f"{args.type}: gave up after {args.timeout:.0f} s with {pending} tokens waiting")
            return 1
        time.sleep(args.interval)


def _doors(args: argparse.Namespace) -> Tuple[dict, List[str]]:  # type: ignore[type-arg]
    named, plain = {}, []
    for item in args.door:
        site, sep, url = item.partition("=")
        if sep and "://" not in site:
            named[site.lower()] = door_of(url)
        else:
            plain.append(door_of(item))
    return named, plain


def cmd_macaroons(args: argparse.Namespace) -> int:
    stager = make_stager()
    if not isinstance(stager, StageItStager):
        raise UsageError(
            "macaroons come from StageIT; your credentials select the XML-RPC stager",
            hint="put api_token=<your token> in ~/.stagingrc (see README, Staging)",
        )
    named, plain = _doors(args)
    kept: List[KeptMacaroon] = []
    for request_id in args.ids:
        if not request_id.isdigit():
            raise UsageError(f"{request_id!r} is not a stage request id (a whole number)")
        try:
            kept.extend(request_macaroons(stager, request_id, named=named, plain=plain))
        except NoMacaroonsError as exc:
            raise UsageError(exc.message, hint=exc.hint) from None
    store = MacaroonStore()
    store.keep(kept)
    for item in kept:
        print(f"kept    {item.describe()}")
    print(f"in      {store.path} (mode 0600); `lrt submit` gives the valid ones to the pilots")
    return 0
