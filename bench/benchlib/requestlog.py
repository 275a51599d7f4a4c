"""pouchdb-server's request log (``log.txt``): the requests one database received, by kind."""

from __future__ import annotations

import collections
import re
import time
from pathlib import Path
from typing import Counter, Dict, List, Tuple
from urllib.parse import unquote

#: (method, kind, status): kind is "db", "doc", "attachment", "view:<name>" or "_bulk_docs"...
Requests = Counter[Tuple[str, str, int]]

_LOG_LINE = re.compile(r"\] (\S+) - - ([A-Z]+) (\S+) (\d{3})\s*$")


class RequestLog:
    """pouchdb-server's ``log.txt``: one ``[info] ... - - METHOD PATH STATUS`` line per request."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        time.sleep(0.5)  # the server appends asynchronously
        return self.path.stat().st_size

    def since(self, offset: int, db: str) -> Requests:
        """(method, kind, status) counts of requests to ``db`` logged after ``offset``."""
        time.sleep(1.0)
        counts: Requests = collections.Counter()
        with self.path.open("rb") as fh:
            fh.seek(offset)
            for raw in fh:
                match = _LOG_LINE.search(raw.decode("utf-8", "replace"))
                if match is None:
                    continue
                _, method, path, status = match.groups()
                parts = unquote(path.split("?", 1)[0]).strip("/").split("/")
                if parts[0] == db:
                    counts[(method, request_kind(parts[1:]), int(status))] += 1
        return counts


def request_kind(rest: List[str]) -> str:
    """What a path below the database names: db, doc, attachment, view:<name>, _bulk_docs..."""
    if not rest or not rest[0]:
        return "db"
    if rest[0] == "_design" and len(rest) >= 4 and rest[2] == "_view":
        return f"view:{rest[3]}"
    if rest[0].startswith("_"):
        return "/".join(rest[:2])
    return "doc" if len(rest) == 1 else "attachment"


def per_token(counts: Requests, tokens: int) -> Dict[str, float]:
    """Requests per token by "METHOD kind" (statuses merged), and their ``total``."""
    merged: Counter[str] = collections.Counter()
    for (method, kind, _status), n in counts.items():
        merged[f"{method} {kind}"] += n
    out = {key: round(n / tokens, 2) for key, n in sorted(merged.items())}
    out["total"] = round(sum(merged.values()) / tokens, 2)
    return out
