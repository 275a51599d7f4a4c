"""Releasing held tokens per group, with the earlier step's results; fenced; blocked groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, cast

import pytest

from grid_lrt.client.campaign.release import assess, release_after
from grid_lrt.client.campaign.spec import Campaign, load_campaign
from grid_lrt.shared.pool import BulkResult, Mutator, TokenPool
from grid_lrt.shared.schema import TokenState, new_token, state_of
from tests.integration.client.campaign.serverpool import ServerPool
from tests.unit.client.campaign.conftest import VALID, Writer


def _token(pool: ServerPool, t_type: str, n: int, subbands: List[int], **fields: Any) -> str:
    obsid = fields.pop("obsid", "L1")
    doc = new_token(t_type, f"{t_type}_{n}", fields)
    doc["campaign"] = {"obsid": obsid, "subbands": subbands}
    pool.put(doc)
    return str(doc["_id"])


def _done(location: str) -> Dict[str, Any]:
    return {"lock": 1, "done": 2, "output": 0, "Results_location": location}


@pytest.fixture
def campaign(write: Writer) -> Campaign:
    return load_campaign(write(VALID))


def _with_group_by(write: Writer, group_by: str) -> Campaign:
    return load_campaign(write(VALID.replace("subband-group", group_by)))


def test_subband_groups_release_with_the_overlapping_results(
    new_pool: Callable[[], ServerPool], campaign: Campaign
) -> None:
    pool = new_pool()
    _token(pool, "t_cal", 0, [0, 1, 2, 3], **_done("file:///r/cal0.tar"))
    _token(pool, "t_cal", 4, [4, 5, 6, 7])  # todo: its group waits
    first = _token(pool, "t_target", 0, [0, 1], held="after:cal")
    later = _token(pool, "t_target", 4, [4, 5], held="after:cal", after_results={"x": ["y"]})
    report = release_after(cast(TokenPool, pool), campaign, campaign.steps[1])
    assert report.released == [first]
    assert report.waiting == {later: "cal: 1 of 1 not done"}
    assert report.groups == {first: "L1 SB000-001", later: "L1 SB004-005"}
    released = pool.doc(first)
    assert state_of(released) is TokenState.TODO and released["held"] == ""
    assert released["after_results"] == {"cal": ["file:///r/cal0.tar"]}

    pool.patch("t_cal_4", _done("file:///r/cal4.tar"))
    assert release_after(cast(TokenPool, pool), campaign, campaign.steps[1]).released == [later]
    assert pool.doc(later)["after_results"] == {"x": ["y"], "cal": ["file:///r/cal4.tar"]}
    again = release_after(cast(TokenPool, pool), campaign, campaign.steps[1])
    assert again.released == [] and pool.updates[-1] == [later]  # nothing left held


def test_obsid_and_none_groups(new_pool: Callable[[], ServerPool], write: Writer) -> None:
    pool = new_pool()
    _token(pool, "t_cal", 0, [0], **_done("file:///a"))
    _token(pool, "t_cal", 1, [1], obsid="L2", **_done("file:///b"))
    mine = _token(pool, "t_target", 0, [5], held="after:cal")
    by_obsid = _with_group_by(write, "obsid")
    assert assess(cast(TokenPool, pool), by_obsid, by_obsid.steps[1]).ready == {mine: ["file:///a"]}
    whole = _with_group_by(write, "none")
    ready = assess(cast(TokenPool, pool), whole, whole.steps[1]).ready
    assert ready == {mine: ["file:///a", "file:///b"]}
    alone = new_pool()
    orphan = _token(alone, "t_target", 0, [5], held="after:cal")
    report = assess(cast(TokenPool, alone), by_obsid, by_obsid.steps[1])
    assert report.waiting == {orphan: "cal: no token of its group yet"} and not report.ready


def test_a_failed_group_keeps_its_dependants_held_with_the_reason(
    new_pool: Callable[[], ServerPool], campaign: Campaign
) -> None:
    pool = new_pool()
    _token(pool, "t_cal", 0, [0, 1, 2, 3], lock=1, done=2, output=21)
    held = _token(pool, "t_target", 0, [0, 1], held="after:cal")
    report = release_after(cast(TokenPool, pool), campaign, campaign.steps[1])
    assert report.released == [] and list(report.blocked) == [held]
    assert "t_cal_0 ended in error (21: " in report.blocked[held]
    token = pool.doc(held)
    assert state_of(token) is TokenState.WAITING and token["held"] == "after:cal"
    assert token["launcher_status"] == report.blocked[held]
    release_after(cast(TokenPool, pool), campaign, campaign.steps[1])
    assert pool.results[-1].unchanged == [held]  # the same message again is no write

    pool.patch("t_cal_0", _done("file:///r/again.tar"))  # reset, and done this time
    assert release_after(cast(TokenPool, pool), campaign, campaign.steps[1]).released == [held]
    token = pool.doc(held)
    assert token["launcher_status"] == "" and token["after_results"] == {
        "cal": ["file:///r/again.tar"]
    }


def test_release_is_fenced_on_the_held_value(
    new_pool: Callable[[], ServerPool], campaign: Campaign
) -> None:
    pool = new_pool()
    _token(pool, "t_cal", 0, [0, 1, 2, 3], **_done("file:///r"))
    other = _token(pool, "t_target", 0, [0, 1], held="staging")
    raced = _token(pool, "t_target", 2, [2, 3], held="after:cal")
    real_update = pool.update

    def racing_update(ids: Iterable[str], mutate: Mutator) -> BulkResult:
        pool.patch(raced, {"held": "staging"})  # someone else held it meanwhile
        return real_update(ids, mutate)

    pool.update = racing_update  # type: ignore[method-assign]
    report = release_after(cast(TokenPool, pool), campaign, campaign.steps[1])
    assert report.released == [] and other not in report.groups
    assert pool.doc(raced)["held"] == "staging" and "after_results" not in pool.doc(raced)
    assert pool.doc(other)["held"] == "staging"


def test_a_step_without_after_has_nothing_to_release(
    new_pool: Callable[[], ServerPool], campaign: Campaign, folder: Path
) -> None:
    pool = new_pool()
    _token(pool, "t_cal", 0, [0], held="after:cal")
    report = release_after(cast(TokenPool, pool), campaign, campaign.steps[0])
    assert report.released == [] and pool.updates == []
