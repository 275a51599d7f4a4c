#!/usr/bin/env python3
"""Baseline for bench/launcher.py: picas 1.1.2's claim loop (``RunActor``) with a no-op task.

picas is NOT a dependency of grid-lrt. It lives in its own virtualenv, ``bench/.venv-picas``
(made on first use with ``python3.11 -m venv`` + ``pip install picas==1.1.2``). This file has
two halves:

* the **driver**, standard library only, importable from bench/launcher.py (no picas import)::

      from picas_baseline import run_picas_baseline
      figures = run_picas_baseline(url, db, user, password, tokens=2000, workers=16)

  It creates the database, lets picas create its ``Monitor`` views and the tasks (the
  ``setup`` verb, run in the picas venv), starts ``workers`` worker processes, releases them
  together once all are connected, waits, and returns the figures (see
  :func:`run_picas_baseline`).
* the **worker**, run inside the picas venv::

      bench/.venv-picas/bin/python bench/picas_baseline.py worker --url URL --db DB \\
          --user U --password-env VAR --max-tasks N --record PATH

  A ``RunActor`` subclass whose ``process_task`` runs ``/bin/true`` through picas's
  ``executers.execute`` (a subprocess, like our launcher's no-op pipeline), then
  ``task.done()``. It appends one JSON line per event to ``--record``: every processing
  (token id, pid, time) and, through a counting ``picas.clients.CouchDB``, every claim and
  every 409 conflict. The password comes from the environment variable named by
  ``--password-env``, never from argv.

Stand-alone (starts its own pouchdb-server unless ``--url``; prints JSON)::

    python bench/picas_baseline.py run --tokens 300 --workers 3

picas's claim (``iterators._claim_task``) reads 100 rows of ``todo``, GETs a random one and
saves it locked without checking that it is still unlocked, so two workers can both "claim"
a token (shared/reference/test-infrastructure.md §2.2, §5.3): ``double_processed`` counts them.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
DEFAULT_VENV = HERE.parent / ".venv-picas"
PICAS_REQUIREMENT = "picas==1.1.2"
PASSWORD_ENV = "PICAS_BASELINE_PASSWORD"
DESIGN_DOC = "Monitor"
START_TIMEOUT = 180.0  # workers importing picas on a loaded 2-core machine

# picas's views, as SURF's examples/create_views.py (picasclient) makes them.
CONDITIONS = {
    "todo": "doc.lock == 0 && doc.done == 0",
    "locked": "doc.lock > 0 && doc.done == 0",
    "done": "doc.lock > 0 && doc.done > 0 && parseInt(doc.exit_code) == 0",
    "error": "doc.lock > 0 && doc.done > 0 && parseInt(doc.exit_code) != 0",
}


def progress(msg: str) -> None:
    print(f"[picas-baseline] {msg}", file=sys.stderr, flush=True)


# -- the picas virtualenv -------------------------------------------------------------------------


def ensure_picas_venv(venv: Path = DEFAULT_VENV, python: str = "python3.11") -> Path:
    """Return the venv's python, creating the venv and installing picas 1.1.2 if needed."""
    exe = venv / "bin" / "python"
    probe = "import importlib.metadata as m; print(m.version('picas'))"
    if exe.exists():
        done = subprocess.run([str(exe), "-c", probe], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == PICAS_REQUIREMENT.split("==")[1]:
            return exe
    progress(f"creating {venv} with {PICAS_REQUIREMENT} (once; ~20 s)")
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(exe), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, PICAS_REQUIREMENT], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"pip install {PICAS_REQUIREMENT} into {venv} failed:\n{tail}")
    return exe


# -- a tiny CouchDB client (stdlib) for the driver ----------------------------------------------


