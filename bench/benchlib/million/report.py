"""bench/million.py's table: per operation, its time and the client's peak of memory."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

LABELS = {
    "create": "create (create_tokens from a generator)",
    "first_todo": "first todo answer (builds the index)",
    "counts": "counts (index built)",
    "reset": "reset every token (list + update)",
    "archive": "archive_type to a tar.gz",
    "delete": "delete every token (list + delete)",
}


def _num(value: Optional[float], digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def memory_summary(res: Dict[str, Any]) -> Dict[str, Any]:
    """The largest growth of any operation at N tokens (and scaled linearly to 10^6: an upper
    bound, since most of it is one batch's), and the held baseline's at the same N."""
    phases = res["phases"]
    n = res["tokens"]
    worst = max(phases, key=lambda p: phases[p]["growth_mb"])
    growth = phases[worst]["growth_mb"]
    out: Dict[str, Any] = {
        "tokens": n,
        "worst_phase": worst,
        "growth_mb": round(growth, 1),
        "peak_mb": max(p["peak_mb"] for p in phases.values()),
        "growth_mb_per_million_linear": round(growth / n * 1e6, 1),
    }
    held = res.get("held")
    if held:
        at_n = held["held_mb_per_million"] * n / 1e6
        out["held_mb_at_n"] = round(at_n, 1)
        out["held_mb_per_million"] = round(held["held_mb_per_million"], 1)
        out["ratio_growth_ours_over_held"] = round(growth / at_n, 3) if at_n > 0 else None
    return out


def table(res: Dict[str, Any]) -> List[str]:
    n = res["tokens"]
    lines = [
        f"== grid-lrt pool of {n:,} tokens ({res['server']}) ==",
        f"load average: start {res['loadavg_start']}, end {res.get('loadavg_end')}; "
        f"cpus {res['cpus']}",
        "each operation in a fresh Python process: peak = its VmHWM at the end, growth = peak - "
        "its RSS after the imports",
        "",
        f"{'operation':40}{'seconds':>10}{'tokens/s':>10}{'peak MB':>9}{'growth MB':>11}"
        f"{'/10^6 tok':>11}{'server MB':>11}",
    ]
    for name, p in res["phases"].items():
        lines.append(
            f"{LABELS.get(name, name):40}{_num(p['seconds']):>10}{_num(n / p['seconds'], 0):>10}"
            f"{_num(p['peak_mb']):>9}{_num(p['growth_mb']):>11}"
            f"{_num(p['growth_mb'] / n * 1e6, 0):>11}{_num(p.get('server_rss_mb')):>11}"
        )
    phases = res["phases"]
    if "first_todo" in phases:
        ft = phases["first_todo"]
        lines.append(
            f"  first todo: {ft['seconds']:.1f} s ({ft['index_docs_per_s']:,.0f} documents/s "
            f"indexed); warm: todo query {ft['todo_query_warm_ms']:.0f} ms, claim query "
            f"{ft['claim_query_warm_ms']:.0f} ms"
        )
    if "reset" in phases:
        r = phases["reset"]
        lines.append(
            f"  reset: listing {r['list_s']:.1f} s, update {r['update_s']:.1f} s; the index "
            f"catching up afterwards (next query) {r['reindex_s']:.1f} s"
        )
    if "counts" in phases:
        lines.append(
            f"  counts again (warm, median of 2): {phases['counts']['warm_s_median']:.2f} s"
        )
    if res.get("data_mb_after_create") is not None:
        lines.append(
            f"  server's data folder after creation: {res['data_mb_after_create']:,.0f} MB"
        )
    mem = res["memory"]
    lines += [
        "",
        f"memory: the largest growth is {mem['growth_mb']} MB ({mem['worst_phase']}) at {n:,} "
        f"tokens, peak {mem['peak_mb']} MB; scaled linearly to 10^6 tokens "
        f"{mem['growth_mb_per_million_linear']:,.0f} MB (an upper bound: most of it is one "
        "batch's, not per token; measure at a larger --tokens for the slope)",
    ]
    if "held_mb_per_million" in mem:
        held = res["held"]
        lines.append(
            f"baseline: {held['held_tokens']:,} of the same documents held in one list: "
            f"{held['held_growth_mb']:.0f} MB, {mem['held_mb_at_n']:,.0f} MB at {n:,} tokens, "
            f"{mem['held_mb_per_million']:,.0f} MB per 10^6; ours / held = "
            f"{mem['ratio_growth_ours_over_held']}"
        )
    return lines
