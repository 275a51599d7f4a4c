"""The benchmark's tokens: realistic srm.txt attachments and the fields of a prefactor step."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any, Dict, List

from grid_lrt.shared.schema import DEFAULTS

ATTACHMENT_BYTES = 1024

# Token fields of a realistic prefactor target step (written as the TokenSet's YAML config).
TOKEN_CONFIG = {
    "OBSID": "L229587",
    "CAL_OBSID": "L229585",
    "PIPELINE_STEP": "pref_targ1",
    "RESULTS_DIR": "gsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/lofar/user/"
    "sksp/diskonly/pipelines/SKSP",
    "status": "queued",
}
ID_APPEND = "L229587"
ID_PREFIX = "SB"
KEY_NAME = "STARTSB"

_SITES = (
    ("srm://srm.grid.sara.nl:8443", "/pnfs/grid.sara.nl/data/lofar/ops/projects/{p}/{o}/"),
    ("srm://lofar-srm.fz-juelich.de:8443", "/pnfs/fz-juelich.de/data/lofar/ops/projects/{p}/{o}/"),
    ("srm://lta-head.lofar.psnc.pl:8443", "/lofar/ops/projects/{p}/{o}/"),
)
_PROJECTS = ("lc2_038", "lc5_007", "lt10_010", "lc9_012")


def surl_links(n: int) -> List[str]:
    """About 1 KB of LTA SURLs (one per line) for token ``n``: deterministic, realistic."""
    host, path = _SITES[n % len(_SITES)]
    obsid = 200_000 + (n // 54) * 2
    path = path.format(p=_PROJECTS[(n // 54) % len(_PROJECTS)], o=obsid)
    links: List[str] = []
    size = 0
    sb = (n * 9) % 488
    while size < ATTACHMENT_BYTES - 60:
        tag = f"{zlib.crc32(f'{obsid}-{sb}'.encode()):08X}"
        line = f"{host}{path}L{obsid}_SB{sb:03d}_uv.dppp.MS_{tag}.tar"
        links.append(line)
        size += len(line) + 1
        sb = (sb + 1) % 488
    return links


def link_dict(start: int, stop: int) -> Dict[int, List[str]]:
    return {n: surl_links(n) for n in range(start, stop)}


def write_token_config(workdir: Path) -> Path:
    path = workdir / "bench_token.yaml"
    lines = ["apiVersion: 0", "Token:"]
    lines += [f"  {key}: {json.dumps(value)}" for key, value in TOKEN_CONFIG.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def raw_docs(t_type: str, data: Dict[int, List[str]]) -> List[Dict[str, Any]]:
    """The documents create_dict_tokens writes, built by hand (what a raw script would do)."""
    step = TOKEN_CONFIG["PIPELINE_STEP"]
    docs = []
    for key, links in data.items():
        label = f"{key:03d}"
        doc = dict(DEFAULTS)
        doc.update(TOKEN_CONFIG)
        doc["_id"] = f"t_{t_type}_{ID_APPEND}_{step}_{ID_PREFIX}{label}"
        doc["type"] = t_type
        doc[KEY_NAME] = label
        text = "".join(f"{link}\n" for link in links).encode("utf-8")
        doc["_attachments"] = {
            "srm.txt": {"content_type": "text/plain", "data": base64.b64encode(text).decode()}
        }
        docs.append(doc)
    return docs
