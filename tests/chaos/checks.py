"""What a chaos run left behind, read back and judged: the figures and the failures.

Sources, all read after every launcher has exited:

- the tokens in the database (state, ``attempt``, ``output``, ``results_commit``, ``times``);
- the results folder: each token's one final file ``<id>.result`` (content known in advance),
  leftover temporaries ``*.lrt-a<N>.part`` (counted apart: a dropped attempt may leave its
  own), and any other file;
- the launchers' logs (:class:`~tests.chaos.processes.LogEvents`): which runs logged done,
  which were dropped (``no longer ours``), which committed;
- the marker files the pipelines append to: ``start|end TOKEN ATTEMPT EPOCHREALTIME``.

A run (a token and an attempt) *completed* when its launcher logged ``token <id>: done``
and its closing write landed. The database says which one landed (the token ends done with
that attempt); any other run that logged done counts as completed too unless its launcher
then logged it lost (its closing write was refused) or was killed (it never sent it): such a
launcher believes the token is done by its run while the database holds another. "Completed
twice" is a token with two completed runs; a token done in the database by a run that never
logged done is a ghost; a run claimed by two launchers (the same attempt) is a double claim.
All must be 0, as must lost tokens, bad results and bad exits. A run logged lost whose own
closing write had landed (the token is done with its attempt) is counted apart.
"""

from __future__ import annotations

import collections
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from grid_lrt.shared.schema import state_of
from tests.chaos.faults import FaultLog
from tests.chaos.plan import Plan
from tests.chaos.processes import Fleet, Launcher, Run

__all__ = ["Figures", "expected_result", "judge"]

_PART = re.compile(r"\.lrt-a\d+\.part$")


def expected_result(token_id: str) -> str:
    """What the pipeline writes into ``Output/<id>.result`` (the sandbox's master.sh)."""
    return f"result of {token_id}\n{hashlib.sha256(token_id.encode()).hexdigest()}\n"


@dataclass
class Figures:
    """The figures of one run (printed) and what failed (empty: the run passed)."""

    size: str
    seed: int
    tokens: int
    launchers: int = 0
    wall: float = 0.0  # first launcher started -> last one exited
    drain: float = 0.0  # first launcher started -> last token done
    states: Dict[str, int] = field(default_factory=dict)
    lost: int = 0  # tokens not done at the end (todo, locked, error...)
    errors: Dict[int, int] = field(default_factory=dict)  # code -> tokens
    done_logged_twice: int = 0  # tokens with two "done" log lines (raw, before the rules)
    completed_twice: int = 0
    ghosts: int = 0
    double_claims: int = 0
    false_lost: int = 0  # runs logged "no longer ours" that had closed their token
    results_ok: int = 0
    results_missing: int = 0
    results_wrong: int = 0
    results_other: List[str] = field(default_factory=list)
    parts_left: List[str] = field(default_factory=list)
    commit_mismatch: int = 0  # done tokens whose results_commit is not their own attempt's
    commits: int = 0  # commits logged
    recommitted: int = 0  # tokens committed by more than one attempt
    starts: int = 0  # pipelines started
    reruns: int = 0  # tokens whose pipeline started more than once
    overlaps: int = 0  # tokens whose pipelines of two attempts ran at the same time
    requeues: int = 0
    kills: int = 0
    zombie: str = "-"
    outage: float = 0.0
    outage_live: int = 0
    outage_survived: int = 0
    recovery: Optional[float] = None  # server back -> next token done
    bad_exits: List[str] = field(default_factory=list)
    proxy: Dict[str, Any] = field(default_factory=dict)
    failures: List[str] = field(default_factory=list)


def judge(
    plan: Plan,
    fleet: Fleet,
    faults: FaultLog,
    docs: Mapping[str, Mapping[str, Any]],
    results: Path,
    started: float,
    ended: float,
) -> Figures:
    """The figures of the run and its failures; see the module docstring."""
    fig = Figures(plan.size.name, plan.seed, plan.size.tokens, launchers=len(fleet.launchers))
    fig.wall = ended - started
    _tokens(fig, plan, docs, started)
    completed = _completed(fig, fleet, faults, docs)
    _results(fig, plan, docs, results)
    _markers(fig, plan, fleet)
    _faults(fig, plan, fleet, faults, docs, completed)
    _failures(fig, plan, faults)
    return fig


