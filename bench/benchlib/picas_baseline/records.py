"""The workers' records (one JSON line per event) and the figures made from them."""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path
from typing import Any, Dict, List


def read_records(paths: List[Path]) -> List[Dict[str, Any]]:
    records = []
    for path in paths:
        if path.exists():
            with path.open() as fh:
                records.extend(json.loads(line) for line in fh if line.strip())
    return records


def figures(
    events: List[Dict[str, Any]],
    codes: List[int],
    tokens: int,
    workers: int,
    started: float,
    go: float,
) -> Dict[str, Any]:
    """The baseline's figures (see run_picas_baseline), from the events and the exit codes."""
    ends = [e["t"] for e in events if e["event"] == "end"]
    seconds = (max(ends) if ends else time.time()) - go
    processed = collections.Counter(e["id"] for e in events if e["event"] == "process")
    kinds = collections.Counter(
        (e["event"], e.get("phase")) for e in events if e["event"] in ("claim", "conflict")
    )
    claims = kinds[("claim", "claim")]
    conflicts = {"claim": kinds[("conflict", "claim")], "finish": kinds[("conflict", "finish")]}
    conflicts["total"] = conflicts["claim"] + conflicts["finish"]
    return {
        "tokens": tokens,
        "workers": workers,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 2) if seconds > 0 else None,
        "processings": sum(processed.values()),
        "unique_processed": len(processed),
        "double_processed": sum(1 for n in processed.values() if n > 1),
        "extra_processings": sum(n - 1 for n in processed.values() if n > 1),
        "claims": claims,
        "claims_of_taken": sum(1 for e in events if e["event"] == "claim" and e.get("taken")),
        "conflicts": conflicts,
        "conflicts_per_claim": round(conflicts["claim"] / claims, 4) if claims else None,
        "gave_up": sum(1 for e in events if e["event"] == "gave_up"),
        "worker_exit_codes": dict(collections.Counter(codes)),
        "startup_seconds": round(go - started, 3),
        **overhead(events),
    }


def overhead(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Per processing, from its worker's read of the token it then locked (the ``GET`` before
    the lock's save, as the launcher's ``times.locked`` is taken once the row is read) to
    ``process_task``: picas's claim → pipeline start. Median, p95 (nearest rank) and max."""
    claimed: Dict[Any, float] = {}
    gaps: List[float] = []
    for e in sorted(events, key=lambda e: e["t"]):
        if e["event"] == "claim":
            claimed[(e["pid"], e["id"])] = e.get("read_t") or e["t"]
        elif e["event"] == "process" and (e["pid"], e["id"]) in claimed:
            gaps.append(e["t"] - claimed.pop((e["pid"], e["id"])))
    if not gaps:
        return {}
    gaps.sort()

    def rank(q: float) -> float:
        return round(gaps[min(len(gaps) - 1, max(0, round(q * (len(gaps) - 1))))], 4)

    return {"overhead_s_median": rank(0.5), "overhead_s_p95": rank(0.95), "overhead_s_max": rank(1)}
