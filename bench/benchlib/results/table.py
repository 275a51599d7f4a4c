"""bench/RESULTS.md from the collected JSON: the machine, one table of ratios (ours / the
baseline measured in the same run, the raw numbers next to them), the pool of N tokens.

Only formatting: no server, no run. A section that is missing, skipped or failed becomes a
row saying so.
"""

from __future__ import annotations

import statistics
from typing import Any, Dict, List, Optional, Sequence, Tuple

Row = Tuple[str, str, str, str, str]

HEADER = ("measurement", "ours", "baseline (same run)", "ours / baseline", "better")
HIGHER, LOWER = "higher", "lower"
WORKERS = ("1", "4", "16")


def num(value: Optional[float], digits: int = 2) -> str:
    """``1,234.57``; integers without decimals; "?" when unknown."""
    if value is None:
        return "?"
    if float(value).is_integer() and abs(value) >= 100:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def ratio(ours: Optional[float], base: Optional[float], digits: int = 2) -> str:
    if ours is None or base is None:
        return "?"
    if base == 0:
        return "— (both 0)" if ours == 0 else "∞"
    return num(ours / base, digits)


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _missing(section: Any) -> Optional[str]:
    """Why a section has no figures (None when it has)."""
    if not section:
        return "not run"
    if "skipped" in section:
        return f"skipped: {section['skipped']}"
    if "error" in section:
        return f"failed: {section['error']}"
    return None


def _not_measured(label: str, why: str) -> Row:
    return (label, "not measured", "", "—", why.replace("\n", " ").replace("|", "/"))


# -- the rows, section by section ---------------------------------------------------------------


def token_rows(t: Dict[str, Any]) -> List[Row]:
    why = _missing(t)
    if why:
        return [_not_measured("creation, overview, first todo (bench/tokens.py)", why)]
    rows: List[Row] = []
    if "creation_ours_s" in t:
        n = t["creation_tokens"]
        ours = n / t["creation_ours_s"]
        raw = n / t["creation_raw_s"]
        legacy = t["creation_legacy_tokens_per_s"]
        size = t.get("creation_attachment_bytes_mean", 1024)
        rows += [
            (
                f"creation of {n:,} tokens with a {size:,} B srm.txt, tokens/s: "
                "vs raw `_bulk_docs`",
                f"{num(ours, 0)}/s ({num(t['creation_ours_s'])} s)",
                f"{num(raw, 0)}/s ({num(t['creation_raw_s'])} s)",
                ratio(ours, raw),
                HIGHER,
            ),
            (
                f"the same, vs GRID_LRT-style PUT + attachment PUT per token (measured on "
                f"{t['creation_legacy_subset_tokens']:,})",
                f"{num(ours, 0)}/s",
                f"{num(legacy, 0)}/s",
                ratio(ours, legacy, 1),
                HIGHER,
            ),
        ]
    if "overview_warm_ms_median_of_5" in t and "overview_legacy_warm_ms_median_of_5" in t:
        n = t["overview_tokens"]
        rows += [
            (
                f"overview counts of {n:,} tokens, warm (median of 5): `counts` vs GRID_LRT's "
                "per-type `overview_total`",
                f"{num(t['overview_warm_ms_median_of_5'], 1)} ms",
                f"{num(t['overview_legacy_warm_ms_median_of_5'], 1)} ms",
                ratio(t["overview_warm_ms_median_of_5"], t["overview_legacy_warm_ms_median_of_5"]),
                LOWER,
            ),
            (
                f"the same, first answer (builds the index of {n:,} tokens)",
                f"{num(t['overview_index_build_s'], 1)} s",
                f"{num(t['overview_legacy_index_build_s'], 1)} s",
                ratio(t["overview_index_build_s"], t["overview_legacy_index_build_s"]),
                LOWER,
            ),
        ]
    if "types_dbwide_first_todo_every_type_s" in t:
        capped = " (per-type side capped, extrapolated)" if t.get("types_pertype_capped") else ""
        rows.append(
            (
                f"{t['types']} types x {t['tokens_per_type']:,} tokens, until every type has "
                f"answered its first todo: database-wide view vs per-type design documents{capped}",
                f"{num(t['types_dbwide_first_todo_every_type_s'], 1)} s",
                f"{num(t['types_pertype_first_todo_every_type_s'], 1)} s",
                ratio(
                    t["types_dbwide_first_todo_every_type_s"],
                    t["types_pertype_first_todo_every_type_s"],
                ),
                LOWER,
            )
        )
    return rows


def _rounds(section: Dict[str, Any], side: str, key: str) -> List[Any]:
    return [r[side].get(key) for r in section.get("rounds", []) if side in r]


def _workers(w: str) -> str:
    return f"{w} worker" + ("" if w == "1" else "s")


