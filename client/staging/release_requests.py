"""Release held tokens by what the staging service says of its requests.

Today's LTA (StageIT) answers per request which files are online and which failed, and why;
the staged files are then read with the request's macaroons, which may not list or query a
file's locality. :func:`release_by_requests` asks the service about the recorded requests
(:class:`~.stagebook.StageBook`) that hold a waiting token's files, and

* releases (``waiting`` → ``todo``) every token whose files are all online;
* keeps a token with a failed file held, writes ``launcher_status: staging failed: ...``
  with the service's reason, and reports it;
* reports requests that are on hold, aborted or unknown to the service.

The XML-RPC stager answers the same questions coarser (no per-file reasons). The other way to
release, by each file's state at a door (gfal2, Tape REST), is :func:`~.release.release_staged`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence, Set, Tuple

from grid_lrt.shared.couch import CouchError, DocumentNotFoundError
from grid_lrt.shared.pool import TokenPool
from grid_lrt.shared.schema import TokenState

from .base import Stager, StageRequest, StageStatus, StagingError, UnknownRequestError
from .release import INPUT_LIST, ReleaseReport, input_links, release_held

__all__ = ["STAGING_FAILED", "RequestReport", "release_by_requests"]

log = logging.getLogger(__name__)

#: How a held token's ``launcher_status`` starts when a file of it failed to stage.
STAGING_FAILED = "staging failed"


@dataclass
class RequestReport(ReleaseReport):
    """A release pass, plus what the service said of the requests asked."""

    failed: Dict[str, Dict[str, str]] = field(default_factory=dict)  # token -> surl -> reason
    requests: Dict[str, str] = field(default_factory=dict)  # request id -> status / problem
    unknown: List[str] = field(default_factory=list)  # request ids the service does not know

    @property
    def still_held(self) -> int:
        return super().still_held + len(self.failed)


def _ask(stager: Stager, record: Mapping[str, Any]) -> Tuple[StageStatus, Set[str], Dict[str, str]]:
    request = StageRequest(stager.name, str(record["id"]), surls=list(record.get("surls", [])))
    status = stager.status(request)
    online = set(stager.online(request)) if status is not StageStatus.FINISHED_OR_UNKNOWN else set()
    failed = stager.failed(request) if status.finished else {}
    return status, online, failed


def _ask_all(
    stager: Stager, records: Sequence[Mapping[str, Any]], wanted: Set[str], report: RequestReport
) -> Tuple[Set[str], Dict[str, str]]:
    """Ask about every record holding a wanted file: the files online, and those failed."""
    online: Set[str] = set()
    failed: Dict[str, str] = {}
    for record in records:
        if record.get("service", stager.name) != stager.name:
            continue
        if not wanted.intersection(record.get("surls", [])):
            continue
        request_id = str(record["id"])
        try:
            status, ok, bad = _ask(stager, record)
        except UnknownRequestError:
            report.requests[request_id] = "unknown to the service"
            report.unknown.append(request_id)
            continue
        except StagingError as exc:
            report.requests[request_id] = f"cannot be asked: {exc.message}"
            continue
        report.requests[request_id] = status.value
        online |= ok
        failed.update(bad)
    return online, failed


def release_by_requests(
    pool: TokenPool, t_type: str, stager: Stager, records: Sequence[Mapping[str, Any]]
) -> RequestReport:
    """One pass over the waiting tokens of ``t_type`` and the requests that hold their files."""
    report = RequestReport()
    links: Dict[str, List[str]] = {}
    for token_id in pool.ids(t_type, TokenState.WAITING):
        try:
            links[token_id] = input_links(pool, token_id)
        except DocumentNotFoundError:
            report.errors[token_id] = f"no {INPUT_LIST} attachment: nothing to check"
        except CouchError as exc:  # one unreadable token must not stop the others
            report.errors[token_id] = f"cannot read {INPUT_LIST}: {exc}"
    wanted = {link for found in links.values() for link in found}
    online, failed = _ask_all(stager, records, wanted, report)
    ready = []
    for token_id, token_links in links.items():
        bad_links = {link: failed[link] for link in token_links if link in failed}
        if bad_links:
            report.failed[token_id] = bad_links
        elif token_links and all(link in online for link in token_links):
            ready.append(token_id)
        else:
            report.waiting[token_id] = sum(1 for link in token_links if link not in online)

    def mark_failed(doc: Dict[str, Any]) -> bool:
        bad = report.failed[str(doc["_id"])]
        first, reason = next(iter(bad.items()))
        message = f"{STAGING_FAILED} for {len(bad)} file(s), e.g. {first}: {reason}"
        if doc.get("launcher_status") == message:
            return False
        doc["launcher_status"] = message
        return True

    report.released = pool.update(ready, release_held).changed
    if report.failed:
        pool.update(list(report.failed), mark_failed)
    log.info("%s: released %d, still held %d", t_type, len(report.released), report.still_held)
    return report
