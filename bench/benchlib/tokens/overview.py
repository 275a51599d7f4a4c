"""Phase 2, overview: per-state counts of one type through TokenPool.counts() (one request),
against GRID_LRT's per-type ``overview_total`` view (``_design/<type>``, ``group=true``) on the
same tokens in the same database."""

from __future__ import annotations

import base64
import statistics
from typing import Any, Dict

from benchlib.console import ticker
from benchlib.stats import perf
from benchlib.tokens import log
from benchlib.tokens.server import Server, count_requests
from benchlib.tokens.workload import ID_APPEND, ID_PREFIX, TOKEN_CONFIG, surl_links
from grid_lrt.shared import views
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.schema import TokenState, make_token_id, new_token

_MIX = (
    (TokenState.TODO, 70),
    (TokenState.LOCKED, 10),
    (TokenState.DONE, 15),
    (TokenState.ERROR, 5),
)


def _state_fields(state: TokenState) -> Dict[str, Any]:
    now = 1_760_000_000
    if state is TokenState.LOCKED:
        return {"lock": now, "status": "running", "hostname": "wn-01.grid.sara.nl"}
    if state is TokenState.DONE:
        return {"lock": now, "done": now + 3600, "output": 0, "status": "done"}
    if state is TokenState.ERROR:
        return {"lock": now, "done": now + 60, "output": 1, "status": "error"}
    return {}


def phase_overview(srv: Server, total: int) -> Dict[str, Any]:
    log(f"[2/3] overview: {total} tokens of one type in mixed states, TokenPool.counts()")
    t_type = "overview"
    name = srv.new_db("overview")
    th = srv.handler(t_type, name)
    th.pool.ensure_views()  # the design document exists before the tokens, as in production
    th.add_overview_view()  # and GRID_LRT's, the baseline
    expected = dict.fromkeys(TokenState, 0)
    step = 10_000
    t0 = perf()
    for start in range(0, total, step):
        docs = []
        for n in range(start, min(total, start + step)):
            state = _MIX[0][0]
            slot = n % 100
            for candidate, share in _MIX:
                if slot < share:
                    state = candidate
                    break
                slot -= share
            expected[state] += 1
            doc = new_token(t_type, make_token_id(t_type, f"{ID_APPEND}_{ID_PREFIX}{n:06d}"))
            doc.update(TOKEN_CONFIG)
            doc.update(_state_fields(state))
            text = "".join(f"{link}\n" for link in surl_links(n)).encode()
            doc["_attachments"] = {
                "srm.txt": {"content_type": "text/plain", "data": base64.b64encode(text).decode()}
            }
            docs.append(doc)
        result = th.pool.create(docs)
        if len(result.changed) != len(docs):
            raise RuntimeError("overview load: not every token was created")
        log(f"    loaded {min(total, start + step)}/{total} ({perf() - t0:.0f} s)")
    load_s = perf() - t0

    pool = th.pool
    with ticker(log, "building the index of _design/grid_lrt"):
        t0 = perf()
        counts = pool.counts(t_type)
        build_s = perf() - t0
    if counts != expected:
        raise RuntimeError(f"counts {counts} != expected {expected}")
    log(f"    index build + first answer: {build_s:.1f} s")
    read = count_requests(pool.db)
    warm = []
    for _ in range(5):
        before = read()
        t0 = perf()
        pool.counts(t_type)
        warm.append(perf() - t0)
        requests_per_call = read() - before
    legacy = _legacy_overview(th.pool.db, t_type, expected)
    srv.drop_db(name)
    warm_ms = statistics.median(warm) * 1000
    return {
        "overview_tokens": total,
        "overview_load_s": round(load_s, 1),
        "overview_index_build_s": round(build_s, 1),
        "overview_index_docs_per_s": round(total / build_s),
        "overview_warm_ms_median_of_5": round(warm_ms, 1),
        "overview_requests_per_call": requests_per_call,
        "overview_counts": {state.value: counts[state] for state in TokenState},
        **legacy,
        "ratio_overview_warm_ours_over_legacy": round(
            warm_ms / legacy["overview_legacy_warm_ms_median_of_5"], 3
        ),
        "ratio_overview_build_ours_over_legacy": round(
            build_s / legacy["overview_legacy_index_build_s"], 3
        ),
    }


def _legacy_overview(db: CouchDB, t_type: str, expected: Dict[TokenState, int]) -> Dict[str, Any]:
    """GRID_LRT's way: ``_design/<type>/_view/overview_total?group=true`` (its own index)."""

    def query() -> Dict[str, int]:
        rows = db.view(t_type, views.OVERVIEW, group=True)["rows"]
        return {str(row["key"]): int(row["value"]) for row in rows}

    with ticker(log, f"building the index of _design/{t_type}"):
        t0 = perf()
        found = query()
        build_s = perf() - t0
    wanted = {state.value: n for state, n in expected.items() if n}
    if found != wanted:
        raise RuntimeError(f"GRID_LRT overview {found} != expected {wanted}")
    log(f"    GRID_LRT's overview_total: index build + first answer {build_s:.1f} s")
    warm = []
    for _ in range(5):
        t0 = perf()
        query()
        warm.append(perf() - t0)
    return {
        "overview_legacy_index_build_s": round(build_s, 2),
        "overview_legacy_warm_ms_median_of_5": round(statistics.median(warm) * 1000, 1),
    }
