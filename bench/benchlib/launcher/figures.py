"""What the run left behind, as figures: the tokens, the marker files, the launchers' logs."""

from __future__ import annotations

import collections
import re
import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchlib.launcher import progress
from benchlib.requestlog import Requests, per_token
from benchlib.stats import percentile

#: The launcher's last INFO line (loop.py).
_SUMMARY = re.compile(
    r"(\d+) claim\(s\), (\d+) claim round\(s\) lost to other launchers "
    r"\((\d+) stale view row\(s\), (\d+) conflict\(s\) on the lock\)"
)


def markers(work: Path) -> Dict[str, List[float]]:
    starts: Dict[str, List[float]] = collections.defaultdict(list)
    for path in sorted(work.glob("launcher-*/marker.txt")):
        for line in path.read_text().splitlines():
            token, _, when = line.partition(" ")
            starts[token].append(float(when))
    return starts


def median_gap(docs: List[Dict[str, Any]], start: str, end: str) -> Optional[float]:
    gaps = [d["times"][end] - d["times"][start] for d in docs if {start, end} <= set(d["times"])]
    return round(statistics.median(gaps), 4) if gaps else None


def error_lines(work: Path) -> int:
    """ERROR lines and tracebacks in the launchers' stderr."""
    found = 0
    for path in sorted(work.glob("launcher-*/stderr.log")):
        for line in path.read_text(errors="replace").splitlines():
            if (
                " ERROR " in line
                or " CRITICAL " in line
                or line.startswith(("Traceback", "lrt-launcher: error"))
            ):
                found += 1
                if found <= 3:
                    progress(f"{path.parent.name}: {line}")
    return found


def claim_stats(work: Path) -> Dict[str, int]:
    """Claims and lost claim rounds, summed over the launchers' last log lines."""
    totals = {"claims": 0, "lost": 0, "stale": 0, "lock_conflicts": 0, "launchers": 0}
    for path in sorted(work.glob("launcher-*/stderr.log")):
        match = _SUMMARY.search(path.read_text(errors="replace"))
        if match is None:
            continue
        totals["launchers"] += 1
        for key, value in zip(("claims", "lost", "stale", "lock_conflicts"), match.groups()):
            totals[key] += int(value)
    return totals


def figures(
    docs: List[Dict[str, Any]],
    starts: Dict[str, List[float]],
    requests: Requests,
    started: float,
    ends: List[float],
    codes: List[int],
    workers: int,
) -> Dict[str, Any]:
    n = len(docs)
    locked = [d["times"]["locked"] for d in docs if "locked" in d.get("times", {})]
    first_lock, last_exit = min(locked), max(ends)
    done = [d["times"]["done"] for d in docs if d.get("times", {}).get("done")]
    last_done = max(done) if done else last_exit
    overhead = [starts[d["_id"]][0] - d["times"]["locked"] for d in docs if starts.get(d["_id"])]
    return {
        "tokens": n,
        "workers": workers,
        "wall_s": round(last_exit - started, 3),
        "startup_s": round(first_lock - started, 3),
        "drain_s": round(last_exit - first_lock, 3),
        "tokens_per_s": round(n / (last_exit - first_lock), 2),
        "tokens_per_s_wall": round(n / (last_exit - started), 2),
        # first lock to the last token done: the claim throughput, without the launchers' exit
        "drain_to_last_done_s": round(last_done - first_lock, 3),
        "tokens_per_s_to_last_done": round(n / max(last_done - first_lock, 1e-6), 2),
        "exit_tail_s": round(last_exit - last_done, 3),
        "double_locked": sum(1 for d in docs if int(d.get("attempt") or 0) > 1),
        "double_processed": sum(1 for d in docs if len(starts.get(d["_id"], [])) > 1),
        "never_processed": sum(1 for d in docs if not starts.get(d["_id"])),
        "not_done_0": sum(1 for d in docs if d.get("status") != "done" or d.get("output") != 0),
        "overhead_s_median": round(statistics.median(overhead), 4),
        "overhead_s_p95": round(percentile(overhead, 0.95), 4),
        "overhead_s_max": round(max(overhead), 4),
        "phase_s_median": {
            "locked→running": median_gap(docs, "locked", "running"),
            "running→done": median_gap(docs, "running", "done"),
            "locked→done": median_gap(docs, "locked", "done"),
        },
        "requests_per_token": per_token(requests, n),
        "requests": {f"{m} {k} {s}": v for (m, k, s), v in sorted(requests.items())},
        "exit_codes": dict(collections.Counter(codes)),
    }


def claim_figures(
    stats: Dict[str, int], requests: Requests, n: int, workers: int
) -> Dict[str, Any]:
    """Lost claim rounds as the launchers counted them, checked against the server's log."""
    logged_409 = sum(v for (m, k, s), v in requests.items() if (m, k, s) == ("PUT", "doc", 409))
    return {
        "claims": stats["claims"],
        "claim_rounds_lost": stats["lost"],
        "claim_stale_rows": stats["stale"],
        "claim_409s": stats["lock_conflicts"],
        "claim_409s_in_server_log": logged_409,
        "conflicts_per_claim": round(stats["lost"] / n, 4) if n else None,
        "launchers_reporting": f"{stats['launchers']}/{workers}",
    }