def _tokens(fig: Figures, plan: Plan, docs: Mapping[str, Mapping[str, Any]], t0: float) -> None:
    states: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[int] = collections.Counter()
    last_done = t0
    for token_id in plan.token_ids:
        doc = docs.get(token_id)
        state = state_of(doc).value if doc is not None else "missing"
        states[state] += 1
        if doc is None:
            continue
        if state == "error":
            errors[int(doc.get("output") or -1)] += 1
        fig.requeues += int(doc.get("requeues") or 0)
        times = doc.get("times") if isinstance(doc.get("times"), dict) else {}
        last_done = max(last_done, float(times.get("done") or 0))  # type: ignore[union-attr]
    fig.states = dict(sorted(states.items()))
    fig.lost = plan.size.tokens - states["done"]
    fig.errors = dict(sorted(errors.items()))
    fig.drain = last_done - t0


def _completed(
    fig: Figures, fleet: Fleet, faults: FaultLog, docs: Mapping[str, Mapping[str, Any]]
) -> Dict[str, Set[int]]:
    """Per token, the attempts that completed (the rules of the module docstring)."""
    killed = {kill.launcher for kill in faults.kills}
    final = {tid: int(doc.get("attempt") or 0) for tid, doc in docs.items()
             if state_of(doc).value == "done"}  # fmt: skip
    logged: collections.Counter[str] = collections.Counter()
    completed: Dict[str, Set[int]] = collections.defaultdict(set)
    commits: Dict[str, Set[int]] = collections.defaultdict(set)
    claims: collections.Counter[Run] = collections.Counter()
    for launcher in fleet.launchers:
        lost = set(launcher.events.lost)
        claims.update(set(launcher.events.claimed))
        fig.false_lost += sum(1 for run in lost if final.get(run[0]) == run[1])
        for run in launcher.events.done:
            logged[run[0]] += 1
            landed = final.get(run[0]) == run[1]
            if landed or not (run in lost or launcher.name in killed):
                completed[run[0]].add(run[1])
        for token_id, attempt in launcher.events.committed:
            commits[token_id].add(attempt)
            fig.commits += 1
    fig.done_logged_twice = sum(1 for n in logged.values() if n > 1)
    fig.completed_twice = sum(1 for attempts in completed.values() if len(attempts) > 1)
    fig.ghosts = sum(1 for tid, attempt in final.items() if attempt not in completed.get(tid, ()))
    fig.recommitted = sum(1 for attempts in commits.values() if len(attempts) > 1)
    fig.double_claims = sum(1 for n in claims.values() if n > 1)
    return completed