def _shown(shown: bool, text: str) -> str:
    return text if shown else ""


def launcher_rows(launcher: Dict[str, Any], picas_note: Optional[str]) -> List[Row]:
    rows: List[Row] = []
    for w in WORKERS:
        sec = (launcher or {}).get(w)
        why = _missing(sec)
        if why:
            rows.append(_not_measured(f"launcher, {_workers(w)} (bench/launcher.py)", why))
            continue
        first = sec["rounds"][0]["ours"]
        size = f"{first['tokens']:,} tokens x {_workers(w)}, {len(sec['rounds'])} round(s)"
        has_picas = "picas" in sec["rounds"][0]
        why_not = "" if has_picas else f"picas not run: {picas_note or 'skipped'}"
        picas_tps = _median(_rounds(sec, "picas", "tokens_per_s"))
        claim_tps = _rounds(sec, "ours", "tokens_per_s_to_last_done")
        if all(v is not None for v in claim_tps):
            paired = [
                r["ours"]["tokens_per_s_to_last_done"] / r["picas"]["tokens_per_s"]
                for r in sec["rounds"]
                if has_picas
            ]
            rows.append(
                (
                    f"claim throughput (tokens/s, first lock → last token done), {size}: launcher "
                    "vs picas 1.1.2 `RunActor` (median of the rounds' ratios)",
                    num(_median(claim_tps), 1),
                    _shown(has_picas, num(picas_tps, 1)),
                    num(_median(paired)) if has_picas else "—",
                    HIGHER + ("" if has_picas else f"; {why_not}"),
                )
            )
        ours_tps = _median(_rounds(sec, "ours", "tokens_per_s"))
        tail = _median(_rounds(sec, "ours", "exit_tail_s"))
        rows.append(
            (
                "the same, until the last launcher has exited (bench/launcher.py's own ratio"
                + (
                    ""
                    if tail is None
                    else f"; launchers exit {num(tail, 1)} s after the last token"
                )
                + ")",
                num(ours_tps, 1),
                _shown(has_picas, num(picas_tps, 1)),
                num(sec["ratio_tokens_per_s_median"]) if has_picas else "—",
                HIGHER + ("" if has_picas else f"; {why_not}"),
            )
        )
        ours_dl = sum(_rounds(sec, "ours", "double_locked"))
        ours_dp = sum(_rounds(sec, "ours", "double_processed"))
        picas_dl = sum(_rounds(sec, "picas", "claims_of_taken"))
        picas_dp = sum(_rounds(sec, "picas", "double_processed"))
        rows.append(
            (
                f"double claims, {_workers(w)}: tokens locked twice / run twice "
                "(summed over rounds)",
                f"{ours_dl} / {ours_dp}",
                _shown(has_picas, f"{picas_dl} / {picas_dp}"),
                f"{ratio(ours_dl, picas_dl)} / {ratio(ours_dp, picas_dp)}" if has_picas else "—",
                LOWER,
            )
        )
        o50 = _median(_rounds(sec, "ours", "overhead_s_median"))
        o95 = _median(_rounds(sec, "ours", "overhead_s_p95"))
        p50 = _median(_rounds(sec, "picas", "overhead_s_median"))
        p95 = _median(_rounds(sec, "picas", "overhead_s_p95"))
        picas_overhead = has_picas and p50 is not None
        rows.append(
            (
                f"launcher overhead per token, claim → pipeline start, p50 / p95, {_workers(w)}",
                f"{num(o50, 3)} / {num(o95, 3)} s",
                f"{num(p50, 3)} / {num(p95, 3)} s" if picas_overhead else "",
                f"{ratio(o50, p50)} / {ratio(o95, p95)}" if picas_overhead else "—",
                LOWER,
            )
        )
        ours_req = _median(
            [(x or {}).get("total") for x in _rounds(sec, "ours", "requests_per_token")]
        )
        picas_req = _median(
            [(x or {}).get("total") for x in _rounds(sec, "picas", "requests_per_token")]
        )
        rows.append(
            (
                f"requests per token, {_workers(w)}",
                num(ours_req),
                _shown(has_picas, num(picas_req)),
                ratio(ours_req, picas_req) if has_picas else "—",
                LOWER,
            )
        )
    return rows


def staging_rows(s: Dict[str, Any]) -> List[Row]:
    why = _missing(s)
    if why:
        return [_not_measured("state check of SURLs (bench/staging.py)", why)]
    return [
        (
            f"state check of {s['check_files']:,} SURLs (mock://, "
            f"{s['check_latency_ms_per_file']:g}"
            f" ms per check): {s['check_workers']} concurrent vs one by one",
            f"{num(s['check_concurrent_s'])} s",
            f"{num(s['check_one_by_one_s'])} s",
            ratio(s["check_concurrent_s"], s["check_one_by_one_s"], 3),
            LOWER,
        ),
    ]


