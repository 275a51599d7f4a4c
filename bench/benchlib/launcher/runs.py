"""One measured run of each side, against a fresh database, with the server's request log and
the CPU counters read around it."""

from __future__ import annotations

import collections
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from benchlib.launcher import progress
from benchlib.launcher.figures import (
    claim_figures,
    claim_stats,
    error_lines,
    figures,
    markers,
)
from benchlib.launcher.workload import MASTER_SH, TYPE, launcher_env, make_tokens
from benchlib.machine import children_cpu_s, process_cpu_s
from benchlib.picas_baseline.driver import run_picas_baseline
from benchlib.pouchdb import server_pid
from benchlib.requestlog import RequestLog, per_token
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.pool import CouchTokenPool
from tests.support.launcher_kit import LAUNCHER, make_sandbox

RUN_TIMEOUT = 3600.0


def drive(srv: Any, db_name: str, work: Path, workers: int) -> Tuple[float, List[float], List[int]]:
    """Start the launchers together; return (spawn time, exit times, exit codes)."""
    procs = []
    started = time.time()
    for i in range(workers):
        folder = work / f"launcher-{i:02d}"
        folder.mkdir()
        with (folder / "stderr.log").open("wb") as err:
            procs.append(
                subprocess.Popen(
                    [*LAUNCHER, TYPE],  # INFO: the last line sums up the claims
                    env=launcher_env(srv, db_name, folder),
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            )
    ends: List[Optional[float]] = [None] * workers
    deadline = started + RUN_TIMEOUT
    while any(end is None for end in ends):
        for i, proc in enumerate(procs):
            if ends[i] is None and proc.poll() is not None:
                ends[i] = time.time()
        if time.time() > deadline:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
            raise RuntimeError(f"launchers still running after {RUN_TIMEOUT:.0f} s; see {work}")
        time.sleep(0.005)
    return started, [float(e) for e in ends if e is not None], [p.returncode for p in procs]


def run_ours(srv: Any, log: RequestLog, tokens: int, workers: int, work: Path) -> Dict[str, Any]:
    """Drain ``tokens`` no-op tokens with ``workers`` launcher processes; return the figures."""
    db_name = f"bench_launcher_{uuid.uuid4().hex[:10]}"
    db = CouchDB(srv.url, db_name, user=srv.user, password=srv.password)
    db.create()
    try:
        CouchTokenPool(db).ensure_views()
        make_tokens(db, make_sandbox(work / "noop.tar.gz", {"master.sh": MASTER_SH}), tokens)
        srv_pid = server_pid(srv.url)
        offset, cpu0, srv0 = log.mark(), children_cpu_s(), process_cpu_s(srv_pid)
        progress(f"ours: {workers} launchers draining {tokens} tokens of {TYPE} ...")
        started, ends, codes = drive(srv, db_name, work, workers)
        cpu1, srv1 = children_cpu_s(), process_cpu_s(srv_pid)
        requests = log.since(offset, db_name)
        rows = db.all_docs(include_docs="true")["rows"]
        docs = [r["doc"] for r in rows if r["doc"].get("type") == TYPE]
    finally:
        db.drop()
    observed = figures(docs, markers(work), requests, started, ends, codes, workers)
    return (
        observed
        | claim_figures(claim_stats(work), requests, len(docs), workers)
        | {
            "cpu_s_launchers_and_pipelines_per_token": round((cpu1 - cpu0) / tokens, 4),
            "cpu_s_server_per_token": round((srv1 - srv0) / tokens, 4),
            "launcher_error_lines": error_lines(work),
        }
    )


def run_picas(srv: Any, log: RequestLog, tokens: int, workers: int, work: Path) -> Dict[str, Any]:
    db_name = f"bench_picas_{uuid.uuid4().hex[:10]}"
    progress(f"picas 1.1.2: {workers} RunActor workers draining {tokens} tokens ...")
    offset, srv_pid = log.mark(), server_pid(srv.url)
    srv0, cpu0 = process_cpu_s(srv_pid), children_cpu_s()
    at_release: List[float] = []
    res: Dict[str, Any] = run_picas_baseline(
        srv.url,
        db_name,
        srv.user,
        srv.password,
        tokens,
        workers,
        work,
        on_release=lambda: at_release.append(process_cpu_s(srv_pid)),
    )
    srv1 = process_cpu_s(srv_pid)
    res["cpu_s_server_per_token"] = round((srv1 - at_release[0]) / tokens, 4)
    res["cpu_s_server_per_token_incl_setup"] = round((srv1 - srv0) / tokens, 4)
    res["cpu_s_workers_and_tasks_per_token_incl_setup"] = round(
        (children_cpu_s() - cpu0) / tokens, 4
    )
    requests = log.since(offset, db_name)
    work_requests = collections.Counter(
        {key: n for key, n in requests.items() if key[1] in ("doc", "view:todo")}
    )
    res["requests_per_token"] = per_token(work_requests, tokens)
    return res
