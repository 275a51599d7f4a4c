#!/usr/bin/env python3
"""Launcher benchmark (issue #4): W launcher processes drain N no-op tokens; picas 1.1.2 likewise.

Not a test: it prints figures, all measured in ONE run against ONE pouchdb-server (in memory,
loopback), so the ratio holds even when the absolute numbers move with the machine::

    python bench/launcher.py                         # 2,000 tokens x 16 launchers, then picas
    python bench/launcher.py --tokens 200 --workers 4 --skip-picas --json

Ours: a fresh database, ``--tokens`` tokens made with ``new_token`` + ``bulk_docs``, each with a
local sandbox (``SBXloc`` = file:// of a tar.gz whose master.sh appends ``$TOKEN
$EPOCHREALTIME`` to its launcher's marker file and touches ``Output/x``), ``fetch_inputs:
false`` and no ``RESULTS_DIR`` (so nothing is uploaded). ``--workers`` processes of
``python -m grid_lrt.launcher run TYPE -q`` are started together, each with its own
``LRT_WORKDIR``. Then the same with picas (``picas_baseline.run_picas_baseline``), fresh database.

Figures come from what is observable from outside the launcher: the tokens (``attempt``,
``times``, ``status``, ``output``), the marker files (one line per pipeline start) and the
server's request log (``log.txt`` of pouchdb-server: method, path, status of every request),
which gives the claim conflicts and the requests per token. See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Counter, Dict, List, Optional, Tuple
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)  # tests.* (the project itself is installed) and picas_baseline

from picas_baseline import own_pouchdb_server, run_picas_baseline  # noqa: E402

from grid_lrt.shared.couch import CouchDB  # noqa: E402
from grid_lrt.shared.pool import CouchTokenPool  # noqa: E402
from grid_lrt.shared.schema import TokenState, new_token  # noqa: E402
from tests.support.launcher_kit import LAUNCHER, make_sandbox  # noqa: E402

TYPE = "bench_noop"
#: The no-op pipeline, one process like picas's ``/bin/true``: one marker line per start
#: (bash's EPOCHREALTIME and builtins only), one file in Output/ (an empty Output/ is code 30),
#: nothing on stdout or stderr (so no log is attached: picas attaches none either).
MASTER_SH = '#!/bin/bash\necho "$TOKEN $EPOCHREALTIME" >> "$MARKER"\n: > Output/x\n'
TARGET_OVERHEAD_S = 1.0
TARGET_RATIO = 1.0
RUN_TIMEOUT = 3600.0
_LOG_LINE = re.compile(r"\] (\S+) - - ([A-Z]+) (\S+) (\d{3})\s*$")
#: The launcher's last INFO line (loop.py).
_SUMMARY = re.compile(
    r"(\d+) claim\(s\), (\d+) claim round\(s\) lost to other launchers "
    r"\((\d+) stale view row\(s\), (\d+) conflict\(s\) on the lock\)"
)


def progress(msg: str) -> None:
    print(f"[bench-launcher] {msg}", file=sys.stderr, flush=True)


# -- what the server saw ------------------------------------------------------------------------


class RequestLog:
    """pouchdb-server's ``log.txt``: one ``[info] ... - - METHOD PATH STATUS`` line per request."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        time.sleep(0.5)  # the server appends asynchronously
        return self.path.stat().st_size

    def since(self, offset: int, db: str) -> Counter[Tuple[str, str, int]]:
        """(method, kind, status) counts of requests to ``db`` logged after ``offset``."""
        time.sleep(1.0)
        counts: Counter[Tuple[str, str, int]] = collections.Counter()
        with self.path.open("rb") as fh:
            fh.seek(offset)
            for raw in fh:
                match = _LOG_LINE.search(raw.decode("utf-8", "replace"))
                if match is None:
                    continue
                _, method, path, status = match.groups()
                parts = unquote(path.split("?", 1)[0]).strip("/").split("/")
                if parts[0] == db:
                    counts[(method, _kind(parts[1:]), int(status))] += 1
        return counts


def _kind(rest: List[str]) -> str:
    if not rest or not rest[0]:
        return "db"
    if rest[0] == "_design" and len(rest) >= 4 and rest[2] == "_view":
        return f"view:{rest[3]}"
    if rest[0].startswith("_"):
        return "/".join(rest[:2])
    return "doc" if len(rest) == 1 else "attachment"


