"""The staging port: one small interface that every staging backend implements.

Backends: ``lta.LtaStager`` (ASTRON's LTA stager, XML-RPC) and ``gfal.GfalStager`` (gfal2
bring-online on SRM/dCache, https Tape REST). A new backend (ASTRON's REST stager) is one more
module implementing :class:`Stager`.

::

    submit(surls) ──▶ StageRequest ──status()──▶ NEW → SCHEDULED → IN_PROGRESS → SUCCESS
                                                                 └─────────▶ FAILED / PARTIAL

    The LTA forgets finished requests: their status is then FINISHED_OR_UNKNOWN.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Protocol, Sequence

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.locality import Locality

__all__ = [
    "FileState",
    "StageRequest",
    "StageStatus",
    "Stager",
    "StagingError",
    "StagingTimeoutError",
    "UnknownRequestError",
    "wait_until_done",
]


class StagingError(LrtError):
    """A staging service refused or failed a request (message says which and why)."""


class UnknownRequestError(StagingError):
    """The service does not know the request (never made, or forgotten since)."""


class StagingTimeoutError(StagingError):
    """A request did not finish within the time asked for."""


class StageStatus(str, enum.Enum):
    """Where a staging request is."""

    NEW = "new"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in progress"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    ABORTED = "aborted"
    #: Put on hold by the service (maintenance); it goes on when rescheduled.
    ON_HOLD = "on hold"
    #: The LTA drops finished requests from its database: finished, or never existed.
    FINISHED_OR_UNKNOWN = "finished or unknown"

    @property
    def finished(self) -> bool:
        return self not in (
            StageStatus.NEW,
            StageStatus.SCHEDULED,
            StageStatus.IN_PROGRESS,
            StageStatus.ON_HOLD,
        )


#: Locality of one file, as gfal2's ``user.status`` reports it: the launcher's vocabulary too,
#: so it is :class:`grid_lrt.shared.locality.Locality` itself (this name is the seed API's).
FileState = Locality


@dataclass
class StageRequest:
    """A submitted staging request: its id at the service and what it asked for."""

    backend: str
    request_id: str
    surls: List[str] = field(default_factory=list)
    #: Per-file errors known at submission (SURL -> message), e.g. gfal2 refusals.
    errors: Dict[str, str] = field(default_factory=dict)


class Stager(Protocol):
    """What a staging backend offers.

    Every method raises :class:`StagingError` (or a subclass) for service failures; library
    exceptions (``xmlrpc.client.Fault``, gfal2 ``GError``) never get past the backend.
    """

    name: str

    def submit(self, surls: Sequence[str]) -> StageRequest:
        """Ask for ``surls`` to be brought online, in as few service calls as the API allows."""
        ...

    def status(self, request: StageRequest) -> StageStatus:
        """The request's status; ``FINISHED_OR_UNKNOWN`` when the service no longer knows it."""
        ...

    def online(self, request: StageRequest) -> List[str]:
        """The SURLs of the request that are on disk now."""
        ...

    def abort(self, request: StageRequest) -> None:
        """Cancel the request."""
        ...

    def failed(self, request: StageRequest) -> Dict[str, str]:
        """The SURLs of the request that failed, each with the service's reason ({} when the
        service does not say which)."""
        ...

    def active_files(self) -> int:
        """Files in all of this user's unfinished requests (the LTA limits it to 5,000)."""
        ...


def wait_until_done(
    stager: Stager,
    request: StageRequest,
    *,
    timeout: float,
    interval: float = 30.0,
    progress: Optional[Callable[[StageStatus, int, int], None]] = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StageStatus:
    """Poll until the request is finished; ``progress(status, online, total)`` after each poll.

    Raises:
        StagingTimeoutError: not finished after ``timeout`` seconds.
    """
    deadline = clock() + timeout
    while True:
        status = stager.status(request)
        online = (
            len(stager.online(request))
            if not status.finished or status in (StageStatus.SUCCESS, StageStatus.PARTIAL)
            else 0
        )
        if progress is not None:
            progress(status, online, len(request.surls))
        if status.finished:
            return status
        if clock() >= deadline:
            raise StagingTimeoutError(
                f"staging request {request.request_id} ({stager.name}) still {status.value} "
                f"after {timeout:.0f} s",
                hint=f"check again later with `lrt stage status {request.request_id}`",
            )
        sleep(min(interval, max(0.0, deadline - clock())))
