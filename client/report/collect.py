"""What a report shows, computed from the tokens of a type (no plotting, no HTML here).

The tokens are read through the pool, batch by batch (``pool.ids`` then ``pool.docs``), and
folded into a :class:`TypeReport` one at a time, so memory grows with the numbers kept (a few
floats per token), not with the documents.

Where the numbers come from (what the launcher writes, ``shared/lease.py``):

* ``times``: the latest time of each status, written by ``stamp``: ``locked`` at the claim,
  ``downloading``/``extracting``, ``running`` when the pipeline starts, ``uploading_results``,
  then ``done`` or ``error`` at the finish, ``todo`` at a requeue. A later attempt overwrites
  them, so they describe the current attempt; earlier attempts are in ``history``
  (``locked``, ``ended``, ``hostname``, ``batch_job_id``, ``reason``).
* Tokens from GRID_LRT's or picas's launchers may have no ``times``: ``lock`` and ``done``
  hold epoch seconds there, and are used when they look like epoch seconds.
* Staging waits: known only where ``times`` has ``held`` (or ``waiting``) and a release
  (``released``, else the claim); tokens held now are counted by their ``held`` reason.

Every field is untrusted input (anybody with write access to the database writes tokens):
values of the wrong type count as absent, never as an exception.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import (
    Any,
    DefaultDict,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
)

from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.schema import TokenState, num, state_of

__all__ = [
    "EPOCH_FLOOR",
    "NO_CODE",
    "ErrorGroup",
    "Interval",
    "Spread",
    "Tally",
    "TokenReader",
    "TypeReport",
    "collect",
    "fold",
    "timeline",
]

#: Timestamps below this (2001-09-09) are not epoch seconds (GRID_LRT wrote ``lock: 1``).
EPOCH_FLOOR = 1e9

#: Token ids kept per error code (the page lists them; the count is always complete).
IDS_PER_CODE = 50


class TokenReader(Protocol):
    """What the report needs of a token pool (``CouchTokenPool`` is one)."""

    def ids(self, t_type: str) -> List[str]: ...

    def docs(self, ids: Sequence[str]) -> Iterator[Dict[str, Any]]: ...


@dataclass
class Tally:
    """What the tokens of one host or batch job ended with."""

    done: int = 0
    error: int = 0
    requeued: int = 0
    """Earlier attempts taken back (a lost lease, SIGTERM), from the tokens' ``history``."""

    @property
    def failures(self) -> int:
        return self.error + self.requeued


@dataclass
class ErrorGroup:
    """The tokens in error with one ``output`` code."""

    code: str
    meaning: str
    count: int = 0
    token_ids: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Interval:
    """One attempt of a token: from its claim to its end (``None``: still running)."""

    start: float
    end: Optional[float]
    outcome: str  # "locked", "done", "error" or "requeued"


@dataclass(frozen=True)
class Spread:
    """Summary numbers of a list of durations (seconds)."""

    count: int
    minimum: float
    median: float
    mean: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Optional[Spread]:
        if not values:
            return None
        return cls(
            count=len(values),
            minimum=min(values),
            median=statistics.median(values),
            mean=statistics.fmean(values),
            maximum=max(values),
        )


