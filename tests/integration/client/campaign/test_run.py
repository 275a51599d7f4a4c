"""How `lrt campaign run` ends: every step done, a blocked group, or the timeout."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, cast

import pytest

from grid_lrt.client.campaign.plan import step_tokens
from grid_lrt.client.campaign.run import CampaignTimeoutError, campaign_status, run_campaign
from grid_lrt.client.campaign.spec import Campaign, load_campaign
from grid_lrt.shared.credentials import PicasCredentials
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState
from tests.integration.client.campaign.serverpool import ServerPool
from tests.unit.client.campaign.conftest import VALID, Writer

CREDS = PicasCredentials(url="http://127.0.0.1:1", database="db", user="u", password="p")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def campaign(write: Writer) -> Campaign:
    return load_campaign(write(VALID))


def _pool(
    new_pool: Callable[[], ServerPool],
    campaign: Campaign,
    cal: Dict[str, Any],
    target: Dict[str, Any],
) -> ServerPool:
    """The campaign's tokens already in the pool, with these fields set."""
    pool = new_pool()
    for step, fields in zip(campaign.steps, (cal, target)):
        for doc in step_tokens(campaign, step):
            if fields:
                doc.update(fields)
            pool.put(doc)
    return pool


def _run(pool: ServerPool, campaign: Campaign, clock: Clock, lines: List[str]) -> Any:
    return run_campaign(
        cast(CouchTokenPool, pool),
        campaign,
        CREDS,
        timeout=5,
        interval=2,
        progress=lines.append,
        clock=clock,
        sleep=clock.sleep,
    )


def test_a_finished_campaign_ends_at_once_and_creates_nothing(
    new_pool: Callable[[], ServerPool], campaign: Campaign
) -> None:
    done = {"lock": 1, "done": 2, "output": 0, "held": ""}
    pool = _pool(new_pool, campaign, done, done)
    before = pool.snapshot()
    clock, lines = Clock(), []
    statuses = _run(pool, campaign, clock, lines)
    assert all(s.ok and s.ended for s in statuses) and clock.sleeps == []
    assert lines[0] == "cal: 0 tokens created, 2 already existed (left untouched)"
    assert pool.snapshot() == before and pool.updates == []


def test_a_failed_group_ends_the_campaign_with_its_dependants_blocked(
    new_pool: Callable[[], ServerPool], campaign: Campaign
) -> None:
    pool = _pool(new_pool, campaign, {"lock": 1, "done": 2, "output": 21}, {})
    clock, lines = Clock(), []
    statuses = _run(pool, campaign, clock, lines)
    cal, target = statuses
    assert cal.ended and not cal.ok and cal.counts[TokenState.ERROR] == 2
    assert target.ended and not target.ok and len(target.release.blocked) == 4
    assert "4 blocked" in lines[-1] and clock.sleeps == []
    assert campaign_status(cast(CouchTokenPool, pool), campaign)[1].release.blocked.keys() == (
        target.release.blocked.keys()
    )


def test_a_campaign_that_does_not_end_times_out(
    new_pool: Callable[[], ServerPool], campaign: Campaign
) -> None:
    pool = _pool(new_pool, campaign, {"lock": 1}, {})  # the calibrator tokens stay locked
    clock, lines = Clock(), []
    with pytest.raises(CampaignTimeoutError, match="did not end within 5 s") as caught:
        _run(pool, campaign, clock, lines)
    assert caught.value.exit_status == 4 and "running it again" in caught.value.hint
    assert clock.sleeps == [2, 2, 2]
    assert sum("locked 2" in line for line in lines) == 1  # progress only when it changes
