"""The login node's staging book: requests submitted, and batches waiting for room.

Two files under ``~/.config/grid-lrt/`` (``$LRT_STAGE_DIR`` overrides the folder):

* ``stage-requests.jsonl``: one line per submitted request (``id``, ``service``, ``site``,
  ``obsid``, ``files``, ``surls``, ``file``, ``time``), appended the moment the service
  answered, so ``lrt stage status``/``watch`` know what was asked for;
* ``stage-queue.json``: the batches that did not fit under the LTA's 5,000 files in flight,
  in order. :meth:`StageBook.feed` submits from its head while they fit (``lrt stage submit``
  and every pass of ``lrt stage watch`` call it) and removes each one once it is recorded.

Both are changed under an exclusive ``flock`` and the queue is replaced atomically, so two
``lrt`` processes on one login node never submit one batch twice. A crash between the
service's answer and the record re-submits that one batch later, which only costs a request.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .base import Stager, StageRequest
from .planning import MAX_IN_FLIGHT, Batch, fits

__all__ = ["Fed", "StageBook", "stage_dir"]


def stage_dir() -> Path:
    return Path(os.environ.get("LRT_STAGE_DIR") or Path.home() / ".config" / "grid-lrt")


@dataclass
class Fed:
    """What one :meth:`StageBook.feed` did."""

    submitted: List[Tuple[Batch, StageRequest]]
    waiting: int  #: batches still queued
    waiting_files: int
    in_flight: int  #: files in flight after this feed


class StageBook:
    """The records and the queue of one user on one login node."""

    def __init__(self, folder: Optional[Path] = None) -> None:
        self.folder = folder or stage_dir()
        self.records_path = self.folder / "stage-requests.jsonl"
        self.queue_path = self.folder / "stage-queue.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".stage.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- the queue ------------------------------------------------------------------------

    def _read_queue(self) -> List[Batch]:
        try:
            data = json.loads(self.queue_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return [Batch(**item) for item in data.get("batches", [])]

    def _write_queue(self, batches: List[Batch]) -> None:
        tmp = self.queue_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"batches": [asdict(b) for b in batches]}), encoding="utf-8")
        tmp.replace(self.queue_path)

    def queued(self) -> List[Batch]:
        with self._locked():
            return self._read_queue()

    def enqueue(self, batches: List[Batch]) -> None:
        with self._locked():
            self._write_queue(self._read_queue() + list(batches))

    # -- the records ----------------------------------------------------------------------

    def _record(self, batch: Batch, request: StageRequest, service: str) -> None:
        line = {
            "id": request.request_id,
            "service": service,
            "site": batch.site,
            "obsid": batch.obsid,
            "files": len(batch.surls),
            "surls": request.surls or batch.surls,
            "file": batch.source,
            "time": int(time.time()),
        }
        with self.records_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    def records(self) -> List[Dict[str, Any]]:
        """Every submitted request, oldest first (malformed lines skipped)."""
        try:
            lines = self.records_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            try:
                found.append(dict(json.loads(line)))
            except (ValueError, TypeError):
                continue
        return found

    def forget(self, request_ids: List[str]) -> int:
        """Drop the records of ``request_ids`` (requests the service no longer knows); how
        many were dropped. Their files can then be asked for again."""
        gone = {str(i) for i in request_ids}
        with self._locked():
            kept = [r for r in self.records() if str(r.get("id")) not in gone]
            dropped = len(self.records()) - len(kept)
            if dropped:
                tmp = self.records_path.with_suffix(".tmp")
                tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
                tmp.replace(self.records_path)
            return dropped

    # -- submitting -----------------------------------------------------------------------

    def feed(self, stager: Stager, *, limit: int = MAX_IN_FLIGHT) -> Fed:
        """Submit queued batches from the head while they fit beside the files in flight."""
        with self._locked():
            queue = self._read_queue()
            in_flight = stager.active_files() if queue else 0
            done: List[Tuple[Batch, StageRequest]] = []
            while queue and fits(len(queue[0]), in_flight, limit=limit):
                batch = queue[0]
                request = stager.submit(batch.surls)
                self._record(batch, request, stager.name)
                queue.pop(0)
                self._write_queue(queue)
                in_flight += len(batch)
                done.append((batch, request))
            return Fed(done, len(queue), sum(len(b) for b in queue), in_flight)
