"""The report tests' tokens, made the way the launcher makes them (``shared.lease``), and a
reader of the page they end up on."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from grid_lrt.shared.lease import Worker, apply_claim, finish, requeue, stamp
from grid_lrt.shared.schema import make_token_id, new_token

T0 = 1_780_000_000.0  # 2026-05-28: an epoch time well past EPOCH_FLOOR


def token(t_type: str, name: str, **fields: Any) -> Dict[str, Any]:
    return new_token(t_type, make_token_id(t_type, name), fields)


def ran(
    doc: Dict[str, Any],
    *,
    start: float,
    code: Optional[int],
    host: str = "wn1",
    job: str = "",
    download: float = 10.0,
    pipeline: float = 100.0,
    upload: float = 5.0,
) -> Dict[str, Any]:
    """Claim ``doc`` at ``start`` and run it through the launcher's stamps; ``code`` None: it
    is still running (locked, in its pipeline)."""
    apply_claim(doc, now=start, lease=600.0, worker=Worker(host, "slurm", job), owner="nonce")
    stamp(doc, "downloading", start + 1)
    stamp(doc, "running", start + download)
    if code is None:
        return doc
    stamp(doc, "uploading_results", start + download + pipeline)
    finish(doc, now=start + download + pipeline + upload, code=code)
    return doc


def lost(doc: Dict[str, Any], *, start: float, host: str, job: str = "") -> Dict[str, Any]:
    """An attempt that lost its lease 60 s after the claim: the token is back in todo."""
    apply_claim(doc, now=start, lease=600.0, worker=Worker(host, "slurm", job), owner="nonce")
    requeue(doc, now=start + 60, reason="lease expired")
    return doc


class ListPool:
    """The two reads ``collect`` makes, over a list of documents; records the batches."""

    def __init__(self, docs: Sequence[Dict[str, Any]], batch: int = 2) -> None:
        self._docs = {d["_id"]: d for d in docs}
        self.batch = batch
        self.batches: List[List[str]] = []

    def ids(self, t_type: str) -> List[str]:
        return sorted(i for i, d in self._docs.items() if d.get("type") == t_type)

    def docs(self, ids: Sequence[str]) -> Iterator[Dict[str, Any]]:
        for start in range(0, len(ids), self.batch):
            chunk = list(ids[start : start + self.batch])
            self.batches.append(chunk)
            yield from (self._docs[i] for i in chunk if i in self._docs)


NOW = T0 + 3600


def campaign() -> List[Dict[str, Any]]:
    """Tokens of type ``cal`` in every state, plus one of another type."""
    docs = [
        ran(token("cal", "d1"), start=T0, code=0, host="wn1", job="job.1"),
        ran(token("cal", "d2"), start=T0 + 60, code=0, host="wn1", job="job.1"),
        ran(token("cal", "d3"), start=T0 + 120, code=0, host="wn2", job="job.2", pipeline=400),
        ran(token("cal", "e1"), start=T0 + 180, code=21, host="wn2", job="job.2"),
        ran(token("cal", "e2"), start=T0 + 240, code=99, host="wn3", job="job.3"),
        ran(token("cal", "e3"), start=T0 + 250, code=21, host="wn3", job="job.3"),
        ran(token("cal", "run"), start=NOW - 100, code=None, host="wn1", job="job.4"),
        lost(token("cal", "t1"), start=T0 + 300, host="wn3", job="job.3"),
        token("cal", "t2"),
        token("cal", "w1", held="staging"),
        token(
            "cal",
            "w2",
            held="staging",
            launcher_status="staging failed for 1 file(s), e.g. srm://x: lost",
        ),
        token("other", "x1"),
    ]
    stale = ran(token("cal", "stale"), start=T0 + 10, code=None, host="wn4", job="job.5")
    stale["lease_expires"] = T0 + 610  # its launcher vanished long ago
    docs.append(stale)
    return docs


#: What a token writer might try; each must end up as text on the page.
HOSTILE = {
    "_id": "<script>alert('id')</script>",
    "hostname": '<img src=x onerror="alert(1)">',
    "batch_job_id": "</td></tr></table><script>alert(2)</script> $\\frac{ $",  # not TeX either
    "held": "",
}
HOSTILE_TYPE = 'cal&<b onmouseover="x">'


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's text (a space before each cell)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: List[Tuple[str, Dict[str, Optional[str]]]] = []
        self.text: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th", "tr"):
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    return tags


def words(page: str) -> str:
    """The page's text, its white space collapsed."""
    return " ".join("".join(parsed(page).text).split())
