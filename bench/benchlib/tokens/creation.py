"""Phase 1, creation: TokenSet.create_dict_tokens vs a raw _bulk_docs loop vs GRID_LRT's way."""

from __future__ import annotations

import base64
import json
import statistics
from pathlib import Path
from typing import Any, Dict, List, Tuple

import requests

from benchlib.stats import perf
from benchlib.tokens import log
from benchlib.tokens.server import Server
from benchlib.tokens.workload import ID_APPEND, ID_PREFIX, KEY_NAME, link_dict, raw_docs
from grid_lrt.client.token import TokenSet

BATCH = 1000  # same as grid_lrt.shared.pool.bulk.BATCH


def post_bulk(session: requests.Session, db_url: str, docs: List[Dict[str, Any]]) -> None:
    for start in range(0, len(docs), BATCH):
        body = json.dumps({"docs": docs[start : start + BATCH]})
        r = session.post(f"{db_url}/_bulk_docs", data=body, timeout=600)
        if r.status_code != 201 or any("error" in row for row in r.json()):
            raise RuntimeError(f"raw _bulk_docs failed: HTTP {r.status_code} {r.text[:200]}")


def phase_creation(srv: Server, n: int, legacy_n: int, repeat: int, config: Path) -> Dict[str, Any]:
    log(f"[1/3] creation: {n} tokens with a ~1 KB srm.txt, best of {repeat} rounds (ours vs raw)")
    t_type = "bench"
    data = link_dict(0, n)
    sizes = [len("".join(f"{x}\n" for x in links)) for links in data.values()]

    # Warm the server up (JIT, allocator) so neither contender pays for going first.
    warm = srv.new_db("warmup")
    post_bulk(srv.session, f"{srv.url}/{warm}", raw_docs("warm", link_dict(0, min(n, 2000))))
    srv.drop_db(warm)

    ours_s: List[float] = []
    raw_s: List[float] = []
    raw_post_s: List[float] = []

    def ours_round() -> str:
        name = srv.new_db("ours")
        ts = TokenSet(srv.handler(t_type, name), config)
        t0 = perf()
        result = ts.create_dict_tokens(data, ID_PREFIX, ID_APPEND, KEY_NAME, file_upload="srm.txt")
        ours_s.append(perf() - t0)
        if len(result.changed) != n:
            raise RuntimeError(f"ours created {len(result.changed)} of {n} tokens")
        return name

    def raw_round() -> Tuple[str, List[str]]:
        name = srv.new_db("raw")
        t0 = perf()
        docs = raw_docs(t_type, data)
        t1 = perf()
        post_bulk(srv.session, f"{srv.url}/{name}", docs)
        t2 = perf()
        raw_s.append(t2 - t0)
        raw_post_s.append(t2 - t1)
        return name, [d["_id"] for d in docs[:: max(1, n // 7)]]

    for rnd in range(repeat):
        # Alternate who goes first: the server's state (GC, allocator) drifts between rounds.
        if rnd % 2 == 0:
            name = ours_round()
            raw_name, sample = raw_round()
        else:
            raw_name, sample = raw_round()
            name = ours_round()
        if rnd == 0:
            check_same_docs(srv, name, raw_name, sample, n)
        log(
            f"    round {rnd + 1} ({'ours' if rnd % 2 == 0 else 'raw'} first): "
            f"ours {ours_s[-1]:.2f} s, raw {raw_s[-1]:.2f} s (post only {raw_post_s[-1]:.2f} s)"
        )
        srv.drop_db(name)
        srv.drop_db(raw_name)

    legacy = legacy_subset(srv, t_type, data, legacy_n, config)
    ours = min(ours_s)
    legacy_rate = legacy_n / legacy
    legacy_extrapolated = n / legacy_rate
    return {
        "creation_tokens": n,
        "creation_attachment_bytes_mean": round(statistics.mean(sizes)),
        "creation_rounds": repeat,
        "creation_ours_s": round(ours, 3),
        "creation_ours_tokens_per_s": round(n / ours),
        "creation_raw_s": round(min(raw_s), 3),
        "creation_raw_post_only_s": round(min(raw_post_s), 3),
        "creation_legacy_subset_tokens": legacy_n,
        "creation_legacy_subset_s": round(legacy, 3),
        "creation_legacy_tokens_per_s": round(legacy_rate, 1),
        "creation_legacy_extrapolated_s": round(legacy_extrapolated, 1),
        "ratio_creation_raw_over_ours": round(min(raw_s) / ours, 3),
        "ratio_creation_raw_post_only_over_ours": round(min(raw_post_s) / ours, 3),
        "ratio_creation_rate_ours_over_legacy": round((n / ours) / legacy_rate, 1),
    }


def check_same_docs(srv: Server, ours: str, raw: str, sample: List[str], n: int) -> None:
    """The raw baseline must write exactly what TokenSet writes (ignoring revisions)."""
    for name in (ours, raw):
        if srv.doc_count(name) != n:
            raise RuntimeError(f"{name}: expected {n} documents")
    for doc_id in sample:
        docs = []
        for name in (ours, raw):
            doc = srv.session.get(
                f"{srv.url}/{name}/{doc_id}", params={"attachments": "true"}, timeout=60
            ).json()
            doc.pop("_rev", None)
            for att in doc.get("_attachments", {}).values():
                att.pop("revpos", None)
            docs.append(doc)
        if docs[0] != docs[1]:
            raise RuntimeError(f"raw and ours differ for {doc_id}: {docs[0]} != {docs[1]}")


def legacy_subset(
    srv: Server, t_type: str, data: Dict[int, List[str]], legacy_n: int, config: Path
) -> float:
    """GRID_LRT's way: PUT each token, then PUT its srm.txt with ?rev= (2 requests per token)."""
    log(f"    legacy: {legacy_n} tokens, one PUT per token + one attachment PUT (?rev=)")
    name = srv.new_db("legacy")
    db_url = f"{srv.url}/{name}"
    subset = dict(list(data.items())[:legacy_n])
    docs = raw_docs(t_type, subset)
    session = requests.Session()
    session.headers.update({"Accept": "application/json"})
    session.auth = srv.session.auth
    t0 = perf()
    for doc in docs:
        attachments = doc.pop("_attachments")
        r = session.put(
            f"{db_url}/{doc['_id']}",
            data=json.dumps(doc),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        r.raise_for_status()
        rev = r.json()["rev"]
        body = base64.b64decode(attachments["srm.txt"]["data"])
        r = session.put(
            f"{db_url}/{doc['_id']}/srm.txt",
            params={"rev": rev},
            data=body,
            headers={"Content-Type": "text/plain"},
            timeout=60,
        )
        r.raise_for_status()
    elapsed = perf() - t0
    if srv.doc_count(name) != legacy_n:
        raise RuntimeError("legacy subset: wrong document count")
    srv.drop_db(name)
    log(f"    legacy: {elapsed:.2f} s ({legacy_n / elapsed:.0f} tokens/s)")
    return elapsed