def memory_rows(m: Dict[str, Any]) -> List[Row]:
    why = _missing(m)
    if why:
        return [_not_measured("memory per 10^6 tokens (bench/million.py)", why)]
    mem = m["memory"]
    n = m["tokens"]
    if "held_mb_at_n" not in mem:
        return [_not_measured("memory per 10^6 tokens (bench/million.py)", "no baseline run")]
    return [
        (
            f"client memory of a pool of {n:,} tokens: the largest growth of any operation "
            f"({mem['worst_phase']}) vs the same documents held in one list; per 10^6 scaled "
            "linearly",
            f"{num(mem['growth_mb'], 1)} MB ({num(mem['growth_mb_per_million_linear'], 0)} MB "
            "per 10^6)",
            f"{num(mem['held_mb_at_n'], 1)} MB ({num(mem['held_mb_per_million'], 0)} MB per 10^6)",
            ratio(mem["growth_mb"], mem["held_mb_at_n"], 3),
            LOWER,
        ),
    ]


def replicated_rows(r: Dict[str, Any]) -> List[Row]:
    why = _missing(r) or (None if r.get("confirmed") and r.get("unconfirmed") else "no figures")
    label = "replicated setup (tests/integration/launcher/test_replicated_claims.py -s)"
    if why:
        return [_not_measured(label, why)]
    c, u = r["confirmed"], r["unconfirmed"]
    setup = (
        f"{c['tokens']} tokens, {c['launchers']} launchers on {c['servers']} replicating servers"
    )
    return [
        (
            f"replicated setup, {setup}: tokens completed twice, claims confirmed (settle "
            f"{c['settle']:g} s) vs not confirmed",
            str(c["completed_twice"]),
            str(u["completed_twice"]),
            ratio(c["completed_twice"], u["completed_twice"]),
            LOWER,
        ),
        (
            "the same, pipelines started twice",
            str(c["started_twice"]),
            str(u["started_twice"]),
            ratio(c["started_twice"], u["started_twice"]),
            LOWER,
        ),
        (
            "the same, run time (the cost of confirming)",
            f"{c['seconds']} s",
            f"{u['seconds']} s",
            ratio(c["seconds"], u["seconds"]),
            LOWER,
        ),
    ]


def ratio_rows(raw: Dict[str, Any]) -> List[Row]:
    return [
        *token_rows(raw.get("tokens") or {}),
        *launcher_rows(raw.get("launcher") or {}, raw.get("picas")),
        *staging_rows(raw.get("staging") or {}),
        *memory_rows(raw.get("million") or {}),
        *replicated_rows(raw.get("replicated") or {}),
    ]


# -- markdown -----------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> List[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def machine_lines(raw: Dict[str, Any]) -> List[str]:
    start = raw.get("machine_start") or {}
    end = raw.get("machine_end") or {}

    def load(m: Dict[str, Any]) -> str:
        return " / ".join(num(x) for x in m.get("loadavg", [])) or "?"

    rows = [
        ("CPU", start.get("cpu_model") or "?"),
        ("cores", start.get("cores") or "?"),
        ("memory", f"{num(start.get('memory_gb'), 1)} GB"),
        ("kernel", start.get("kernel") or "?"),
        ("Python", start.get("python") or "?"),
        (
            "server",
            f"pouchdb-server {start.get('pouchdb_server') or '?'} (Node.js "
            f"{start.get('node') or '?'}), on loopback, the same one for both sides",
        ),
        ("load average (1 / 5 / 15 min)", f"start {load(start)}; end {load(end)}"),
        ("date", f"{start.get('date_utc', '?')} to {end.get('date_utc', '?')}"),
        ("commit", start.get("commit") or "?"),
    ]
    return markdown_table(("", ""), rows)


