"""``client.report.collect``: the numbers of a report, from tokens made like the launcher's."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from grid_lrt.client.report.collect import NO_CODE, Interval, TypeReport, collect, fold, timeline
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.schema import TokenState
from tests.unit.client.report.kit import NOW, T0, ListPool, campaign, ran, token


@pytest.fixture
def report() -> TypeReport:
    return collect(ListPool(campaign()), "cal", now=NOW)


def test_counts_per_state_add_up(report: TypeReport) -> None:
    assert report.counts == {
        TokenState.WAITING: 2,
        TokenState.TODO: 2,
        TokenState.LOCKED: 2,
        TokenState.DONE: 3,
        TokenState.ERROR: 3,
    }
    assert report.total == 12
    assert report.stale_locks == 1


def test_reads_the_tokens_through_the_pool_in_batches() -> None:
    pool = ListPool(campaign(), batch=5)
    collect(pool, "cal", now=NOW)
    assert [len(b) for b in pool.batches] == [5, 5, 2]


def test_error_codes_with_meanings_and_tokens(report: TypeReport) -> None:
    groups = report.error_groups()
    assert [(g.code, g.count) for g in groups] == [("21", 2), ("99", 1)]
    assert groups[0].meaning == ErrorCode.DOWNLOAD_FAILED.description == "Download fails"
    assert groups[0].token_ids == ["t_cal_e1", "t_cal_e3"]
    assert groups[1].meaning == "Generic pipeline failure"


def test_pipeline_and_attempt_durations(report: TypeReport) -> None:
    assert sorted(report.pipeline_seconds) == [100.0] * 5 + [400.0]
    assert sorted(report.attempt_seconds) == [115.0] * 5 + [415.0]
    spread = report.pipeline
    assert spread is not None and spread.count == 6 and spread.median == 100.0
    assert spread.maximum == 400.0


def test_failures_per_host_and_batch_job(report: TypeReport) -> None:
    hosts = {name: (t.done, t.error, t.requeued) for name, t in report.hosts.items()}
    assert hosts == {"wn1": (2, 0, 0), "wn2": (1, 1, 0), "wn3": (0, 2, 1)}
    assert report.failing(report.hosts)[0][0] == "wn3"
    jobs = {name: (t.done, t.error, t.requeued) for name, t in report.batch_jobs.items()}
    assert jobs == {"job.1": (2, 0, 0), "job.2": (1, 1, 0), "job.3": (0, 2, 1)}


def test_scrub_counts(report: TypeReport) -> None:
    assert report.scrub_counts == {0: 11, 1: 1}
    assert report.most_scrubbed == [("t_cal_t1", 1)]


def test_staging_held_reasons_and_problems(report: TypeReport) -> None:
    assert report.held_reasons == {"staging": 2}
    assert list(report.staging_problems) == ["t_cal_w2"]
    assert report.staging_wait_seconds == []  # nothing records when they were held


def test_staging_waits_where_times_say_so() -> None:
    report = TypeReport("cal", NOW)
    released = token("cal", "a", times={"held": T0})
    ran(released, start=T0 + 900, code=0)
    fold(report, released)
    fold(report, token("cal", "b", held="staging", times={"held": NOW - 60}))
    assert sorted(report.staging_wait_seconds) == [60.0, 900.0]


def test_timeline_counts_running_and_ended_attempts(report: TypeReport) -> None:
    moments, series = timeline(report.intervals, report.now)
    assert moments == sorted(moments) and moments[-1] == NOW
    assert moments[0] == T0
    assert series["running"][-1] == 2  # the two locked tokens
    assert series["done"][-1] == 3 and series["error"][-1] == 3 and series["requeued"][-1] == 1
    assert max(series["running"]) <= 7


def test_timeline_steps() -> None:
    intervals = [
        Interval(10.0, 20.0, "done"),
        Interval(15.0, 30.0, "error"),
        Interval(25.0, None, "locked"),
    ]
    moments, series = timeline(intervals, 40.0)
    assert moments == [10.0, 15.0, 20.0, 25.0, 30.0, 40.0]
    assert series["running"] == [1, 2, 1, 2, 1, 1]
    assert series["done"] == [0, 0, 1, 1, 1, 1]
    assert series["error"] == [0, 0, 0, 0, 1, 1]
    assert timeline([], 40.0) == ([], {"running": [], "done": [], "error": [], "requeued": []})


@pytest.mark.parametrize(
    ("fields", "code", "meaning"),
    [
        ({"output": "21"}, "21", "Download fails"),
        ({"output": 21.0}, "21", "Download fails"),
        ({"output": 77}, "77", "not a grid-lrt error code"),
        ({"output": "", "status": "error"}, NO_CODE, "status is error, but no code in output"),
        ({"output": "boom", "status": "error"}, "boom", "not a grid-lrt error code"),
    ],
)
def test_error_code_of_odd_outputs(fields: Dict[str, Any], code: str, meaning: str) -> None:
    report = TypeReport("cal", NOW)
    fold(report, token("cal", "x", lock=1, done=1, **fields))
    (group,) = report.error_groups()
    assert (group.code, group.meaning, group.token_ids) == (code, meaning, ["t_cal_x"])


def test_untrusted_field_types_count_as_absent() -> None:
    report = TypeReport("cal", NOW)
    odd = token(
        "cal",
        "odd",
        lock=1,
        done=1,
        output=0,
        times=["not", "a", "dict"],
        history="nope",
        scrub_count="many",
        hostname=["wn1"],
    )
    fold(report, odd)
    fold(report, token("cal", "odd2", times={"locked": "soon", "done": None}, history=[1, None]))
    assert report.counts[TokenState.DONE] == 1 and report.counts[TokenState.TODO] == 1
    assert report.intervals == [] and report.pipeline_seconds == []
    assert report.scrub_counts == {0: 2}


def test_grid_lrt_tokens_use_lock_and_done_epochs() -> None:
    report = TypeReport("cal", NOW)
    fold(report, token("cal", "old", lock=int(T0), done=int(T0 + 50), output=0, hostname="wn9"))
    assert report.intervals == [Interval(T0, T0 + 50, "done")]
    assert report.attempt_seconds == [50.0]
    assert report.hosts["wn9"].done == 1
