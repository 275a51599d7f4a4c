"""bench/launcher.py's summary: every round, the median round in detail, the ratio."""

from __future__ import annotations

import json
from typing import Any, Dict, List

TARGET_OVERHEAD_S = 1.0
TARGET_RATIO = 1.0


def median_round(rounds: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The round whose ratio (or, without picas, whose tokens/s) is the median."""
    key = "ratio_tokens_per_s" if "picas" in rounds[0] else None

    def value(r: Dict[str, Any]) -> float:
        return float(r[key]) if key else float(r["ours"]["tokens_per_s"])

    ordered = sorted(rounds, key=value)
    return ordered[(len(ordered) - 1) // 2]


def summary(res: Dict[str, Any]) -> str:
    rounds = res["rounds"]
    mid = median_round(rounds)
    ours, picas = mid["ours"], mid.get("picas") or {}
    ph = ours["phase_s_median"]
    ok = "OK" if ours["overhead_s_p95"] < TARGET_OVERHEAD_S else "ABOVE TARGET"
    lines = [
        "== grid-lrt launcher benchmark (one run, one pouchdb-server) ==",
        f"load average: start {res['loadavg_start']}, end {res['loadavg_end']}; cpus {res['cpus']}",
        "",
        "per round (each side a fresh database; the order alternates):",
    ]
    for i, r in enumerate(rounds, 1):
        line = (
            f"  round {i} ({' then '.join(r['order'])}): ours {r['ours']['tokens_per_s']} tokens/s"
        )
        if "picas" in r:
            line += (
                f", picas {r['picas']['tokens_per_s']} tokens/s, ratio {r['ratio_tokens_per_s']}x"
            )
        lines.append(line)
    lines += [
        "",
        f"the median round ({rounds.index(mid) + 1}) in detail; double-locks, double runs and "
        "failures are summed over all rounds:",
        f"{'':34}{'grid-lrt launcher':>20}{'picas 1.1.2':>16}",
    ]

    def row(label: str, a: Any, b: Any = "") -> None:
        lines.append(f"{label:34}{a!s:>20}{b!s:>16}")

    def total(side: str, key: str) -> Any:
        return sum(r[side][key] for r in rounds) if side in rounds[0] else ""

    p = picas.get
    row(
        "tokens x workers",
        f"{ours['tokens']} x {ours['workers']}",
        f"{p('tokens')} x {p('workers')}" if picas else "skipped",
    )
    row("drain seconds", ours["drain_s"], p("seconds", ""))
    row("tokens/s", ours["tokens_per_s"], p("tokens_per_s", ""))
    row("start-up s (not in drain)", ours["startup_s"], p("startup_seconds", ""))
    row("tokens/s incl. start-up", ours["tokens_per_s_wall"])
    row(
        "double-locks (must be 0)",
        total("ours", "double_locked"),
        total("picas", "claims_of_taken"),
    )
    row(
        "tokens processed more than once",
        total("ours", "double_processed"),
        total("picas", "double_processed"),
    )
    row(
        "never processed / not done+0",
        f"{total('ours', 'never_processed')} / {total('ours', 'not_done_0')}",
        f"{sum(r['picas']['tokens'] - r['picas']['unique_processed'] for r in rounds)} / "
        f"{sum(r['picas']['tokens'] - r['picas']['final_states'].get('done', 0) for r in rounds)}"
        if picas
        else "",
    )
    row("lost claim rounds per claim", ours["conflicts_per_claim"], p("conflicts_per_claim", ""))
    row("  409s on the lock PUT", ours["claim_409s"], p("conflicts", {}).get("claim", ""))
    row("  stale view rows (doc not todo)", ours["claim_stale_rows"], "not checked")
    row(
        "requests per token",
        ours["requests_per_token"]["total"],
        p("requests_per_token", {}).get("total", ""),
    )
    row("server CPU s per token", ours["cpu_s_server_per_token"], p("cpu_s_server_per_token", ""))
    row("  picas incl. its set-up", "", p("cpu_s_server_per_token_incl_setup", ""))
    row(
        "client CPU s per token",
        ours["cpu_s_launchers_and_pipelines_per_token"],
        p("cpu_s_workers_and_tasks_per_token_incl_setup", ""),
    )
    row("exit codes", json.dumps(ours["exit_codes"]), json.dumps(p("worker_exit_codes", "")))
    row("launcher ERROR lines", total("ours", "launcher_error_lines"))
    lines += [
        "",
        f"overhead claim → pipeline start: median {ours['overhead_s_median']} s, "
        f"p95 {ours['overhead_s_p95']} s, max {ours['overhead_s_max']} s "
        f"(target < {TARGET_OVERHEAD_S:g} s: {ok})",
        "median per step: " + ", ".join(f"{k} {v}" for k, v in ph.items()),
        "requests per token (ours): " + json.dumps(ours["requests_per_token"]),
    ]
    if picas:
        ratio = res["ratio_tokens_per_s_median"]
        lines.append("requests per token (picas): " + json.dumps(picas["requests_per_token"]))
        lines.append(
            f"ratio tokens/s ours / picas, median of {len(rounds)} round(s): {ratio}x "
            f"(range {res['ratio_tokens_per_s_min']}-{res['ratio_tokens_per_s_max']}; "
            f"target >= {TARGET_RATIO:g}x: {'OK' if ratio >= TARGET_RATIO else 'BELOW'})"
        )
    return "\n".join(lines)