class Couch:
    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Accept": "application/json", "Authorization": f"Basic {token}"}

    def request(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")


def _view(couch: Couch, db: str, name: str, query: str = "") -> Any:
    status, body = couch.request("GET", f"/{quote(db)}/_design/{DESIGN_DOC}/_view/{name}{query}")
    if status != 200:
        raise RuntimeError(f"view {name} of {db}: HTTP {status} {body}")
    return body


# -- the driver ---------------------------------------------------------------------------------


def _read_records(paths: List[Path]) -> List[Dict[str, Any]]:
    records = []
    for path in paths:
        if path.exists():
            with path.open() as fh:
                records.extend(json.loads(line) for line in fh if line.strip())
    return records


def run_picas_baseline(
    url: str,
    db: str,
    user: str,
    password: str,
    tokens: int = 2000,
    workers: int = 16,
    workdir: Optional[Path] = None,
    *,
    venv: Path = DEFAULT_VENV,
    keep_db: bool = False,
    on_release: Optional[Callable[[], None]] = None,
) -> Dict[str, Any]:
    """Drain ``tokens`` picas tasks with ``workers`` picas ``RunActor`` processes; return figures.

    ``db`` must not exist yet; it is deleted afterwards unless ``keep_db``. Worker records and
    logs go to ``workdir`` (a temporary folder if None, removed afterwards).

    Returns a dict: ``tokens``, ``workers``, ``seconds`` (from the release of the connected
    workers to the end of the last loop), ``tokens_per_s`` (tokens / seconds),
    ``processings`` (``process_task`` calls), ``double_processed`` (tokens processed more than
    once), ``extra_processings``, ``claims`` (successful lock saves), ``claims_of_taken``
    (claims of a token another worker had already locked or finished: the picas bug),
    ``conflicts`` (409s: ``claim``, ``finish``, ``total``), ``conflicts_per_claim``,
    ``gave_up`` (workers that hit "Unable to claim task"), ``final_states`` (overview view),
    ``worker_exit_codes`` and ``startup_seconds`` (spawn until all connected).

    ``on_release`` is called just before the workers are released (bench/launcher.py reads the
    server's CPU counter there, so that set-up is not counted).
    """
    python = ensure_picas_venv(venv)
    couch = Couch(url, user, password)
    status, body = couch.request("PUT", f"/{quote(db)}")
    if status not in (201, 202):
        raise RuntimeError(f"cannot create database {db}: HTTP {status} {body}")
    own_tmp = workdir is None
    work = Path(tempfile.mkdtemp(prefix="picas-baseline-")) if workdir is None else workdir
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, PASSWORD_ENV: password}
    common = ["--url", url, "--db", db, "--user", user, "--password-env", PASSWORD_ENV]
    try:
        setup = [str(python), str(HERE), "setup", *common, "--tokens", str(tokens)]
        subprocess.run(setup, env=env, check=True)
        _view(couch, db, "todo", "?limit=1")  # build the index before timing anything
        result = _drive(python, common, env, work, tokens, workers, on_release)
        overview = _view(couch, db, "overview_total", "?group=true")
        result["final_states"] = {row["key"]: row["value"] for row in overview["rows"]}
        return result
    finally:
        if not keep_db:
            couch.request("DELETE", f"/{quote(db)}")
        if own_tmp:
            shutil.rmtree(work, ignore_errors=True)


def _drive(
    python: Path,
    common: List[str],
    env: Dict[str, str],
    work: Path,
    tokens: int,
    workers: int,
    on_release: Optional[Callable[[], None]] = None,
) -> Dict[str, Any]:
    gate = work / "go"
    gate.unlink(missing_ok=True)
    records = [work / f"worker-{i}.jsonl" for i in range(workers)]
    procs = []
    started = time.time()
    for i, record in enumerate(records):
        record.unlink(missing_ok=True)
        cmd = [str(python), str(HERE), "worker", *common, "--record", str(record)]
        cmd += ["--ready", str(work / f"ready-{i}"), "--gate", str(gate)]
        with (work / f"worker-{i}.log").open("wb") as log:
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.time() + START_TIMEOUT
    while not all((work / f"ready-{i}").exists() for i in range(workers)):
        if time.time() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            raise RuntimeError(f"picas workers did not all start; see {work}/worker-*.log")
        time.sleep(0.01)
    if on_release is not None:
        on_release()
    go = time.time()
    gate.touch()
    codes = [p.wait() for p in procs]
    events = _read_records(records)
    ends = [e["t"] for e in events if e["event"] == "end"]
    seconds = (max(ends) if ends else time.time()) - go
    processed = collections.Counter(e["id"] for e in events if e["event"] == "process")
    kinds = collections.Counter(
        (e["event"], e.get("phase")) for e in events if e["event"] in ("claim", "conflict")
    )
    claims = kinds[("claim", "claim")]
    conflicts = {"claim": kinds[("conflict", "claim")], "finish": kinds[("conflict", "finish")]}
    conflicts["total"] = conflicts["claim"] + conflicts["finish"]
    return {
        "tokens": tokens,
        "workers": workers,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 2) if seconds > 0 else None,
        "processings": sum(processed.values()),
        "unique_processed": len(processed),
        "double_processed": sum(1 for n in processed.values() if n > 1),
        "extra_processings": sum(n - 1 for n in processed.values() if n > 1),
        "claims": claims,
        "claims_of_taken": sum(1 for e in events if e["event"] == "claim" and e.get("taken")),
        "conflicts": conflicts,
        "conflicts_per_claim": round(conflicts["claim"] / claims, 4) if claims else None,
        "gave_up": sum(1 for e in events if e["event"] == "gave_up"),
        "worker_exit_codes": dict(collections.Counter(codes)),
        "startup_seconds": round(go - started, 3),
    }


