"""The operations on a pool of N tokens, one per child process of bench/million.py.

Each returns its figures; ``seconds`` is the operation as a user runs it. A :class:`Meter`
counts the documents written and the requests made, and logs them with the process's memory
every few seconds while the operation runs (stderr).
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

from benchlib.memory import peak_rss_mb, rss_mb
from benchlib.million import log
from benchlib.million.workload import TYPE, forced_reset, token_docs
from benchlib.stats import perf
from grid_lrt.client.token_archive import archive_type
from grid_lrt.client.tokendocs import create_tokens
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.pool.claiming import todo_row
from grid_lrt.shared.schema import TokenState

#: Seconds between two progress lines.
EVERY = 10.0

#: The in-memory baseline holds at most this many documents (then it is scaled to 10^6).
HELD_MAX = 100_000


def memory_line() -> str:
    return f"RSS {rss_mb()} MB (peak {peak_rss_mb()} MB)"


class Meter:
    """Counts what ``pool`` writes (documents through ``_bulk_docs``) and asks (requests)."""

    def __init__(self, pool: CouchTokenPool) -> None:
        self.docs = 0
        self.requests = 0
        db = pool.db
        bulk, request = db.bulk_docs, db.session.request

        def counted_bulk(docs: Any, *args: Any, **kwargs: Any) -> Any:
            self.docs += len(docs)
            return bulk(docs, *args, **kwargs)

        def counted_request(*args: Any, **kwargs: Any) -> Any:
            self.requests += 1
            return request(*args, **kwargs)

        db.bulk_docs = counted_bulk  # type: ignore[method-assign]
        db.session.request = counted_request  # type: ignore[method-assign]

    @contextlib.contextmanager
    def ticking(self, label: str, total: int) -> Iterator[None]:
        """Log progress every :data:`EVERY` seconds while the block runs."""
        stop = threading.Event()
        start = perf()

        def run() -> None:
            while not stop.wait(EVERY):
                written = f"{self.docs}/{total} documents written, " if total else ""
                log(
                    f"    {label}: {perf() - start:.0f} s, {written}{self.requests} requests, "
                    f"{memory_line()}"
                )

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    t0 = perf()
    out = call()
    return out, perf() - t0


def create(pool: CouchTokenPool, n: int, meter: Meter, workdir: Path) -> Dict[str, Any]:
    """``create_tokens`` from a generator: one batch of documents in memory at a time."""
    pool.ensure_views()  # the design document before the tokens, as `lrt tokens create` does
    step = max(1000, n // 10)

    def stream() -> Iterator[Dict[str, Any]]:
        for i, doc in enumerate(token_docs(n), 1):
            yield doc
            if i % step == 0 or i == n:
                log(f"    made {i}/{n} tokens, {memory_line()}")

    with meter.ticking("create", n):
        result, seconds = _timed(lambda: create_tokens(pool, stream(), progress=None, total=n))
    if len(result.changed) != n:
        raise RuntimeError(f"created {len(result.changed)} of {n} tokens: {result.summary('')}")
    return {"seconds": seconds, "tokens_per_s": n / seconds, "requests": meter.requests}


def first_todo(pool: CouchTokenPool, n: int, meter: Meter, workdir: Path) -> Dict[str, Any]:
    """The first todo answer after the bulk load: the first view query builds the index."""
    with meter.ticking("first todo (building the view index)", 0):
        ids, seconds = _timed(lambda: pool.ids(TYPE, TokenState.TODO, limit=1))
    if not ids:
        raise RuntimeError("no todo token after the bulk load")
    _, again = _timed(lambda: pool.ids(TYPE, TokenState.TODO, limit=1))
    row, claim_query = _timed(lambda: todo_row(pool.db, TYPE, 0))
    if row is None:
        raise RuntimeError("the claim query found no todo token")
    return {
        "seconds": seconds,
        "index_docs_per_s": n / seconds,
        "todo_query_warm_ms": again * 1000,
        "claim_query_warm_ms": claim_query * 1000,
    }


def counts(pool: CouchTokenPool, n: int, meter: Meter, workdir: Path) -> Dict[str, Any]:
    """``pool.counts`` (one ``group_level`` query), the index already built."""
    found, seconds = _timed(lambda: pool.counts(TYPE))
    if found[TokenState.TODO] != n:
        raise RuntimeError(f"counts {found}: expected {n} todo")
    warm = [_timed(lambda: pool.counts(TYPE))[1] for _ in range(2)]
    return {"seconds": seconds, "warm_s_median": statistics.median(warm)}


def reset(pool: CouchTokenPool, n: int, meter: Meter, workdir: Path) -> Dict[str, Any]:
    """Every token reset (listed, then ``pool.update`` with a mutator that writes each one);
    then the index catching up with N changed documents (the next query's wait)."""
    with meter.ticking("reset", n):
        ids, listing = _timed(lambda: pool.ids(TYPE))
        result, update = _timed(lambda: pool.update(ids, forced_reset))
    if len(result.changed) != n:
        raise RuntimeError(f"reset {len(result.changed)} of {n}: {result.summary('reset')}")
    with meter.ticking("reset: the view index catching up", 0):
        found, reindex = _timed(lambda: pool.counts(TYPE))
    if found[TokenState.TODO] != n:
        raise RuntimeError(f"after the reset, counts {found}")
    return {
        "seconds": listing + update,
        "list_s": listing,
        "update_s": update,
        "reindex_s": reindex,
        "requests": meter.requests,
    }


def archive(pool: CouchTokenPool, n: int, meter: Meter, workdir: Path) -> Dict[str, Any]:
    """``archive_type`` into a tar.gz (as ``lrt tokens archive``), in a temporary folder."""
    folder = workdir / "archive"
    try:
        with meter.ticking("archive", 0):
            out, seconds = _timed(lambda: archive_type(pool, TYPE, folder, compress=True))
        if len(out.revisions) != n:
            raise RuntimeError(f"archived {len(out.revisions)} of {n} tokens")
        size = out.path.stat().st_size
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "seconds": seconds,
        "tokens_per_s": n / seconds,
        "tarball_mb": size / 1e6,
        "requests": meter.requests,
    }


