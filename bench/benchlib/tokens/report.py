"""What bench/tokens.py prints: the summary lines (figures, then ratios) and the notes."""

from __future__ import annotations

import json
from typing import Any, Dict, List


def summary_lines(res: Dict[str, Any]) -> List[str]:
    out = ["", "=== grid-lrt token benchmark ==="]
    for key, value in res.items():
        if not key.startswith("ratio_"):
            out.append(f"{key}: {json.dumps(value) if isinstance(value, (dict, bool)) else value}")
    out.append("--- ratios ---")
    if "ratio_creation_raw_over_ours" in res:
        out.append(
            f"ratio_creation_raw_over_ours: {res['ratio_creation_raw_over_ours']} "
            "(raw _bulk_docs time / TokenSet time; target >= 0.8)"
        )
        out.append(
            "ratio_creation_raw_post_only_over_ours: "
            f"{res['ratio_creation_raw_post_only_over_ours']} "
            "(raw time without building the documents; stricter)"
        )
        out.append(
            f"ratio_creation_rate_ours_over_legacy: {res['ratio_creation_rate_ours_over_legacy']}x "
            f"(tokens/s, ours / GRID_LRT's PUT+attachment-PUT; legacy extrapolated from "
            f"{res['creation_legacy_subset_tokens']} tokens; target >= 10x)"
        )
    if "ratio_overview_warm_ours_over_legacy" in res:
        out.append(
            "ratio_overview_warm_ours_over_legacy: "
            f"{res['ratio_overview_warm_ours_over_legacy']} (warm counts, TokenPool.counts / "
            "GRID_LRT's per-type overview_total; lower is better)"
        )
        out.append(
            "ratio_overview_build_ours_over_legacy: "
            f"{res['ratio_overview_build_ours_over_legacy']} (index build + first answer)"
        )
    if "ratio_types_one_type_pertype_over_dbwide" in res:
        out.append(
            "ratio_types_one_type_pertype_over_dbwide: "
            f"{res['ratio_types_one_type_pertype_over_dbwide']} "
            "(first todo answer for one type, per-type ddoc / db-wide view)"
        )
        capped = " (per-type side CAPPED, rest extrapolated)" if res["types_pertype_capped"] else ""
        out.append(
            "ratio_types_every_type_pertype_over_dbwide: "
            f"{res['ratio_types_every_type_pertype_over_dbwide']} "
            f"(until every type answered its first todo){capped}"
        )
    return out


def notes(res: Dict[str, Any]) -> List[str]:
    out = []
    if "creation_legacy_subset_tokens" in res:
        out.append(
            f"legacy creation rate measured on {res['creation_legacy_subset_tokens']} tokens and "
            f"extrapolated to {res['creation_tokens']}; GRID_LRT's TokenHandler also GETs each "
            "token before its attachment PUT (3 requests), so the real legacy is slower still"
        )
    if "overview_warm_ms_median_of_5" in res and res["server"] != "couchdb":
        out.append(
            "pouchdb-server computes a reduce (group_level) at query time over every row of the "
            "key range (CouchDB 3 keeps reductions in its B-tree), so the warm overview grows "
            "with the number of tokens here"
        )
    if "types_pertype_capped" in res:
        if res["types_pertype_capped"]:
            out.append(
                f"per-type 'every type' loop capped at {res['types_pertype_cap_s'] / 60:.0f} min "
                f"after {res['types_pertype_answered']} of {res['types']} types; the rest is "
                "extrapolated from the mean time per type"
            )
        if res["server"] != "couchdb":
            out.append(
                "pouchdb-server reads every design document for each document written "
                "(validate_doc_update lookup), so loading into the per-type database is slower "
                "(types_pertype_load_s); CouchDB caches design documents"
            )
            out.append(
                "pouchdb-server builds only the queried view (todo) of a per-type ddoc; CouchDB 3 "
                "builds all 5 views of each ddoc and indexes every ddoc, so real per-type cost "
                "is higher"
            )
    return out