def million_lines(m: Dict[str, Any]) -> List[str]:
    if _missing(m):
        return [f"Not measured: {_missing(m)}."]
    n = m["tokens"]
    labels = {
        "create": "create, `create_tokens` from a generator",
        "first_todo": "first todo answer after the bulk load (builds the view index)",
        "counts": "`pool.counts` (index built)",
        "reset": "reset every token (`pool.ids` + `pool.update`)",
        "archive": "`archive_type` to a tar.gz",
        "delete": "delete every token (`pool.ids` + `pool.delete`)",
    }
    rows = []
    for name, p in m["phases"].items():
        rows.append(
            (
                labels.get(name, name),
                num(p["seconds"], 1),
                num(n / p["seconds"], 0),
                num(p["peak_mb"], 1),
                num(p["growth_mb"], 1),
                num(p.get("server_rss_mb"), 0),
            )
        )
    lines = [
        f"{n:,} tokens (each with a ~1 KB `srm.txt`) on {m['server']}; each operation in a fresh "
        "Python process, so each peak is that operation's alone (VmHWM of /proc/self/status at "
        "its end; growth = the peak - the process's RSS after its imports).",
        "",
        *markdown_table(
            (
                "operation",
                "seconds",
                "tokens/s",
                "client peak MB",
                "client growth MB",
                "server RSS MB after",
            ),
            rows,
        ),
        "",
    ]
    ph = m["phases"]
    if "first_todo" in ph:
        ft = ph["first_todo"]
        lines.append(
            f"- Time to the first todo answer after the bulk load: **{num(ft['seconds'], 1)} s** "
            f"({num(ft['index_docs_per_s'], 0)} documents/s indexed); afterwards the todo query "
            f"takes {num(ft['todo_query_warm_ms'], 0)} ms and the claim query (one row with its "
            f"document) {num(ft['claim_query_warm_ms'], 0)} ms."
        )
    if "reset" in ph:
        r = ph["reset"]
        lines.append(
            f"- Reset: listing {num(r['list_s'], 1)} s, update {num(r['update_s'], 1)} s; the "
            f"view index then catches up with {n:,} changed documents at the next query: "
            f"{num(r['reindex_s'], 1)} s."
        )
    mem = m["memory"]
    lines.append(
        f"- Client memory: the largest growth is {num(mem['growth_mb'], 1)} MB "
        f"({mem['worst_phase']}), the highest peak {num(mem['peak_mb'], 1)} MB."
        + (
            f" The same documents held in one list take {num(mem['held_mb_at_n'], 1)} MB "
            f"({num(mem['held_mb_per_million'], 0)} MB per 10^6)."
            if "held_mb_at_n" in mem
            else ""
        )
    )
    if m.get("data_mb_after_create") is not None:
        lines.append(
            f"- The server's data folder after creation: {num(m['data_mb_after_create'], 0)} MB."
        )
    return lines


def notes(raw: Dict[str, Any]) -> List[str]:
    out = []
    if raw.get("picas"):
        out.append(f"picas 1.1.2 was not measured: {raw['picas']}.")
    for w, sec in sorted((raw.get("launcher") or {}).items(), key=lambda kv: int(kv[0])):
        if isinstance(sec, dict) and sec.get("exit_status"):
            out.append(
                f"bench/launcher.py with {w} workers exited {sec['exit_status']}: a token was "
                "locked or run twice, not done with 0, or a launcher failed."
            )
    for name in ("tokens", "million", "staging"):
        sec = raw.get(name) or {}
        if isinstance(sec, dict) and sec.get("exit_status"):
            out.append(f"bench/{name}.py exited {sec['exit_status']} (see its JSON).")
    rep = raw.get("replicated") or {}
    if rep.get("exit_status"):
        out.append(
            f"The replicated-claims tests exited {rep['exit_status']}: {rep.get('tail', '')}"
        )
    return out


def _sizes(raw: Dict[str, Any]) -> str:
    if not raw.get("quick"):
        return "the issue sizes"
    full = raw.get("full_sections") or []
    if full:
        return f"the issue sizes for {', '.join(full)}; quick sizes, a smoke run, for the rest"
    return "quick sizes: a smoke run, not the issue sizes"


def markdown(raw: Dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{raw.get('command', 'python bench/results.py')}` ({_sizes(raw)}) "
        f"in {num(raw.get('seconds'), 0)} s. Every ratio is ours / the baseline, both measured "
        "in this run against the same server; the machine was shared, so the ratios say more "
        "than the absolute figures. What each figure means: bench/README.md.",
        "",
        "## Machine",
        "",
        *machine_lines(raw),
        "",
        "## Ours / baseline",
        "",
        *markdown_table(HEADER, ratio_rows(raw)),
        "",
        "Baselines: raw `_bulk_docs` is a plain `requests` loop writing the same documents; "
        "GRID_LRT-style is one `PUT` per token and one attachment `PUT` (measured on a subset, "
        "extrapolated by rate), per-type design documents and `overview_total` as GRID_LRT made "
        "them; picas is SURF's picas 1.1.2 (`RunActor`, `/bin/true` per token) in its own venv. "
        "picas's claim → start runs from its read of the token it locks to `process_task`, the "
        "launcher's from `times.locked` (once the row is read) to the first line of its bash "
        "pipeline. The replicated setup's baseline is the same launchers without confirmation.",
    ]
    extra = notes(raw)
    if extra:
        lines += ["", "Notes:", "", *[f"- {note}" for note in extra]]
    lines += [
        "",
        "## A pool of N tokens (bench/million.py)",
        "",
        *million_lines(raw.get("million") or {}),
    ]
    return "\n".join(lines) + "\n"
