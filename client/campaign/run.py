"""Driving a campaign: make every step's tokens, release, submit pilots, until it ends.

:func:`run_campaign` is ``lrt campaign run``:

1. per step, in file order: its sandbox (packed or built under the workdir), its results
   folder (for a local ``file://`` location), and its tokens (:func:`~.plan.step_tokens`),
   created in bulk; tokens that exist are reported and left alone, so a re-run makes none
   twice; a step with ``stage: true`` asks the stager for its files
   (:class:`~.staging.CampaignStaging`, the stager chosen by the staging credentials as
   for ``lrt stage``);
2. then, every ``interval`` seconds until every step has ended or ``timeout`` has passed:
   a staging pass for every staged step with held tokens (release what is online, keep the
   macaroons, feed the queue), a release pass for every step with ``after:``
   (:func:`~.release.release_after`), and
   pilots for every step with todo tokens: ``min(todo, cap) - pilots still queued`` of them
   (the ``lrt submit --auto`` rule with todo only: held tokens need no pilot yet), through
   :func:`~grid_lrt.client.submit.submission.submit`, each into
   ``<workdir>/submissions/<step>-<time>``.

A step has *ended* when none of its tokens is todo or locked and every waiting one is
blocked (a token of its group in the ``after`` step ended in error, or a file of it failed
to stage). A campaign whose steps
have all ended is over: re-running it creates nothing, submits nothing and ends the same way.
"""

from __future__ import annotations

import datetime
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from grid_lrt.shared.credentials import PicasCredentials
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.pool import BulkResult, CouchTokenPool
from grid_lrt.shared.schema import TokenState

from ..staging.base import Stager
from ..staging.services import make_stager
from ..submit.backend import PilotSpec
from ..submit.ledger import JobRecord
from ..submit.submission import auto_jobs, backend_for, submit
from ..tokendocs import create_tokens
from ..zipapp.wheels import build_with_fallback
from .plan import results_folder, sandbox_url, step_tokens
from .release import ReleaseReport, assess, release_after
from .spec import Campaign, Step
from .staging import CampaignStaging

__all__ = [
    "CampaignTimeoutError",
    "StepStatus",
    "campaign_status",
    "create_campaign_tokens",
    "run_campaign",
]

Progress = Callable[[str], None]


class CampaignTimeoutError(LrtError):
    """The campaign did not end within the time given."""

    exit_status = 4


@dataclass
class StepStatus:
    """One step now: tokens per state, and why its waiting tokens wait."""

    step: Step
    counts: Dict[TokenState, int]
    release: ReleaseReport = field(default_factory=ReleaseReport)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ended(self) -> bool:
        busy = self.counts[TokenState.TODO] + self.counts[TokenState.LOCKED]
        return busy == 0 and self.counts[TokenState.WAITING] == len(self.release.blocked)

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.counts[TokenState.DONE] == self.total

    def line(self) -> str:
        counts = " ".join(f"{s.value} {self.counts[s]}" for s in TokenState)
        blocked = f", {len(self.release.blocked)} blocked" if self.release.blocked else ""
        return f"{self.step.name} ({self.step.type}): {counts}{blocked}"


def create_campaign_tokens(
    pool: CouchTokenPool, campaign: Campaign, progress: Progress = lambda _: None
) -> Dict[str, BulkResult]:
    """Every step's sandbox, results folder and tokens; ``{step: what create did}``."""
    pool.ensure_views()
    made: Dict[str, BulkResult] = {}
    for step in campaign.steps:
        sandbox = sandbox_url(campaign, step)
        results = results_folder(campaign, step)
        results.mkdir(parents=True, exist_ok=True)
        docs = step_tokens(campaign, step, sandbox)
        made[step.name] = create_tokens(pool, docs)
        progress(f"{step.name}: {made[step.name].summary('tokens created')}")
    return made


