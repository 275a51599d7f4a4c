"""Phase 3, indexing with many types: the first todo answer after loading, database-wide view
against one ``_design/<type>`` per type (as GRID_LRT made them)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable, Dict, List

from benchlib.console import ticker
from benchlib.stats import perf
from benchlib.tokens import log
from benchlib.tokens.server import Server
from benchlib.tokens.workload import ID_APPEND, ID_PREFIX, KEY_NAME, link_dict
from grid_lrt.client.token import TokenSet
from grid_lrt.shared import views
from grid_lrt.shared.couch import CouchDB


def load_type(
    srv: Server, name: str, t_type: str, count: int, config: Path, label: str, chunk: int = 10_000
) -> None:
    """Create ``count`` todo tokens of ``t_type`` through TokenSet.create_dict_tokens."""
    ts = TokenSet(srv.handler(t_type, name), config)
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        result = ts.create_dict_tokens(
            link_dict(start, stop), ID_PREFIX, ID_APPEND, KEY_NAME, file_upload="srm.txt"
        )
        if len(result.changed) != stop - start:
            raise RuntimeError(f"{label}: created {len(result.changed)} of {stop - start}")


def _todo_db_wide(db: CouchDB, t_type: str) -> List[Any]:
    rows = db.view(
        views.DB_DDOC,
        views.DB_VIEW,
        startkey=[t_type, "todo"],
        endkey=[t_type, "todo", {}],
        limit=1,
        reduce=False,
    )["rows"]
    return list(rows)


def _todo_per_type(db: CouchDB, t_type: str) -> List[Any]:
    return list(db.view(t_type, "todo", limit=1)["rows"])


def first_answers(
    label: str,
    db: CouchDB,
    types: List[str],
    query: Callable[[CouchDB, str], List[Any]],
    cap_s: float,
) -> Dict[str, Any]:
    """Query todo (limit=1) for each type in turn, right after loading; times are cumulative."""
    t0 = perf()
    per_type: List[float] = []
    answered = 0
    capped = False
    for t_type in types:
        elapsed = perf() - t0
        if per_type and elapsed + per_type[-1] > cap_s:
            capped = True
            break
        with ticker(log, f"{label}: first todo of {t_type}"):
            start = perf()
            rows = query(db, t_type)
            per_type.append(perf() - start)
        if not rows:
            raise RuntimeError(f"{label}: no todo token for {t_type}")
        answered += 1
        log(f"    {label}: {t_type} answered after {perf() - t0:.1f} s ({per_type[-1]:.1f} s)")
    all_s = perf() - t0
    if capped:
        all_s += statistics.mean(per_type) * (len(types) - answered)
    return {
        "one_type_s": per_type[0],
        "all_types_s": all_s,
        "answered": answered,
        "capped": capped,
        "next_types_median_s": statistics.median(per_type[1:]) if len(per_type) > 1 else 0.0,
    }


def phase_types(
    srv: Server, n_types: int, per_type: int, config: Path, cap_s: float
) -> Dict[str, Any]:
    total = n_types * per_type
    types = [f"bt{i:02d}" for i in range(n_types)]
    log(f"[3/3] indexing: {n_types} types x {per_type} tokens = {total} tokens per database")

    # (a) database-wide view
    name = srv.new_db("dbwide")
    srv.handler(types[0], name).pool.ensure_views()  # _design/grid_lrt before the tokens
    t0 = perf()
    for i, t_type in enumerate(types):
        load_type(srv, name, t_type, per_type, config, "db-wide")
        if (i + 1) % 5 == 0 or i + 1 == n_types:
            log(f"    (a) loaded {i + 1}/{n_types} types ({perf() - t0:.0f} s)")
    wide_load_s = perf() - t0
    wide = first_answers("(a) db-wide", srv.couch(name), types, _todo_db_wide, cap_s)
    srv.drop_db(name)

    # (b) one design document per type, as GRID_LRT made them
    name = srv.new_db("pertype")
    for t_type in types:
        th = srv.handler(t_type, name)
        th.add_status_views()
        th.add_overview_view()
    t0 = perf()
    for i, t_type in enumerate(types):
        load_type(srv, name, t_type, per_type, config, "per-type")
        if (i + 1) % 5 == 0 or i + 1 == n_types:
            log(f"    (b) loaded {i + 1}/{n_types} types ({perf() - t0:.0f} s)")
    per_load_s = perf() - t0
    per = first_answers("(b) per-type", srv.couch(name), types, _todo_per_type, cap_s)
    srv.drop_db(name)

    return {
        "types": n_types,
        "tokens_per_type": per_type,
        "types_db_tokens": total,
        "types_dbwide_load_s": round(wide_load_s, 1),
        "types_pertype_load_s": round(per_load_s, 1),
        "types_dbwide_first_todo_one_type_s": round(wide["one_type_s"], 1),
        "types_dbwide_first_todo_every_type_s": round(wide["all_types_s"], 1),
        "types_pertype_first_todo_one_type_s": round(per["one_type_s"], 1),
        "types_pertype_first_todo_every_type_s": round(per["all_types_s"], 1),
        "types_pertype_answered": per["answered"],
        "types_pertype_capped": per["capped"],
        "types_pertype_cap_s": cap_s,
        "ratio_types_one_type_pertype_over_dbwide": round(
            per["one_type_s"] / wide["one_type_s"], 2
        ),
        "ratio_types_every_type_pertype_over_dbwide": round(
            per["all_types_s"] / wide["all_types_s"], 1
        ),
    }
