#!/usr/bin/env python3
"""Staging benchmark: concurrent state checks and stager calls per request, in ONE run.

Not a test: it prints figures and ratios. Run from the repository root with the project's
Python (which must import ``gfal2``, with the mock plugin installed)::

    python bench/staging.py                       # 5,000 files, 16 workers
    python bench/staging.py --files 1000 --workers 8 --json

1. State check: ``check_states(urls, workers=W)`` vs ``check_states(urls, workers=1)`` on the
   same ``mock://`` URLs (ONLINE/NEARLINE alternating). mock's ``wait=`` cannot give a small
   latency (it is parsed with ``atoll``, so whole seconds only, and only ``stat`` honours it,
   not ``getxattr``), so the benchmark's context factory wraps each gfal2 context and sleeps
   ``--latency-ms`` (default 5 ms) before each real ``getxattr``: a stand-in for the round trip
   to a storage element. Both runs must return identical states.
2. Stager calls for one request of ``--files`` files: (a) ``LtaStager.submit`` against the
   loopback ``LtaSimulator`` (its ``calls["add_getid"]``), (b) ``GfalStager.submit`` on
   ``mock://...&staging_time=0`` URLs, counting ``bring_online`` calls through a wrapped
   context factory.

Only loopback is used. Progress goes to stderr; the summary (or the JSON) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.client.staging.base import FileState
from grid_lrt.client.staging.gfal import GfalStager, check_states, new_context
from grid_lrt.client.staging.lta import LtaStager

perf = time.perf_counter

DEFAULT_FILES = 5_000
DEFAULT_WORKERS = 16
DEFAULT_LATENCY_MS = 5.0
TARGET_CHECK_RATIO = 5.0

MOCK_URL = "mock://lta.example/pnfs/x/L1_SB{i:05d}.tar?user.status={state}"
SARA_SURL = (
    "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/x/1/L1_SB{i:05d}.tar"
)
LTA_USER = "bench-user"
LTA_PASSWORD = "bench-secret"  # a loopback simulator only


def progress(msg: str) -> None:
    print(f"[staging-bench] {msg}", file=sys.stderr, flush=True)


# -- context wrappers ---------------------------------------------------------------------------


class _SlowContext:
    """A gfal2 context whose ``getxattr`` first sleeps ``latency`` seconds (simulated RTT)."""

    def __init__(self, ctx: Any, latency: float) -> None:
        self._ctx = ctx
        self._latency = latency

    def getxattr(self, url: str, name: str) -> Any:
        time.sleep(self._latency)
        return self._ctx.getxattr(url, name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


class _CountingContext:
    """A gfal2 context that counts the stager calls made through it."""

    def __init__(self, ctx: Any, counts: Dict[str, int], lock: threading.Lock) -> None:
        self._ctx = ctx
        self._counts = counts
        self._lock = lock

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def bring_online(self, *args: Any) -> Any:
        self._count("bring_online")
        return self._ctx.bring_online(*args)

    def bring_online_poll(self, *args: Any) -> Any:
        self._count("bring_online_poll")
        return self._ctx.bring_online_poll(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def slow_factory(latency: float, made: List[int]) -> Callable[[], Any]:
    lock = threading.Lock()

    def factory() -> Any:
        with lock:
            made[0] += 1
        return _SlowContext(new_context(), latency)

    return factory


# -- phases -------------------------------------------------------------------------------------


def phase_check(files: int, workers: int, latency_ms: float) -> Dict[str, Any]:
    urls = [MOCK_URL.format(i=i, state="ONLINE" if i % 2 else "NEARLINE") for i in range(files)]
    latency = latency_ms / 1000.0
    made_conc, made_serial = [0], [0]

    progress(f"check_states: {files} mock:// URLs, {workers} workers, {latency_ms} ms per check")
    t0 = perf()
    concurrent = check_states(
        urls, workers=workers, context_factory=slow_factory(latency, made_conc)
    )
    t_conc = perf() - t0
    progress(f"  concurrent: {t_conc:.2f} s; now one by one (~{files * latency:.0f} s)")
    t0 = perf()
    serial = check_states(urls, workers=1, context_factory=slow_factory(latency, made_serial))
    t_serial = perf() - t0
    progress(f"  one by one: {t_serial:.2f} s")

    expected = [
        (u, FileState.ONLINE if i % 2 else FileState.NEARLINE, "") for i, u in enumerate(urls)
    ]
    identical = concurrent == serial
    states = [s for _, s, _ in concurrent]
    return {
        "check_files": files,
        "check_workers": workers,
        "check_latency_ms_per_file": latency_ms,
        "check_contexts_concurrent": made_conc[0],
        "check_concurrent_s": round(t_conc, 3),
        "check_one_by_one_s": round(t_serial, 3),
        "check_floor_one_by_one_s": round(files * latency, 3),
        "ratio_check_one_by_one_over_concurrent": round(t_serial / t_conc, 2),
        "check_states_identical": identical,
        "check_states_as_expected": concurrent == expected,
        "check_online": sum(s is FileState.ONLINE for s in states),
        "check_nearline": sum(s is FileState.NEARLINE for s in states),
        "check_errors": sum(s is FileState.ERROR for s in states),
    }


def phase_lta(files: int) -> Dict[str, Any]:
    surls = [SARA_SURL.format(i=i) for i in range(files)]
    progress(f"LTA: submitting {files} SARA SURLs to the loopback simulator")
    with LtaSimulator(user=LTA_USER, password=LTA_PASSWORD, delay=0.05) as sim:
        stager = LtaStager(url=sim.url, user=LTA_USER, password=LTA_PASSWORD)
        t0 = perf()
        request = stager.submit(surls)
        t_submit = perf() - t0
        calls = dict(sim.calls)  # snapshot before the check below (one getprogress call)
        received = int(stager.progress()[request.request_id]["File count"])
    return {
        "lta_files": files,
        "lta_submit_s": round(t_submit, 3),
        "lta_add_getid_calls": calls.get("add_getid", 0),
        "lta_total_calls": sum(calls.values()),
        "lta_surls_received": received,
        "lta_request_surls": len(request.surls),
    }


def phase_gfal(files: int) -> Dict[str, Any]:
    urls = [MOCK_URL.format(i=i, state="NEARLINE") + "&staging_time=0" for i in range(files)]
    counts: Dict[str, int] = {}
    lock = threading.Lock()
    progress(f"gfal2: GfalStager().submit of {files} mock:// URLs (staging_time=0)")
    stager = GfalStager(context_factory=lambda: _CountingContext(new_context(), counts, lock))
    t0 = perf()
    request = stager.submit(urls)
    t_submit = perf() - t0
    submit_calls = counts.get("bring_online", 0)
    status = stager.status(request)
    return {
        "gfal_files": files,
        "gfal_submit_s": round(t_submit, 3),
        "gfal_bring_online_calls": submit_calls,
        "gfal_refused_at_submit": len(request.errors),
        "gfal_status_after_one_poll": status.value if hasattr(status, "value") else str(status),
        "gfal_bring_online_poll_calls": counts.get("bring_online_poll", 0),
    }


# -- output -------------------------------------------------------------------------------------


def summary(res: Dict[str, Any]) -> str:
    ratio = res["ratio_check_one_by_one_over_concurrent"]
    ok_ratio = "OK" if ratio >= TARGET_CHECK_RATIO else "BELOW TARGET"
    lines = [
        "== grid-lrt staging benchmark (one run) ==",
        f"load average: start {res['loadavg_start']}, end {res['loadavg_end']}",
        "",
        f"1. user.status check of {res['check_files']} mock:// files (ONLINE/NEARLINE alternating)",
        f"   simulated latency: {res['check_latency_ms_per_file']} ms sleep before each getxattr "
        "(mock's wait= is whole seconds and stat-only, so a wrapped context adds it)",
        f"   concurrent (workers={res['check_workers']}): {res['check_concurrent_s']:.3f} s",
        f"   one by one (workers=1):  {res['check_one_by_one_s']:.3f} s "
        f"(latency floor {res['check_floor_one_by_one_s']:.1f} s)",
        f"   ratio one-by-one / concurrent: {ratio:.2f}x  (target >= {TARGET_CHECK_RATIO:.0f}x: "
        f"{ok_ratio})",
        f"   identical states: {res['check_states_identical']}; as expected: "
        f"{res['check_states_as_expected']} ({res['check_online']} ONLINE, "
        f"{res['check_nearline']} NEARLINE, {res['check_errors']} ERROR)",
        "",
        f"2. stager calls for one {res['lta_files']}-file request",
        f"   (a) LTA (LtaSimulator on loopback): add_getid calls = {res['lta_add_getid_calls']} "
        f"(expect 1; {res['lta_surls_received']} SURLs received, submit "
        f"{res['lta_submit_s']:.3f} s)",
        f"   (b) gfal2 (GfalStager, mock://, staging_time=0): bring_online calls = "
        f"{res['gfal_bring_online_calls']} (expect 1; {res['gfal_refused_at_submit']} refused, "
        f"submit {res['gfal_submit_s']:.3f} s; one status() = "
        f"{res['gfal_bring_online_poll_calls']} poll call, {res['gfal_status_after_one_poll']})",
    ]
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=DEFAULT_FILES, help="files per phase")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="concurrent checks")
    p.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULT_LATENCY_MS,
        help="simulated latency of each user.status check",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.files < 1 or args.workers < 1:
        raise SystemExit("--files and --workers must be >= 1")
    res: Dict[str, Any] = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    res.update(phase_check(args.files, args.workers, args.latency_ms))
    res.update(phase_lta(args.files))
    res.update(phase_gfal(args.files))
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(summary(res))
    ok = (
        res["check_states_identical"]
        and res["check_states_as_expected"]
        and res["lta_add_getid_calls"] == 1
        and res["gfal_bring_online_calls"] == 1
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