def _per_token(counts: Counter[Tuple[str, str, int]], tokens: int) -> Dict[str, float]:
    merged: Counter[str] = collections.Counter()
    for (method, kind, _status), n in counts.items():
        merged[f"{method} {kind}"] += n
    out = {key: round(n / tokens, 2) for key, n in sorted(merged.items())}
    out["total"] = round(sum(merged.values()) / tokens, 2)
    return out


def _server_pid(url: str) -> Optional[int]:
    """The pid of the pouchdb-server listening on ``url``'s port (from /proc; None if unknown)."""
    port = url.rsplit(":", 1)[-1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"pouchdb-server" in a for a in argv) and port.encode() in argv:
            return int(entry.name)
    return None


def _cpu_seconds(pid: Optional[int]) -> float:
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- ours ---------------------------------------------------------------------------------------


def _make_tokens(db: CouchDB, sandbox: Path, tokens: int) -> None:
    fields = {"SBXloc": sandbox.as_uri(), "fetch_inputs": False}
    docs = [new_token(TYPE, f"{TYPE}_{i:05d}", fields) for i in range(tokens)]
    results = db.bulk_docs(docs)
    if not all(row.get("ok") for row in results):
        raise RuntimeError(f"only {sum(1 for r in results if r.get('ok'))} of {tokens} tokens made")
    todo = CouchTokenPool(db).ids(TYPE, TokenState.TODO, limit=tokens + 1)
    if len(todo) != tokens:  # also builds the view index
        raise RuntimeError("the todo view does not list every token")


