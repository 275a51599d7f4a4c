"""Inside the picas venv: the ``setup`` and ``worker`` verbs (picas imported here, lazily)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator

from benchlib.picas_baseline.protocol import CONDITIONS, DESIGN_DOC, START_TIMEOUT


def _picas_client(args: argparse.Namespace, recorder: Any = None) -> Any:
    from couchdb.http import ResourceConflict
    from picas.clients import CouchDB

    class CountingCouchDB(CouchDB):  # type: ignore[misc]
        """picas's client, recording claims and 409s (``phase`` is set by the actor)."""

        phase = "claim"
        taken = False
        read_at = 0.0

        def get(self, id: str) -> Any:
            doc = super().get(id)
            if self.phase == "claim":  # what _claim_task is about to lock
                self.taken = bool(doc["lock"]) or bool(doc["done"])
                self.read_at = time.time()
            return doc

        def save(self, doc: Any) -> Any:
            try:
                saved = super().save(doc)
            except ResourceConflict:
                recorder({"event": "conflict", "phase": self.phase, "id": doc["_id"]})
                raise
            if self.phase == "claim":
                recorder({"event": "claim", "phase": "claim", "id": doc["_id"],
                          "taken": self.taken, "read_t": self.read_at})  # fmt: skip
            return saved

    password = os.environ[args.password_env]
    if recorder is None:
        return CouchDB(url=args.url, db=args.db, username=args.user, password=password)
    return CountingCouchDB(url=args.url, db=args.db, username=args.user, password=password)


def setup_main(args: argparse.Namespace) -> int:
    """Monitor views with picas's ``add_view`` and tasks with picas's ``Task``."""
    from picas.documents import Task

    client = _picas_client(args)
    for name, condition in CONDITIONS.items():
        map_fun = f'function(doc) {{ if (doc.type == "token") {{ if ({condition}) {{ emit(doc._id, doc._id); }} }} }}'  # noqa: E501
        client.add_view(name, map_fun, design_doc=DESIGN_DOC)
    emits = " ".join(f"if ({c}) {{ emit('{n}', 1); }}" for n, c in CONDITIONS.items())
    client.add_view(
        "overview_total",
        f'function(doc) {{ if (doc.type == "token") {{ {emits} }} }}',
        reduce_fun="function (key, values, rereduce) { return sum(values); }",
        design_doc=DESIGN_DOC,
    )
    tasks = [Task({"_id": f"token_{i}", "type": "token", "input": i}) for i in range(args.tokens)]
    saved = client.save_documents(tasks)
    if not all(saved):
        print(f"only {sum(saved)} of {len(tasks)} tasks saved", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _recorder(path: Path) -> Iterator[Any]:
    with path.open("a", buffering=1) as fh:

        def record(event: Dict[str, Any]) -> None:
            fh.write(json.dumps({**event, "pid": os.getpid(), "t": time.time()}) + "\n")

        yield record


def worker_main(args: argparse.Namespace) -> int:
    import logging

    from picas.actors import RunActor
    from picas.executers import execute

    logging.getLogger().setLevel(logging.WARNING)  # picas.actors calls basicConfig(INFO)

    class NoOpActor(RunActor):  # type: ignore[misc]
        def __init__(self, db: Any, record: Any) -> None:
            super().__init__(db, view="todo", design_doc=DESIGN_DOC)
            self.record = record

        def process_task(self, task: Any) -> None:
            self.db.phase = "finish"
            self.record({"event": "process", "id": task["_id"], "rev": task["_rev"]})
            _proc, exit_code, _out, _err = execute(["/bin/true"])
            task["exit_code"] = exit_code
            task.done()

        def cleanup_run(self, *args: Any, **kwargs: Any) -> None:
            self.db.phase = "claim"  # after _run's final save

    with _recorder(Path(args.record)) as record:
        actor = NoOpActor(_picas_client(args, record), record)
        if args.ready:
            Path(args.ready).touch()
        if args.gate:
            deadline = time.time() + START_TIMEOUT
            while not Path(args.gate).exists():
                if time.time() > deadline:
                    return 2
                time.sleep(0.005)
        try:
            actor.run(max_tasks=args.max_tasks or None, max_scrub=0)
        except OSError as err:  # picas: EnvironmentError("Unable to claim task.")
            record({"event": "gave_up", "error": str(err)})
            return 3
        finally:
            record({"event": "end", "processed": actor.tasks_processed})
    return 0
