"""Staging a campaign step's inputs from the LTA before its tokens run (``stage: true``).

The step's tokens are created held (``held: "staging"``, state ``waiting``). Then, with the
same core as ``lrt stage submit`` and ``lrt stage watch``:

1. :meth:`CampaignStaging.submit` asks for every file of the step's list that no recorded
   request (or queued batch) of this campaign covers yet, in requests within the LTA's
   limits (:func:`~grid_lrt.client.staging.planning.plan_requests`); what does not fit
   beside the files in flight waits in the queue. It is the user's staging book on this
   machine (:class:`~grid_lrt.client.staging.stagebook.StageBook`, as ``lrt stage``
   keeps it): ``lrt stage status`` shows the campaign's requests, files already asked for
   by ``lrt stage submit`` are not asked for twice, and neither are they on a re-run;
2. every pass (:meth:`CampaignStaging.step_pass`) feeds the queue, releases the tokens whose
   files are all online (:func:`~grid_lrt.client.staging.release_requests.release_by_requests`:
   a token with a failed file stays held with the service's reason), keeps the macaroons of
   finished StageIT requests for the pilots (``lrt submit`` hands them out), and asks again
   for the files of requests the service no longer knows (StageIT forgets old requests; a
   restarted simulator knows none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Set

from grid_lrt.shared.pool import TokenPool

from ..staging.base import Stager, StageStatus, StagingError
from ..staging.macaroon_store import KeptMacaroon, MacaroonStore
from ..staging.planning import plan_requests, read_sized_list
from ..staging.release_requests import RequestReport, release_by_requests
from ..staging.request_macaroons import request_macaroons
from ..staging.stagebook import StageBook
from ..staging.stageit import StageItStager
from .spec import Campaign, Step

__all__ = ["CampaignStaging"]

Progress = Callable[[str], None]


@dataclass
class CampaignStaging:
    """The staging of one campaign's staged steps, through ``stager`` (made when needed)."""

    campaign: Campaign
    make_stager: Callable[[], Stager]
    progress: Progress = lambda _: None
    _stager: Optional[Stager] = None
    _kept: Set[str] = field(default_factory=set)

    book: StageBook = field(default_factory=StageBook)

    @property
    def stager(self) -> Stager:
        if self._stager is None:
            self._stager = self.make_stager()
        return self._stager

    def _source(self, step: Step) -> str:
        return str(self.campaign.input_list(step))

    def _covered(self) -> Set[str]:
        book = self.book
        covered = {s for r in book.records() for s in r.get("surls", [])}
        covered.update(s for batch in book.queued() for s in batch.surls)
        return covered

    def submit(self, step: Step) -> int:
        """Ask for the step's files no request covers yet; how many files were asked for."""
        listed = read_sized_list(self.campaign.input_list(step))
        covered = self._covered()
        wanted = [link for link in listed.links if link not in covered]
        if wanted:
            self.book.enqueue(plan_requests(wanted, listed.sizes, source=self._source(step)))
        fed = self.book.feed(self.stager)
        for batch, request in fed.submitted:
            self.progress(f"{step.name}: stage request {request.request_id}, {batch.describe()}")
        if fed.waiting:
            self.progress(
                f"{step.name}: {fed.waiting_files} files queued until the LTA has room "
                f"({fed.in_flight} in flight)"
            )
        return len(wanted)

    def step_pass(self, pool: TokenPool, step: Step) -> RequestReport:
        """Feed the queue, release what is online, keep macaroons, re-ask for the forgotten."""
        report = release_by_requests(pool, step.type, self.stager, self.book.records())
        if report.released:
            self.progress(f"{step.name}: {len(report.released)} tokens released (staged)")
        for token_id, bad in sorted(report.failed.items()):
            reason = next(iter(bad.values()))
            self.progress(f"{step.name}: {token_id} held, {len(bad)} file(s) failed: {reason}")
        for request_id, status in sorted(report.requests.items()):
            if status == StageStatus.ON_HOLD.value:
                self.progress(f"{step.name}: stage request {request_id} is on hold at the LTA")
        self._keep_macaroons(report)
        if report.unknown:
            self.book.forget(report.unknown)
            self.progress(
                f"{step.name}: the stager no longer knows request(s) {', '.join(report.unknown)}"
                "; asking again for their files"
            )
        if report.unknown or report.waiting:
            self.submit(step)  # re-asks for forgotten files, and feeds the queue
        return report

    def _keep_macaroons(self, report: RequestReport) -> None:
        """The macaroons of finished StageIT requests, once each (XML-RPC has none)."""
        stager = self.stager
        if not isinstance(stager, StageItStager):
            return
        kept: List[KeptMacaroon] = []
        for request_id, status in sorted(report.requests.items()):
            if request_id in self._kept or status not in _WITH_MACAROONS:
                continue
            try:
                kept.extend(request_macaroons(stager, request_id))
            except StagingError as exc:
                self.progress(f"stage request {request_id}: no macaroons kept: {exc.message}")
                continue
            self._kept.add(request_id)
        if kept:
            MacaroonStore().keep(kept)
            self.progress(f"kept {len(kept)} macaroon(s) for the pilots")


_WITH_MACAROONS = {StageStatus.SUCCESS.value, StageStatus.PARTIAL.value}
