"""Releasing a step's held tokens once the step they wait for is done for their group.

A token of a step with ``after: cal`` is created with ``held: "after:cal"``. Its *group* in
step ``cal`` is, by the step's ``group_by``:

* ``obsid``: the ``cal`` tokens of the same OBSID;
* ``subband-group``: the ``cal`` tokens of the same OBSID whose subbands overlap its own;
* ``none``: every ``cal`` token.

One pass (:func:`release_after`) reads the waiting tokens and the ``cal`` tokens, and

* releases (``waiting`` → ``todo``) each token whose whole group is done, writing the group's
  results into it: ``after_results: {"cal": [Results_location, ...]}`` (sorted by token id;
  the launcher exports it to the pipeline as JSON, e.g. ``after_results: $AFTER_RESULTS`` in
  ``tokvar.cfg``). Earlier steps' entries already in the field are kept;
* keeps a token held when a token of its group ended in error or is blocked itself (a file
  of it failed to stage, or it waits for a failed token in turn), writes the reason into
  its ``launcher_status`` (``waiting for cal: t_... ended in error (21: ...)``) and reports
  it: a blocked token blocks the tokens that wait for it, down the chain;
  resetting the failed ``cal`` tokens (``lrt tokens reset``) lets a later pass release it
  (and clear that reason);
* keeps every other token held (its group is still running, or has no token at all yet).

Every write goes through ``pool.update`` and is fenced: it changes a token only while it is
still ``waiting`` with that very ``held`` value, so a token released, reset or held for
another reason (staging) meanwhile is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence

from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.pool import TokenPool
from grid_lrt.shared.schema import TokenState, state_of

from ..staging.release import release_held
from ..staging.release_requests import STAGING_FAILED
from .spec import Campaign, Step

__all__ = [
    "AFTER_RESULTS",
    "ReleaseReport",
    "assess",
    "group_label",
    "group_of",
    "is_blocked",
    "release_after",
]

#: The token field that carries the results of the steps a token waited for.
AFTER_RESULTS = "after_results"


@dataclass
class ReleaseReport:
    """What one pass did for one step."""

    released: List[str] = field(default_factory=list)
    waiting: Dict[str, str] = field(default_factory=dict)  # id -> what it waits for
    blocked: Dict[str, str] = field(default_factory=dict)  # id -> why it cannot run
    ready: Dict[str, List[str]] = field(default_factory=dict)  # id -> results it gets
    groups: Dict[str, str] = field(default_factory=dict)  # id -> "L654321 SB000-001"


def _tag(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    tag = doc.get("campaign")
    return tag if isinstance(tag, Mapping) else {}


def _subbands(doc: Mapping[str, Any]) -> set[int]:
    values = _tag(doc).get("subbands") or []
    return {int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)}


def group_of(
    step: Step, doc: Mapping[str, Any], deps: Sequence[Mapping[str, Any]]
) -> List[Mapping[str, Any]]:
    """The tokens of ``deps`` (the ``after`` step's) that ``doc`` waits for."""
    if step.group_by == "none":
        return list(deps)
    obsid = _tag(doc).get("obsid")
    same = [d for d in deps if _tag(d).get("obsid") == obsid]
    if step.group_by == "obsid":
        return same
    mine = _subbands(doc)
    return [d for d in same if _subbands(d) & mine]


def group_label(doc: Mapping[str, Any]) -> str:
    """``"L654321 SB000-003"``: a token's OBSID and subbands, for people."""
    subbands = sorted(_subbands(doc))
    if not subbands:
        return str(_tag(doc).get("obsid") or "?")
    span = f"SB{subbands[0]:03d}" + (f"-{subbands[-1]:03d}" if len(subbands) > 1 else "")
    return f"{_tag(doc).get('obsid') or '?'} {span}"


def _why_blocked(dep_step: str, failed: Sequence[Mapping[str, Any]]) -> str:
    first = failed[0]
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    if state_of(first) is TokenState.ERROR:
        code = first.get("output")
        why = f"ended in error ({code}: {ErrorCode.describe(code)})"
    else:
        why = f"{_BLOCKED} ({first.get('launcher_status')})"
    return f"waiting for {dep_step}: {first['_id']}{more} {why}"


_BLOCKED = "is blocked"


def is_blocked(doc: Mapping[str, Any]) -> bool:
    """A held token that waits in vain: a file of it failed to stage, or a token it waits
    for ended in error or is blocked itself (the reason is in its ``launcher_status``)."""
    if state_of(doc) is not TokenState.WAITING:
        return False
    status = str(doc.get("launcher_status") or "")
    return status.startswith(STAGING_FAILED) or (
        status.startswith("waiting for ")
        and (" ended in error (" in status or f" {_BLOCKED} (" in status)
    )


def assess(pool: TokenPool, campaign: Campaign, step: Step) -> ReleaseReport:
    """What a pass would do for ``step`` (nothing is written): ``ready`` holds the results
    each releasable token would get."""
    report = ReleaseReport()
    if step.stage:
        return _assess_staged(pool, step, report)
    if not step.after:
        return report
    dep_step = campaign.step(step.after)
    held = [
        doc
        for doc in pool.docs(pool.ids(step.type, TokenState.WAITING))
        if doc.get("held") == step.hold
    ]
    if not held:
        return report
    deps = list(pool.docs(pool.ids(dep_step.type)))
    ready = report.ready
    for doc in held:
        token_id = str(doc["_id"])
        report.groups[token_id] = group_label(doc)
        group = group_of(step, doc, deps)
        states = [state_of(d) for d in group]
        failed = [d for d, s in zip(group, states) if s is TokenState.ERROR or is_blocked(d)]
        if failed:
            report.blocked[token_id] = _why_blocked(dep_step.name, failed)
        elif not group:
            report.waiting[token_id] = f"{dep_step.name}: no token of its group yet"
        elif all(s is TokenState.DONE for s in states):
            ready[token_id] = [
                str(d.get("Results_location") or "")
                for d in sorted(group, key=lambda d: str(d["_id"]))
            ]
        else:
            busy = sum(1 for s in states if s is not TokenState.DONE)
            report.waiting[token_id] = f"{dep_step.name}: {busy} of {len(group)} not done"
    return report


def _assess_staged(pool: TokenPool, step: Step, report: ReleaseReport) -> ReleaseReport:
    """A staged step: held tokens wait for their files; one with a failed file is blocked."""
    for doc in pool.docs(pool.ids(step.type, TokenState.WAITING)):
        if doc.get("held") != step.hold:
            continue
        token_id = str(doc["_id"])
        report.groups[token_id] = group_label(doc)
        if is_blocked(doc):
            report.blocked[token_id] = str(doc.get("launcher_status"))
        else:
            report.waiting[token_id] = "its files are being staged"
    return report


def release_after(pool: TokenPool, campaign: Campaign, step: Step) -> ReleaseReport:
    """One release pass over the waiting tokens of ``step`` (a step with ``after:``)."""
    report = assess(pool, campaign, step)
    if not step.after:
        return report
    dep_name, hold, ready = step.after, step.hold, report.ready

    def release(doc: Dict[str, Any]) -> bool:
        if doc.get("held") != hold or not release_held(doc):
            return False
        results = doc.get(AFTER_RESULTS)
        doc[AFTER_RESULTS] = {
            **(results if isinstance(results, dict) else {}),
            dep_name: ready[str(doc["_id"])],
        }
        if str(doc.get("launcher_status", "")).startswith(f"waiting for {dep_name}: "):
            doc["launcher_status"] = ""  # an earlier pass's reason, no longer true
        return True

    def mark_blocked(doc: Dict[str, Any]) -> bool:
        message = report.blocked[str(doc["_id"])]
        if doc.get("held") != hold or doc.get("launcher_status") == message:
            return False
        doc["launcher_status"] = message
        return True

    if ready:
        report.released = pool.update(list(ready), release).changed
    if report.blocked:
        pool.update(list(report.blocked), mark_blocked)
    return report
