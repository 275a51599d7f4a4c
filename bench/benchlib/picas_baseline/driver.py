"""The picas side's measured run: database, set-up in the picas venv, workers released together."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import quote

from benchlib.picas_baseline.couch import Couch, view
from benchlib.picas_baseline.protocol import PASSWORD_ENV, SCRIPT, START_TIMEOUT
from benchlib.picas_baseline.records import figures, read_records
from benchlib.picas_baseline.venv import DEFAULT_VENV, ensure_picas_venv


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
        setup = [str(python), str(SCRIPT), "setup", *common, "--tokens", str(tokens)]
        subprocess.run(setup, env=env, check=True)
        view(couch, db, "todo", "?limit=1")  # build the index before timing anything
        result = _drive(python, common, env, work, tokens, workers, on_release)
        overview = view(couch, db, "overview_total", "?group=true")
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
        cmd = [str(python), str(SCRIPT), "worker", *common, "--record", str(record)]
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
    return figures(read_records(records), codes, tokens, workers, started, go)