@dataclass
class TypeReport:
    """Everything the page shows about one token type."""

    t_type: str
    now: float
    counts: Dict[TokenState, int] = field(default_factory=lambda: dict.fromkeys(TokenState, 0))
    intervals: List[Interval] = field(default_factory=list)
    pipeline_seconds: List[float] = field(default_factory=list)
    attempt_seconds: List[float] = field(default_factory=list)
    staging_wait_seconds: List[float] = field(default_factory=list)
    held_reasons: Dict[str, int] = field(default_factory=dict)
    staging_problems: Dict[str, str] = field(default_factory=dict)
    errors: Dict[str, ErrorGroup] = field(default_factory=dict)
    scrub_counts: Dict[int, int] = field(default_factory=dict)
    most_scrubbed: List[Tuple[str, int]] = field(default_factory=list)
    hosts: DefaultDict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    batch_jobs: DefaultDict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    stale_locks: int = 0
    """Locked tokens whose lease ran out before ``now`` (their launcher is gone)."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def pipeline(self) -> Optional[Spread]:
        return Spread.of(self.pipeline_seconds)

    @property
    def staging_waits(self) -> Optional[Spread]:
        return Spread.of(self.staging_wait_seconds)

    def error_groups(self) -> List[ErrorGroup]:
        """The error codes, the most frequent first."""
        return sorted(self.errors.values(), key=lambda g: (-g.count, g.code))

    def failing(self, tallies: Mapping[str, Tally], limit: int = 20) -> List[Tuple[str, Tally]]:
        """Hosts or batch jobs, the most failures first (then the most done)."""
        rows = sorted(tallies.items(), key=lambda kv: (-kv[1].failures, -kv[1].done, kv[0]))
        return rows[:limit]


def _epoch(value: object) -> Optional[float]:
    """``value`` as epoch seconds, or None when it is not a plausible timestamp."""
    seconds = num(value)
    return seconds if seconds >= EPOCH_FLOOR else None


def _times(doc: Mapping[str, Any]) -> Dict[str, float]:
    raw = doc.get("times")
    if not isinstance(raw, dict):
        return {}
    found = {}
    for key, value in raw.items():
        seconds = _epoch(value)
        if seconds is not None:
            found[str(key)] = seconds
    return found


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


#: The code of a token in error whose ``output`` is empty or 0 (``status`` says error).
NO_CODE = "(none)"


def _code(output: object) -> str:
    """The error code as text: ``"21"`` for 21, 21.0 and "21"; the raw text otherwise."""
    value = num(output)
    if value != 0 and value == int(value):
        return str(int(value))
    text = _text(output).strip()
    return NO_CODE if text in ("", "0") else text


def _meaning(code: str) -> str:
    if code == NO_CODE:
        return "status is error, but no code in output"
    if code.lstrip("-").isdigit():
        return ErrorCode.describe(int(code))
    return "not a grid-lrt error code"


def _claim_and_end(
    doc: Mapping[str, Any], state: TokenState, times: Mapping[str, float]
) -> Tuple[Optional[float], Optional[float]]:
    claim = times.get("locked", _epoch(doc.get("lock")))
    end = None
    if state in (TokenState.DONE, TokenState.ERROR):
        end = times.get(state.value, times.get(_text(doc.get("status"))))
        if end is None:
            end = _epoch(doc.get("done"))
        if claim is not None and end is not None and end < claim:
            claim = None  # a stale stamp of an earlier attempt
    return claim, end


def _durations(
    report: TypeReport,
    times: Mapping[str, float],
    claim: Optional[float],
    end: Optional[float],
) -> None:
    if claim is not None and end is not None:
        report.attempt_seconds.append(end - claim)
    start = times.get("running")
    if start is None or end is None or (claim is not None and start < claim) or start > end:
        return
    upload = times.get("uploading_results")
    stop = upload if upload is not None and start <= upload <= end else end
    report.pipeline_seconds.append(stop - start)


def _staging(
    report: TypeReport,
    doc: Mapping[str, Any],
    state: TokenState,
    times: Mapping[str, float],
    claim: Optional[float],
) -> None:
    if state is TokenState.WAITING:
        held = doc.get("held")
        reason = held if isinstance(held, str) and held else "held"
        report.held_reasons[reason] = report.held_reasons.get(reason, 0) + 1
        status = _text(doc.get("launcher_status"))
        if "stag" in status or "lost" in status:
            report.staging_problems[_text(doc.get("_id"))] = status
    start = times.get("held", times.get("waiting"))
    if start is None:
        return
    end = times.get("released", claim)
    if end is None and state is TokenState.WAITING:
        end = report.now  # still waiting: its wait so far
    if end is not None and end >= start:
        report.staging_wait_seconds.append(end - start)


def _history(report: TypeReport, doc: Mapping[str, Any]) -> None:
    history = doc.get("history")
    if not isinstance(history, list):
        return
    for entry in history:
        if not isinstance(entry, dict):
            continue
        report.hosts[_text(entry.get("hostname")) or "(unknown)"].requeued += 1
        job = _text(entry.get("batch_job_id"))
        if job:
            report.batch_jobs[job].requeued += 1
        start, end = _epoch(entry.get("locked")), _epoch(entry.get("ended"))
        if start is not None and end is not None and end >= start:
            report.intervals.append(Interval(start, end, "requeued"))


def fold(report: TypeReport, doc: Mapping[str, Any]) -> None:
    """Add one token to ``report``."""
    state = state_of(doc)
    token_id = _text(doc.get("_id"))
    report.counts[state] += 1
    times = _times(doc)
    claim, end = _claim_and_end(doc, state, times)
    if state is TokenState.LOCKED and claim is not None:
        report.intervals.append(Interval(claim, None, "locked"))
        expires = num(doc.get("lease_expires"))
        if 0 < expires < report.now:
            report.stale_locks += 1
    elif state in (TokenState.DONE, TokenState.ERROR) and end is not None:
        report.intervals.append(Interval(claim if claim is not None else end, end, state.value))
    _durations(report, times, claim, end)
    _staging(report, doc, state, times, claim)
    _history(report, doc)
    scrubs = int(num(doc.get("scrub_count")))
    report.scrub_counts[scrubs] = report.scrub_counts.get(scrubs, 0) + 1
    if scrubs > 0:
        report.most_scrubbed.append((token_id, scrubs))
        report.most_scrubbed.sort(key=lambda item: (-item[1], item[0]))
        del report.most_scrubbed[20:]
    if state in (TokenState.DONE, TokenState.ERROR):
        host = _text(doc.get("hostname")) or "(unknown)"
        job = _text(doc.get("batch_job_id"))
        for tallies, key in ((report.hosts, host), (report.batch_jobs, job)):
            if key:
                tally = tallies[key]
                if state is TokenState.DONE:
                    tally.done += 1
                else:
                    tally.error += 1
    if state is TokenState.ERROR:
        code = _code(doc.get("output"))
        group = report.errors.get(code)
        if group is None:
            group = report.errors[code] = ErrorGroup(code, _meaning(code))
        group.count += 1
        if len(group.token_ids) < IDS_PER_CODE:
            group.token_ids.append(token_id)


def collect(pool: TokenReader, t_type: str, *, now: float) -> TypeReport:
    """The report of ``t_type``: every token read once, in the pool's batches."""
    report = TypeReport(t_type, now)
    for doc in pool.docs(pool.ids(t_type)):
        if doc.get("type") == t_type:
            fold(report, doc)
    for group in report.errors.values():
        group.token_ids.sort()
    return report


def timeline(intervals: Iterable[Interval], now: float) -> Tuple[List[float], Dict[str, List[int]]]:
    """Step series over time: tokens ``running`` at each moment, and the cumulative number of
    attempts ended ``done``, ``error`` and ``requeued``. Returns the moments (epoch seconds,
    ending at ``now`` or the last event) and one count per moment for each series."""
    events: List[Tuple[float, str, int]] = []
    for item in intervals:
        events.append((item.start, "running", 1))
        if item.end is not None:
            events.append((item.end, "running", -1))
            if item.outcome != "locked":
                events.append((item.end, item.outcome, 1))
    names = ("running", "done", "error", "requeued")
    series: Dict[str, List[int]] = {name: [] for name in names}
    moments: List[float] = []
    level = Counter(dict.fromkeys(names, 0))
    for moment, name, step in sorted(events, key=lambda e: (e[0], -e[2])):
        level[name] += step
        if moments and moments[-1] == moment:
            for key in names:
                series[key][-1] = level[key]
            continue
        moments.append(moment)
        for key in names:
            series[key].append(level[key])
    if moments and now > moments[-1]:
        moments.append(now)
        for key in names:
            series[key].append(level[key])
    return moments, series