def delete(pool: CouchTokenPool, n: int, meter: Meter, workdir: Path) -> Dict[str, Any]:
    """Every token deleted (listed, then ``pool.delete``)."""
    with meter.ticking("delete", n):
        ids, listing = _timed(lambda: pool.ids(TYPE))
        result, deleting = _timed(lambda: pool.delete(ids))
    if len(result.changed) != n:
        raise RuntimeError(f"deleted {len(result.changed)} of {n}: {result.summary('deleted')}")
    left = pool.db.info().get("doc_count")
    return {
        "seconds": listing + deleting,
        "list_s": listing,
        "delete_s": deleting,
        "docs_left": left,
        "requests": meter.requests,
    }


def held(n: int) -> Dict[str, Any]:
    """The baseline: the same documents all in memory at once, as a client that builds its
    list (GRID_LRT's ``create_dict_tokens``, picas's ``save_documents``) holds them; at most
    :data:`HELD_MAX`, scaled to 10^6."""
    count = min(n, HELD_MAX)
    before = rss_mb() or 0.0
    docs: List[Dict[str, Any]] = list(token_docs(count))
    growth = (peak_rss_mb() or 0.0) - before
    del docs
    return {
        "held_tokens": count,
        "held_growth_mb": round(growth, 1),
        "held_mb_per_million": round(growth / count * 1e6, 1),
    }


PHASES: Dict[str, Callable[[CouchTokenPool, int, Meter, Path], Dict[str, Any]]] = {
    "create": create,
    "first_todo": first_todo,
    "counts": counts,
    "reset": reset,
    "archive": archive,
    "delete": delete,
}
