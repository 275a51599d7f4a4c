"""The batch jobs of a pool, recorded in its token database.

Every submission is one document ``lrt-batch-job:<backend>:<job id>`` in the database of the
tokens it drains, so that ``lrt jobs status`` on any login node of the user sees it. These
documents have no ``lock`` field: no token view counts them (``isToken`` in
``shared/schema.py``), and ``lrt tokens`` never touches them. Fields: ``lrt_record``
(``"batch_job"``), ``backend``, ``job_id``, ``token_type``, ``tasks`` (each pilot's id, as
the launcher writes it into ``batch_job_id``), ``submitted`` (epoch seconds), ``host``,
``user``, ``folder`` (the submission folder on ``host``), ``states`` and ``checked`` (the last
poll), and ``starts`` for local pilots. No secret is ever in one.

Writes go through the token pool's bulk create/update (a retried write meets its own record).
"""

from __future__ import annotations

import getpass
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from grid_lrt.shared.pool import CouchTokenPool

from .backend import JobState
from .tools import SubmitError

__all__ = ["PREFIX", "JobRecord", "Ledger"]

PREFIX = "lrt-batch-job:"
_KIND = "batch_job"


@dataclass
class JobRecord:
    """One submitted batch job."""

    backend: str
    job_id: str
    token_type: str
    tasks: List[str]
    folder: str = ""
    submitted: float = field(default_factory=time.time)
    host: str = field(default_factory=socket.gethostname)
    user: str = field(default_factory=getpass.getuser)
    states: Dict[str, str] = field(default_factory=dict)
    checked: float = 0.0
    starts: Dict[str, str] = field(default_factory=dict)

    @property
    def doc_id(self) -> str:
        return f"{PREFIX}{self.backend}:{self.job_id}"

    def to_doc(self) -> Dict[str, Any]:
        return {
            "_id": self.doc_id,
            "lrt_record": _KIND,
            "backend": self.backend,
            "job_id": self.job_id,
            "token_type": self.token_type,
            "tasks": list(self.tasks),
            "folder": self.folder,
            "submitted": self.submitted,
            "host": self.host,
            "user": self.user,
            "states": dict(self.states),
            "checked": self.checked,
            "starts": dict(self.starts),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> JobRecord:
        return cls(
            backend=str(doc.get("backend", "")),
            job_id=str(doc.get("job_id", "")),
            token_type=str(doc.get("token_type", "")),
            tasks=[str(t) for t in doc.get("tasks", [])],
            folder=str(doc.get("folder", "")),
            submitted=float(doc.get("submitted", 0) or 0),
            host=str(doc.get("host", "")),
            user=str(doc.get("user", "")),
            states={str(k): str(v) for k, v in dict(doc.get("states") or {}).items()},
            checked=float(doc.get("checked", 0) or 0),
            starts={str(k): str(v) for k, v in dict(doc.get("starts") or {}).items()},
        )

    def active_tasks(self) -> int:
        """Pilots last seen in the queue (never polled: all of them)."""
        if not self.checked:
            return len(self.tasks)
        return sum(1 for t in self.tasks if JobState(self.states.get(t, "unknown")).active)


class Ledger:
    """The job records of one token database."""

    def __init__(self, pool: CouchTokenPool) -> None:
        self.pool = pool

    def add(self, record: JobRecord) -> None:
        """Record a submitted job.

        Raises:
            SubmitError: the database refused it (the jobs run all the same: the message says
                which, and where their local record is).
        """
        result = self.pool.create([record.to_doc()])
        if result.failed:
            reason = next(iter(result.failed.values()))
            raise SubmitError(
                f"{record.backend} job {record.job_id} was submitted, but recording it in the "
                f"token database failed: {reason}",
                hint=f"its pilots run all the same; the record is kept in {record.folder}"
                "/submission.json",
            )

    def records(
        self, token_type: Optional[str] = None, backend: Optional[str] = None
    ) -> List[JobRecord]:
        """Every recorded job (of ``token_type`` / ``backend``), oldest first."""
        rows = self.pool.db.all_docs(startkey=PREFIX, endkey=PREFIX + "\ufff0", include_docs=True)[
            "rows"
        ]
        found = [
            JobRecord.from_doc(row["doc"])
            for row in rows
            if row.get("doc") and row["doc"].get("lrt_record") == _KIND
        ]
        found = [
            r
            for r in found
            if (token_type is None or r.token_type == token_type)
            and (backend is None or r.backend == backend)
        ]
        return sorted(found, key=lambda r: r.submitted)

    def save_states(self, record: JobRecord, states: Mapping[str, JobState]) -> None:
        """Store the states of a poll (best effort: a failed write is polled again next time)."""
        now = time.time()
        shown = {task: state.value for task, state in states.items()}

        def put(doc: Dict[str, Any]) -> bool:
            if doc.get("states") == shown:
                return False
            doc["states"], doc["checked"] = shown, now
            return True

        self.pool.update([record.doc_id], put)
        record.states, record.checked = shown, now