def _launcher_env(srv: Any, db_name: str, folder: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PICAS_", "LRT_"))}
    env.update(
        PICAS_URL=srv.url,
        PICAS_DB=db_name,
        PICAS_USR=srv.user,
        PICAS_USR_PWD=srv.password,
        PICASRC=str(folder / "no-picasrc"),
        LRT_WORKDIR=str(folder / "jobs"),
        MARKER=str(folder / "marker.txt"),
    )
    return env


def _drive(
    srv: Any, db_name: str, work: Path, workers: int
) -> Tuple[float, List[float], List[int]]:
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
                    env=_launcher_env(srv, db_name, folder),
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


def _markers(work: Path) -> Dict[str, List[float]]:
    starts: Dict[str, List[float]] = collections.defaultdict(list)
    for path in sorted(work.glob("launcher-*/marker.txt")):
        for line in path.read_text().splitlines():
            token, _, when = line.partition(" ")
            starts[token].append(float(when))
    return starts


def _pct(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _median_gap(docs: List[Dict[str, Any]], start: str, end: str) -> Optional[float]:
    gaps = [d["times"][end] - d["times"][start] for d in docs if {start, end} <= set(d["times"])]
    return round(statistics.median(gaps), 4) if gaps else None


def run_ours(srv: Any, log: RequestLog, tokens: int, workers: int, work: Path) -> Dict[str, Any]:
    """Drain ``tokens`` no-op tokens with ``workers`` launcher processes; return the figures."""
    db_name = f"bench_launcher_{uuid.uuid4().hex[:10]}"
    db = CouchDB(srv.url, db_name, user=srv.user, password=srv.password)
    db.create()
    try:
        CouchTokenPool(db).ensure_views()
        _make_tokens(db, make_sandbox(work / "noop.tar.gz", {"master.sh": MASTER_SH}), tokens)
        server_pid = _server_pid(srv.url)
        offset, cpu0, srv0 = log.mark(), _children_cpu(), _cpu_seconds(server_pid)
        progress(f"ours: {workers} launchers draining {tokens} tokens of {TYPE} ...")
        started, ends, codes = _drive(srv, db_name, work, workers)
        cpu1, srv1 = _children_cpu(), _cpu_seconds(server_pid)
        requests = log.since(offset, db_name)
        rows = db.all_docs(include_docs="true")["rows"]
        docs = [r["doc"] for r in rows if r["doc"].get("type") == TYPE]
    finally:
        db.drop()
    figures = _figures(docs, _markers(work), requests, started, ends, codes, workers)
    return (
        figures
        | _claim_figures(_claim_stats(work), requests, len(docs), workers)
        | {
            "cpu_s_launchers_and_pipelines_per_token": round((cpu1 - cpu0) / tokens, 4),
            "cpu_s_server_per_token": round((srv1 - srv0) / tokens, 4),
            "launcher_error_lines": _error_lines(work),
        }
    )


def _error_lines(work: Path) -> int:
    """ERROR lines and tracebacks in the launchers' stderr."""
    found = 0
    for path in sorted(work.glob("launcher-*/stderr.log")):
        for line in path.read_text(errors="replace").splitlines():
            if (
                " ERROR " in line
                or " CRITICAL " in line
                or line.startswith(("Traceback", "lrt-launcher: error"))
            ):
                found += 1
                if found <= 3:
                    progress(f"{path.parent.name}: {line}")
    return found


def _claim_stats(work: Path) -> Dict[str, int]:
    """Claims and lost claim rounds, summed over the launchers' last log lines."""
    totals = {"claims": 0, "lost": 0, "stale": 0, "lock_conflicts": 0, "launchers": 0}
    for path in sorted(work.glob("launcher-*/stderr.log")):
        match = _SUMMARY.search(path.read_text(errors="replace"))
        if match is None:
            continue
        totals["launchers"] += 1
        for key, value in zip(("claims", "lost", "stale", "lock_conflicts"), match.groups()):
            totals[key] += int(value)
    return totals


def _figures(
    docs: List[Dict[str, Any]],
    starts: Dict[str, List[float]],
    requests: Counter[Tuple[str, str, int]],
    started: float,
    ends: List[float],
    codes: List[int],
    workers: int,
) -> Dict[str, Any]:
    n = len(docs)
    locked = [d["times"]["locked"] for d in docs if "locked" in d.get("times", {})]
    first_lock, last_exit = min(locked), max(ends)
    overhead = [starts[d["_id"]][0] - d["times"]["locked"] for d in docs if starts.get(d["_id"])]
    return {
        "tokens": n,
        "workers": workers,
        "wall_s": round(last_exit - started, 3),
        "startup_s": round(first_lock - started, 3),
        "drain_s": round(last_exit - first_lock, 3),
        "tokens_per_s": round(n / (last_exit - first_lock), 2),
        "tokens_per_s_wall": round(n / (last_exit - started), 2),
        "double_locked": sum(1 for d in docs if int(d.get("attempt") or 0) > 1),
        "double_processed": sum(1 for d in docs if len(starts.get(d["_id"], [])) > 1),
        "never_processed": sum(1 for d in docs if not starts.get(d["_id"])),
        "not_done_0": sum(1 for d in docs if d.get("status") != "done" or d.get("output") != 0),
        "overhead_s_median": round(statistics.median(overhead), 4),
        "overhead_s_p95": round(_pct(overhead, 0.95), 4),
        "overhead_s_max": round(max(overhead), 4),
        "phase_s_median": {
            "locked→running": _median_gap(docs, "locked", "running"),
            "running→done": _median_gap(docs, "running", "done"),
            "locked→done": _median_gap(docs, "locked", "done"),
        },
        "requests_per_token": _per_token(requests, n),
        "requests": {f"{m} {k} {s}": v for (m, k, s), v in sorted(requests.items())},
        "exit_codes": dict(collections.Counter(codes)),
    }


def _claim_figures(
    stats: Dict[str, int], requests: Counter[Tuple[str, str, int]], n: int, workers: int
) -> Dict[str, Any]:
    """Lost claim rounds as the launchers counted them, checked against the server's log."""
    logged_409 = sum(v for (m, k, s), v in requests.items() if (m, k, s) == ("PUT", "doc", 409))
    return {
        "claims": stats["claims"],
        "claim_rounds_lost": stats["lost"],
        "claim_stale_rows": stats["stale"],
        "claim_409s": stats["lock_conflicts"],
        "claim_409s_in_server_log": logged_409,
        "conflicts_per_claim": round(stats["lost"] / n, 4) if n else None,
        "launchers_reporting": f"{stats['launchers']}/{workers}",
    }


# -- picas --------------------------------------------------------------------------------------


def run_picas(srv: Any, log: RequestLog, tokens: int, workers: int, work: Path) -> Dict[str, Any]:
    db_name = f"bench_picas_{uuid.uuid4().hex[:10]}"
    progress(f"picas 1.1.2: {workers} RunActor workers draining {tokens} tokens ...")
    offset, srv_pid = log.mark(), _server_pid(srv.url)
    srv0, cpu0 = _cpu_seconds(srv_pid), _children_cpu()
    at_release: List[float] = []
    res: Dict[str, Any] = run_picas_baseline(
        srv.url,
        db_name,
        srv.user,
        srv.password,
        tokens,
        workers,
        work,
        on_release=lambda: at_release.append(_cpu_seconds(srv_pid)),
    )
    srv1 = _cpu_seconds(srv_pid)
    res["cpu_s_server_per_token"] = round((srv1 - at_release[0]) / tokens, 4)
    res["cpu_s_server_per_token_incl_setup"] = round((srv1 - srv0) / tokens, 4)
    res["cpu_s_workers_and_tasks_per_token_incl_setup"] = round(
        (_children_cpu() - cpu0) / tokens, 4
    )
    requests = log.since(offset, db_name)
    work_requests = collections.Counter(
        {key: n for key, n in requests.items() if key[1] in ("doc", "view:todo")}
    )
    res["requests_per_token"] = _per_token(work_requests, tokens)
    return res


# -- main ---------------------------------------------------------------------------------------


def _median_round(rounds: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The round whose ratio (or, without picas, whose tokens/s) is the median."""
    key = "ratio_tokens_per_s" if "picas" in rounds[0] else None

    def value(r: Dict[str, Any]) -> float:
        return float(r[key]) if key else float(r["ours"]["tokens_per_s"])

    ordered = sorted(rounds, key=value)
    return ordered[(len(ordered) - 1) // 2]


def summary(res: Dict[str, Any]) -> str:
    rounds = res["rounds"]
    mid = _median_round(rounds)
    ours, picas = mid["ours"], mid.get("picas") or {}
    ph = ours["phase_s_median"]
    ok = "OK" if ours["overhead_s_p95"] < TARGET_OVERHEAD_S else "ABOVE TARGET"
    lines = [
        "== grid-lrt launcher benchmark (one run, one pouchdb-server) ==",
        f"load average: start {res['loadavg_start']}, end {res['loadavg_end']}; cpus {res['cpus']}",
        "",
        "per round (each side a fresh database; the order alternates):",
    ]
    for i, r in enumerate(rounds, 1):
        line = (
            f"  round {i} ({' then '.join(r['order'])}): ours {r['ours']['tokens_per_s']} tokens/s"
        )
        if "picas" in r:
            line += (
                f", picas {r['picas']['tokens_per_s']} tokens/s, ratio {r['ratio_tokens_per_s']}x"
            )
        lines.append(line)
    lines += [
        "",
        f"the median round ({rounds.index(mid) + 1}) in detail; double-locks, double runs and "
        "failures are summed over all rounds:",
        f"{'':34}{'grid-lrt launcher':>20}{'picas 1.1.2':>16}",
    ]

    def row(label: str, a: Any, b: Any = "") -> None:
        lines.append(f"{label:34}{a!s:>20}{b!s:>16}")

    def total(side: str, key: str) -> Any:
        return sum(r[side][key] for r in rounds) if side in rounds[0] else ""

    p = picas.get
    row(
        "tokens x workers",
        f"{ours['tokens']} x {ours['workers']}",
        f"{p('tokens')} x {p('workers')}" if picas else "skipped",
    )
    row("drain seconds", ours["drain_s"], p("seconds", ""))
    row("tokens/s", ours["tokens_per_s"], p("tokens_per_s", ""))
    row("start-up s (not in drain)", ours["startup_s"], p("startup_seconds", ""))
    row("tokens/s incl. start-up", ours["tokens_per_s_wall"])
    row(
        "double-locks (must be 0)",
        total("ours", "double_locked"),
        total("picas", "claims_of_taken"),
    )
    row(
        "tokens processed more than once",
        total("ours", "double_processed"),
        total("picas", "double_processed"),
    )
    row(
        "never processed / not done+0",
        f"{total('ours', 'never_processed')} / {total('ours', 'not_done_0')}",
        f"{sum(r['picas']['tokens'] - r['picas']['unique_processed'] for r in rounds)} / "
        f"{sum(r['picas']['tokens'] - r['picas']['final_states'].get('done', 0) for r in rounds)}"
        if picas
        else "",
    )
    row("lost claim rounds per claim", ours["conflicts_per_claim"], p("conflicts_per_claim", ""))
    row("  409s on the lock PUT", ours["claim_409s"], p("conflicts", {}).get("claim", ""))
    row("  stale view rows (doc not todo)", ours["claim_stale_rows"], "not checked")
    row(
        "requests per token",
        ours["requests_per_token"]["total"],
        p("requests_per_token", {}).get("total", ""),
    )
    row("server CPU s per token", ours["cpu_s_server_per_token"], p("cpu_s_server_per_token", ""))
    row("  picas incl. its set-up", "", p("cpu_s_server_per_token_incl_setup", ""))
    row(
        "client CPU s per token",
        ours["cpu_s_launchers_and_pipelines_per_token"],
        p("cpu_s_workers_and_tasks_per_token_incl_setup", ""),
    )
    row("exit codes", json.dumps(ours["exit_codes"]), json.dumps(p("worker_exit_codes", "")))
    row("launcher ERROR lines", total("ours", "launcher_error_lines"))
    lines += [
        "",
        f"overhead claim → pipeline start: median {ours['overhead_s_median']} s, "
        f"p95 {ours['overhead_s_p95']} s, max {ours['overhead_s_max']} s "
        f"(target < {TARGET_OVERHEAD_S:g} s: {ok})",
        "median per step: " + ", ".join(f"{k} {v}" for k, v in ph.items()),
        "requests per token (ours): " + json.dumps(ours["requests_per_token"]),
    ]
    if picas:
        ratio = res["ratio_tokens_per_s_median"]
        lines.append("requests per token (picas): " + json.dumps(picas["requests_per_token"]))
        lines.append(
            f"ratio tokens/s ours / picas, median of {len(rounds)} round(s): {ratio}x "
            f"(range {res['ratio_tokens_per_s_min']}-{res['ratio_tokens_per_s_max']}; "
            f"target >= {TARGET_RATIO:g}x: {'OK' if ratio >= TARGET_RATIO else 'BELOW'})"
        )
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", type=int, default=2000, help="tokens to drain (2000)")
    p.add_argument("--workers", type=int, default=16, help="launcher / picas processes (16)")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of ours and picas, the order alternating; medians are reported (3)",
    )
    p.add_argument("--skip-picas", action="store_true", help="only our launcher")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, markers)")
    args = p.parse_args(argv)
    if args.tokens < 1 or args.workers < 1 or args.rounds < 1:
        p.error("--tokens, --workers and --rounds must be >= 1")
    return args


def _round(srv: Any, log: RequestLog, args: argparse.Namespace, work: Path, i: int) -> Dict:
    order = (
        ["ours"] if args.skip_picas else (["ours", "picas"] if i % 2 == 0 else ["picas", "ours"])
    )
    result: Dict[str, Any] = {"order": order}
    for side in order:
        folder = work / f"round{i + 1}-{side}"
        folder.mkdir()
        runner = run_ours if side == "ours" else run_picas
        progress(f"round {i + 1}/{args.rounds}: {side}")
        result[side] = runner(srv, log, args.tokens, args.workers, folder)
    if "picas" in result:
        result["ratio_tokens_per_s"] = round(
            result["ours"]["tokens_per_s"] / result["picas"]["tokens_per_s"], 2
        )
    return result


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-launcher-"))
    res: Dict[str, Any] = {"cpus": os.cpu_count(), "loadavg_start": round(os.getloadavg()[0], 2)}
    with own_pouchdb_server() as (srv, folder):
        progress(f"pouchdb-server on {srv.url}; work folder {work}")
        log = RequestLog(folder / "log.txt")
        res["rounds"] = [_round(srv, log, args, work, i) for i in range(args.rounds)]
    if not args.skip_picas:
        ratios = [r["ratio_tokens_per_s"] for r in res["rounds"]]
        res["ratio_tokens_per_s_median"] = round(statistics.median(ratios), 2)
        res["ratio_tokens_per_s_min"], res["ratio_tokens_per_s_max"] = min(ratios), max(ratios)
        for side in ("ours", "picas"):
            res[f"tokens_per_s_median_{side}"] = round(
                statistics.median(r[side]["tokens_per_s"] for r in res["rounds"]), 2
            )
    res["loadavg_end"] = round(os.getloadavg()[0], 2)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(res, indent=2, ensure_ascii=False) if args.json else summary(res))
    bad = 0
    for r in res["rounds"]:
        ours = r["ours"]
        bad += ours["double_locked"] + ours["double_processed"] + ours["not_done_0"]
        bad += ours["never_processed"] + ours["launcher_error_lines"]
        bad += int(set(ours["exit_codes"]) != {0})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