def campaign_status(pool: CouchTokenPool, campaign: Campaign) -> List[StepStatus]:
    """Every step's counts and release assessment (nothing is written)."""
    return [
        StepStatus(step, pool.counts(step.type), assess(pool, campaign, step))
        for step in campaign.steps
    ]


@dataclass
class _Submitter:
    pool: CouchTokenPool
    campaign: Campaign
    creds: PicasCredentials
    worker_python: str
    wheels: Optional[Path]
    progress: Progress
    launcher: Optional[Path] = None
    records: List[JobRecord] = field(default_factory=list)

    def pyz(self) -> Path:
        if self.launcher is None:
            target = self.campaign.workdir / "grid-lrt-launcher.pyz"
            target.parent.mkdir(parents=True, exist_ok=True)
            given = os.environ.get("LRT_LAUNCHER_WHEELS")  # as lrt submit reads it
            build_with_fallback(
                target,
                wheels=self.wheels or (Path(given) if given else None),
                download_to=self.campaign.workdir / "wheels",
            )
            self.launcher = target
        return self.launcher

    def __call__(self, status: StepStatus) -> None:
        step = status.step
        todo = status.counts[TokenState.TODO]
        if todo == 0:
            return
        backend = backend_for(step.backend)
        sizing = auto_jobs(self.pool, backend, step.type, cap=step.jobs)
        jobs = max(0, min(todo, sizing["cap"]) - sizing["queued"])
        if jobs == 0:
            return
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        folder = self.campaign.workdir / "submissions" / f"{step.name}-{stamp}"
        folder.parent.mkdir(parents=True, exist_ok=True)
        spec = PilotSpec(token_type=step.type, jobs=jobs, worker_python=self.worker_python)
        record = submit(self.pool, backend, spec, self.creds, folder=folder, launcher=self.pyz())
        self.records.append(record)
        self.progress(f"{step.name}: submitted {jobs} {backend.name} pilots ({record.job_id})")


def run_campaign(
    pool: CouchTokenPool,
    campaign: Campaign,
    creds: PicasCredentials,
    *,
    timeout: float,
    interval: float,
    worker_python: str = "python3",
    wheels: Optional[Path] = None,
    launcher: Optional[Path] = None,
    progress: Progress = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    make_stager: Callable[[], Stager] = make_stager,
) -> List[StepStatus]:
    """Run ``campaign`` until every step has ended; the steps' final status.

    Raises:
        CampaignTimeoutError: ``timeout`` seconds passed first (the pilots keep running;
            running the campaign again picks up where it is).
        LrtError: a token could not be created, pilots could not be submitted, ...
    """
    create_campaign_tokens(pool, campaign, progress)
    submitter = _Submitter(pool, campaign, creds, worker_python, wheels, progress, launcher)
    staging = CampaignStaging(campaign, make_stager, progress)
    staged = [step for step in campaign.steps if step.stage]
    for step in staged:
        if pool.counts(step.type)[TokenState.WAITING]:
            staging.submit(step)
    deadline = clock() + timeout
    last = ""
    while True:
        for step in staged:
            if pool.counts(step.type)[TokenState.WAITING]:
                staging.step_pass(pool, step)
        for step in campaign.steps:
            released = release_after(pool, campaign, step).released
            if released:
                progress(f"{step.name}: released {len(released)} tokens ({step.after} done)")
        statuses = campaign_status(pool, campaign)
        for status in statuses:
            submitter(status)
        now = " | ".join(s.line() for s in statuses)
        if now != last:
            progress(now)
            last = now
        if all(s.ended for s in statuses):
            return statuses
        if clock() >= deadline:
            raise CampaignTimeoutError(
                f"campaign {campaign.name} did not end within {timeout:g} s: {now}",
                hint=f"its pilots keep running; `lrt campaign status {campaign.path}` shows "
                "where it is, and running it again carries on (nothing is made twice)",
            )
        sleep(interval)
