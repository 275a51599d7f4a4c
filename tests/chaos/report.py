"""The printed report of chaos runs: a block per run, a line of figures per run, a summary."""

from __future__ import annotations

import statistics
from typing import List, Optional, Sequence

from tests.chaos.checks import Figures

__all__ = ["details", "run_line", "summary"]


def _seconds(value: Optional[float]) -> str:
    return "never" if value is None else f"{value:.1f} s"


def _listed(names: List[str], most: int = 6) -> str:
    if not names:
        return ""
    return f"   ({', '.join(names[:most])}{' ...' if len(names) > most else ''})"


def details(fig: Figures) -> List[str]:
    """Every figure of one run, one topic a line."""
    proxy = fig.proxy
    lines = [
        f"tokens lost                  {fig.lost}   (states {fig.states}"
        + (f", error codes {fig.errors}" if fig.errors else "")
        + ")",
        f"tokens completed twice       {fig.completed_twice}   (done logged twice: "
        f"{fig.done_logged_twice}; done by a run that logged no done: {fig.ghosts}; runs "
        f"claimed twice: {fig.double_claims})",
        f"runs reported lost that had closed their token   {fig.false_lost}",
        f"results committed once       {fig.results_ok}/{fig.tokens} right   (missing "
        f"{fig.results_missing}, wrong content {fig.results_wrong}, other files "
        f"{len(fig.results_other)}, results_commit of another attempt {fig.commit_mismatch})",
        f"temporaries left             {len(fig.parts_left)}{_listed(fig.parts_left)}",
        f"commits                      {fig.commits} logged; tokens committed by two attempts "
        f"{fig.recommitted}",
        f"pipelines while another attempt held the lease   {fig.overlaps} token(s)   "
        f"({fig.starts} pipelines started, {fig.reruns} tokens ran more than once, "
        f"{fig.requeues} requeues)",
        f"launchers survived outage    {fig.outage_survived}/{fig.outage_live}   (server down "
        f"{fig.outage:.1f} s; bad exits: {', '.join(fig.bad_exits) or 'none'})",
        f"time to recover              {_seconds(fig.recovery)}   (server back -> next token done)",
        f"faults                       {fig.kills} kill -9, zombie: {fig.zombie}",
        f"proxied launcher             {proxy.get('requests', 0)} requests, "
        f"{proxy.get('dropped', 0)} dropped before and {proxy.get('dropped_after', 0)} after "
        f"forwarding, {proxy.get('upstream_errors', 0)} while the server was down, "
        f"{proxy.get('delayed', 0.0):.0f} s of delay",
        f"wall time                    {fig.wall:.1f} s   (last token done after "
        f"{fig.drain:.1f} s; {fig.launchers} launchers started)",
    ]
    lines += [f"FAILED: {failure}" for failure in fig.failures]
    return lines


def run_line(index: int, fig: Figures) -> str:
    """One line of figures for a run (the ``--runs`` table)."""
    verdict = "PASS" if not fig.failures else f"FAIL({len(fig.failures)})"
    return (
        f"run {index:2d} seed {fig.seed:<10d} {verdict:8s} lost {fig.lost} twice "
        f"{fig.completed_twice} results {fig.results_ok}/{fig.tokens} parts {len(fig.parts_left)} "
        f"overlaps {fig.overlaps} survived {fig.outage_survived}/{fig.outage_live} outage "
        f"{fig.outage:.1f}s recover {_seconds(fig.recovery)} kills {fig.kills} "
        f"zombie {'ok' if 'dropped its run' in fig.zombie else 'NO'} wall {fig.wall:.0f}s"
    )


def summary(figs: Sequence[Figures]) -> List[str]:
    """Across runs: how many passed, and the spread of the figures that vary."""
    passed = sum(1 for fig in figs if not fig.failures)
    walls = [fig.wall for fig in figs]
    recoveries = [fig.recovery for fig in figs if fig.recovery is not None]
    size = figs[0].size if figs else "?"
    lines = [
        f"{len(figs)} run(s) at {size} size: {passed} passed, {len(figs) - passed} failed",
        f"  lost {sum(f.lost for f in figs)}, completed twice "
        f"{sum(f.completed_twice for f in figs)}, results wrong/missing "
        f"{sum(f.results_wrong + f.results_missing for f in figs)}, bad exits "
        f"{sum(len(f.bad_exits) for f in figs)} (totals over the runs)",
        f"  temporaries left {sum(len(f.parts_left) for f in figs)}, tokens with overlapping "
        f"pipelines {sum(f.overlaps for f in figs)}, requeues {sum(f.requeues for f in figs)}",
    ]
    if walls:
        lines.append(
            f"  wall time min {min(walls):.0f} s, median {statistics.median(walls):.0f} s, "
            f"max {max(walls):.0f} s"
        )
    if recoveries:
        lines.append(
            f"  time to recover min {min(recoveries):.1f} s, median "
            f"{statistics.median(recoveries):.1f} s, max {max(recoveries):.1f} s"
        )
    lines += [f"  seed {f.seed}: {failure}" for f in figs for failure in f.failures]
    return lines