def _results(
    fig: Figures, plan: Plan, docs: Mapping[str, Mapping[str, Any]], results: Path
) -> None:
    names = {f"{tid}.result": tid for tid in plan.token_ids}
    present: Set[str] = set()
    for path in sorted(results.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(results).as_posix()
        if _PART.search(relative):
            fig.parts_left.append(relative)
        elif relative in names:
            present.add(relative)
            ok = path.read_text(errors="replace") == expected_result(names[relative])
            fig.results_ok += ok
            fig.results_wrong += not ok
        else:
            fig.results_other.append(relative)
    fig.results_missing = len(names) - len(present)
    for name, tid in names.items():
        doc = docs.get(tid) or {}
        if state_of(doc).value != "done":
            continue
        commit = doc.get("results_commit")
        urls = commit.get("urls", []) if isinstance(commit, dict) else []
        own = isinstance(commit, dict) and commit.get("attempt") == doc.get("attempt")
        if not (own and any(str(url).endswith("/" + name) for url in urls)):
            fig.commit_mismatch += 1


def _markers(fig: Figures, plan: Plan, fleet: Fleet) -> None:
    """Pipeline starts, reruns and overlaps from the marker lines (a pipeline killed before
    its end marker is taken to have run its whole planned time)."""
    sleeps = dict(zip(plan.token_ids, plan.sleeps))
    spans: Dict[Run, List[float]] = {}
    for launcher in fleet.launchers:
        for kind, token_id, attempt, moment in _marker_lines(launcher):
            span = spans.setdefault((token_id, attempt), [moment, 0.0])
            if kind == "start":
                span[0] = moment
                fig.starts += 1
            else:
                span[1] = moment
    per_token: Dict[str, List[Tuple[float, float, int]]] = collections.defaultdict(list)
    for (token_id, attempt), (start, end) in spans.items():
        stop = end or start + sleeps.get(token_id, 0.0)
        per_token[token_id].append((start, stop, attempt))
    for runs in per_token.values():
        if len(runs) < 2:
            continue
        fig.reruns += 1
        runs.sort()
        if any(b[0] < a[1] for a, b in zip(runs, runs[1:])):
            fig.overlaps += 1


def _marker_lines(launcher: Launcher) -> List[Tuple[str, str, int, float]]:
    try:
        text = launcher.marker.read_text(errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in ("start", "end") and parts[2].isdigit():
            try:
                found.append((parts[0], parts[1], int(parts[2]), float(parts[3])))
            except ValueError:
                continue
    return found


def _faults(
    fig: Figures,
    plan: Plan,
    fleet: Fleet,
    faults: FaultLog,
    docs: Mapping[str, Mapping[str, Any]],
    completed: Mapping[str, Set[int]],
) -> None:
    killed = {kill.launcher: kill.at for kill in faults.kills}
    fig.kills = len(faults.kills)
    for launcher in fleet.launchers:
        code = launcher.returncode
        if launcher.name not in killed and code != 0:
            fig.bad_exits.append(f"{launcher.name}: {'still running' if code is None else code}")
    for outage in faults.outages:
        fig.outage = outage.seconds
        fig.outage_live = len(outage.live)
        fig.outage_survived = sum(
            1
            for launcher in fleet.launchers
            if launcher.name in outage.live
            and (launcher.returncode == 0 or killed.get(launcher.name, 0) > outage.started_at)
        )
        dones = [float((doc.get("times") or {}).get("done") or 0) for doc in docs.values()]
        after = [moment for moment in dones if moment > outage.started_at]
        fig.recovery = min(after) - outage.started_at if after else None
    by_name = {launcher.name: launcher for launcher in fleet.launchers}
    for zombie in faults.zombies:
        events = by_name[zombie.launcher].events
        dropped = zombie.run in events.lost and zombie.run[1] not in completed.get(
            zombie.run[0], ()
        )
        fig.zombie = (
            f"{zombie.launcher} {zombie.run[0]} a{zombie.run[1]}: frozen "
            f"{zombie.thawed_at - zombie.frozen_at:.1f} s, taken over "
            f"{'a' + str(zombie.taken_over) if zombie.taken_over else 'NO'}, "
            f"{'dropped its run' if dropped else 'DID NOT DROP ITS RUN'}"
        )
        if not zombie.taken_over:
            fig.failures.append(
                f"the zombie's token {zombie.run[0]} was not taken over while {zombie.launcher} "
                f"was frozen ({zombie.thawed_at - zombie.frozen_at:.1f} s, lease "
                f"{plan.size.lease:g} s)"
            )
        elif not dropped:
            fig.failures.append(
                f"the zombie {zombie.launcher} did not drop its run of {zombie.run[0]} attempt "
                f"{zombie.run[1]} after SIGCONT (logged lost: {zombie.run in events.lost}, "
                f"completed attempts of the token: {sorted(completed.get(zombie.run[0], ()))})"
            )


def _failures(fig: Figures, plan: Plan, faults: FaultLog) -> None:
    size, out = plan.size, fig.failures
    if fig.lost:
        out.append(f"tokens lost (not done at the end): {fig.lost}; states {fig.states}, "
                   f"error codes {fig.errors}")  # fmt: skip
    if fig.completed_twice:
        out.append(f"tokens completed twice: {fig.completed_twice}")
    if fig.ghosts:
        out.append(f"tokens done in the database by a run that never logged done: {fig.ghosts}")
    if fig.double_claims:
        out.append(f"runs (token, attempt) claimed by two launchers: {fig.double_claims}")
    if fig.results_missing or fig.results_wrong or fig.results_other:
        out.append(
            f"results not committed exactly once: {fig.results_missing} missing, "
            f"{fig.results_wrong} with wrong content, other files {fig.results_other[:5]}"
        )
    if fig.commit_mismatch:
        out.append(f"done tokens whose results_commit is not their own attempt's: "
                   f"{fig.commit_mismatch}")  # fmt: skip
    if fig.bad_exits:
        out.append(f"launchers that exited non-zero without being killed: {fig.bad_exits}")
    if len(faults.kills) != size.kills or len(faults.zombies) != size.zombies:
        out.append(f"planned faults not all injected: {len(faults.kills)}/{size.kills} kills, "
                   f"{len(faults.zombies)}/{size.zombies} zombies")  # fmt: skip
    if len(faults.outages) != 1 or fig.outage < size.restart:
        out.append(f"the planned restart of {size.restart:g} s did not happen as planned "
                   f"({len(faults.outages)} outages, {fig.outage:.1f} s)")  # fmt: skip
    elif fig.recovery is None:
        out.append("no token was done after the server came back")