# -- inside the picas venv: setup and worker ------------------------------------------------------


def _picas_client(args: argparse.Namespace, recorder: Any = None) -> Any:
    from couchdb.http import ResourceConflict
    from picas.clients import CouchDB

    class CountingCouchDB(CouchDB):  # type: ignore[misc]
        """picas's client, recording claims and 409s (``phase`` is set by the actor)."""

        phase = "claim"
        taken = False

        def get(self, id: str) -> Any:
            doc = super().get(id)
            if self.phase == "claim":  # what _claim_task is about to lock
                self.taken = bool(doc["lock"]) or bool(doc["done"])
            return doc

        def save(self, doc: Any) -> Any:
            try:
                saved = super().save(doc)
            except ResourceConflict:
                recorder({"event": "conflict", "phase": self.phase, "id": doc["_id"]})
                raise
            if self.phase == "claim":
                recorder(
                    {"event": "claim", "phase": "claim", "id": doc["_id"], "taken": self.taken}
                )
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


# -- stand-alone run ----------------------------------------------------------------------------


@contextlib.contextmanager
def own_pouchdb_server() -> Iterator[Tuple[Any, Path]]:
    """pouchdb-server (``tests/support/pouchdb.py``) in memory on a free loopback port.

    Yields ``(server, folder)``: a ``tests.support.couchdb.CouchServer`` (``url``, ``user``,
    ``password``) and the server's working folder, whose ``log.txt`` is its request log
    (``[info] ... 127.0.0.1 - - PUT /db/doc 409``). The server is stopped and the folder
    removed afterwards. bench/launcher.py uses this too.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.support.pouchdb import ensure_pouchdb_installed, pouchdb_server

    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed: cannot start pouchdb-server (or give --url)")
    with tempfile.TemporaryDirectory(prefix="picas-baseline-couch-") as tmp:
        folder = Path(tmp) / "couch"
        with pouchdb_server(folder, node, ensure_pouchdb_installed()) as srv:
            yield srv, folder


def run_main(args: argparse.Namespace) -> int:
    if args.url:
        password = os.environ.get(args.password_env or "", "")
        figures = run_picas_baseline(
            args.url, args.db, args.user, password, args.tokens, args.workers
        )
    else:
        with own_pouchdb_server() as (srv, _folder):
            progress(f"pouchdb-server on {srv.url}")
            figures = run_picas_baseline(
                srv.url, args.db, srv.user, srv.password, args.tokens, args.workers
            )
    print(json.dumps(figures, indent=2))
    return 0


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    for name in ("setup", "worker", "run"):
        sub = verbs.add_parser(name)
        sub.add_argument("--url", required=name != "run", help="CouchDB URL, no credentials")
        sub.add_argument("--db", default=f"picas_baseline_{os.getpid()}")
        sub.add_argument("--user", default="admin")
        sub.add_argument("--password-env", required=name != "run", metavar="VAR")
        if name in ("setup", "run"):
            sub.add_argument("--tokens", type=int, default=2000)
        if name == "run":
            sub.add_argument("--workers", type=int, default=16)
        if name == "worker":
            sub.add_argument("--max-tasks", type=int, default=0, help="0: until none is left")
            sub.add_argument("--record", required=True, metavar="PATH", help="JSONL events")
            sub.add_argument("--ready", help="touch this file once connected")
            sub.add_argument("--gate", help="then wait for this file before claiming")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    verbs = {"setup": setup_main, "worker": worker_main, "run": run_main}
    return verbs[args.verb](args)


if __name__ == "__main__":
    sys.exit(main())
