"""One chaos run, several in a row, and the command line (``python -m tests.chaos``).

A run: an on-disk pouchdb-server, a pool of ``chaos`` tokens (a sandbox whose master.sh sleeps
the token's ``SLEEP``, writes ``Output/<id>.result`` and appends start/end lines with
``$LRT_ATTEMPT`` to its launcher's marker file), file:// results, the fleet of launchers
(short leases, builtin storage, one through the fault proxy in chaos mode), the fault driver,
then the checks once every launcher has exited. Everything waits with a bound; a run that
times out still reports what it found, with the reason among its failures.

Loopback only: the server, the proxy and the results are on this machine.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from grid_lrt.shared.couch import CouchDB
from tests.chaos.checks import Figures, judge
from tests.chaos.faults import FaultDriver, FaultLog, HarnessTimeout, Progress
from tests.chaos.plan import FULL, REDUCED, Plan, Size, make_plan
from tests.chaos.processes import Fleet, Server
from tests.chaos.report import details, run_line, summary
from tests.support.faultproxy import FaultProxy
from tests.support.launcher_kit import make_sandbox, token_doc
from tests.support.pools import pool_of

__all__ = ["main", "run_many", "run_once"]

TYPE = "chaos"
DB_NAME = "chaos"

MASTER_SH = """#!/bin/bash
echo "start $TOKEN $LRT_ATTEMPT $EPOCHREALTIME" >> "$MARKER"
sleep "$SLEEP"
{ echo "result of $TOKEN"; printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1; } \\
    > "Output/$TOKEN.result"
echo "end $TOKEN $LRT_ATTEMPT $EPOCHREALTIME" >> "$MARKER"
"""
TOKVAR_CFG = "_id: $TOKEN\nSLEEP: $SLEEP\n"

Say = Callable[[str], None]


def _settings(size: Size) -> Dict[str, str]:
    """The launchers' environment beyond the kit's (credentials, LRT_WORKDIR, MARKER)."""
    return {
        "LRT_LEASE": f"{size.lease:g}",
        "LRT_HEARTBEAT": f"{size.heartbeat:g}",
        "LRT_OUTAGE": f"{size.outage:g}",
        "LRT_LINGER": f"{size.linger:g}",
        "LRT_GRACE": "2",
        "LRT_STORAGE": "builtin",  # no gfal2 needed
        "LC_ALL": "C",  # $EPOCHREALTIME with a decimal point
    }


def _pool(server: Server, plan: Plan, root: Path, results: Path) -> CouchDB:
    db = CouchDB(server.url, DB_NAME, user="admin", password=server.password)
    db.create()
    pool_of(db)
    sandbox = make_sandbox(root / "sandbox.tar.gz", {"master.sh": MASTER_SH,
                                                     "tokvar.cfg": TOKVAR_CFG})  # fmt: skip
    fields: Dict[str, Any] = {"SBXloc": sandbox.as_uri(), "fetch_inputs": False,
                              "RESULTS_DIR": results.as_uri() + "/"}  # fmt: skip
    docs = [
        token_doc(TYPE, tid, SLEEP=f"{sleep:.2f}", **fields)
        for tid, sleep in zip(plan.token_ids, plan.sleeps)
    ]
    answers = db.bulk_docs(docs)
    if not all(answer.get("ok") for answer in answers):
        raise AssertionError(f"could not create the tokens: {answers[:3]}")
    return db


def _drain(fleet: Fleet, progress: Progress, size: Size, failures: List[str]) -> None:
    """Wait until every launcher has exited: bounded by the progress rules while tokens are
    left, by ``exit_wait`` once every token was logged done."""
    all_done_at: Optional[float] = None
    while fleet.live():
        done = progress.count()
        if done >= size.tokens:
            all_done_at = all_done_at or time.monotonic()
            if time.monotonic() - all_done_at > size.exit_wait:
                names = ", ".join(launcher.name for launcher in fleet.live())
                failures.append(f"launchers still running {size.exit_wait:.0f} s after the "
                                f"last token was logged done: {names}")  # fmt: skip
                return
        else:
            progress.check(f"every token done ({done} of {size.tokens})")
        time.sleep(0.2)


def run_once(size: Size, seed: int, root: Path, say: Say) -> Figures:
    """One run in ``root`` (a new folder); the figures and failures, never an exception
    for a failed check or a timeout."""
    plan = make_plan(size, seed)
    root.mkdir(parents=True)
    results = root / "results"
    results.mkdir()
    server = Server(root / "couch", secrets.token_urlsafe(12), random.Random(plan.proxy_seed))
    server.start()
    proxy = FaultProxy(server.url).start()
    fleet: Optional[Fleet] = None
    faults: FaultLog = FaultLog()
    failures: List[str] = []
    started = time.time()
    try:
        db = _pool(server, plan, root, results)
        proxy.chaos(drop=size.proxy_drop, delay=size.proxy_delay, seed=plan.proxy_seed)
        fleet = Fleet(root / "launchers", server.couch, DB_NAME, TYPE, _settings(size),
                      proxy.url)  # fmt: skip
        started = time.time()
        for n in range(size.launchers):
            fleet.add(proxied=n < size.proxied)
        progress = Progress(fleet, size.tokens, size.stall, size.deadline)
        driver = FaultDriver(plan, fleet, server, db, progress, say)
        faults = driver.log
        try:
            driver.run()
            _drain(fleet, progress, size, failures)
        except HarnessTimeout as exc:
            failures.append(f"harness timeout: {exc}")
        ended = time.time()
        for launcher in fleet.live():
            say(f"  {launcher.name} still running; its last lines:\n{launcher.tail()}")
        fleet.stop_all()
        fleet.refresh()
        if not server.running:
            server.start()
        rows = db.all_docs(include_docs=True)["rows"]
        docs = {row["id"]: row["doc"] for row in rows if not row["id"].startswith("_design/")}
        fig = judge(plan, fleet, faults, docs, results, started, ended)
    finally:
        if fleet is not None:
            fleet.stop_all()
        proxy.stop()
        server.stop()
    fig.failures[:0] = failures
    fig.proxy = {"requests": sum(proxy.seen.values()), "dropped": proxy.dropped,
                 "dropped_after": proxy.dropped_after, "delayed": proxy.delayed,
                 "upstream_errors": proxy.upstream_errors}  # fmt: skip
    return fig


def run_many(
    size: Size, seeds: Sequence[int], workdir: Path, say: Say, *, keep: bool = False
) -> List[Figures]:
    """Runs in a row, one per seed; a run's folder is kept when it failed (or with ``keep``)."""
    figs: List[Figures] = []
    for index, seed in enumerate(seeds, 1):
        replay = f"nox -s chaos -- {'--full ' if size is FULL else ''}--seed {seed}"
        say(
            f"chaos run {index}/{len(seeds)}: {size.name} size ({size.launchers} launchers, "
            f"{size.tokens} tokens, {size.kills} kills, {size.zombies} zombie, restart "
            f"{size.restart:g} s, {size.proxied} proxied), seed {seed} (replay: {replay})"
        )
        root = workdir / f"run{index}-seed{seed}"
        fig = run_once(size, seed, root, say)
        figs.append(fig)
        for line in details(fig):
            say("  " + line)
        say(run_line(index, fig))
        if fig.failures or keep:
            say(f"  work folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if len(figs) > 1:
        for line in summary(figs):
            say(line)
    return figs


def default_seed() -> int:
    """``$LRT_CHAOS_SEED``, else a new one (printed with every run, so it can be replayed)."""
    value = os.environ.get("LRT_CHAOS_SEED", "").strip()
    return int(value) if value else random.SystemRandom().randrange(1, 10**9)


def add_options(add: Callable[..., Any]) -> None:
    """The options of the command line and of the pytest entry (``parser.addoption``)."""
    add("--full", action="store_true", help="the full size (16 launchers, 1,000 tokens)")
    add("--runs", type=int, default=1, help="runs in a row, seeds seed, seed+1, ...")
    add("--seed", type=int, default=None, help="the first run's seed (default: random)")
    add("--keep", action="store_true", help="keep every run's work folder")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    add_options(parser.add_argument)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else default_seed()
    workdir = Path(tempfile.mkdtemp(prefix="lrt-chaos-"))
    figs = run_many(FULL if args.full else REDUCED, [seed + n for n in range(args.runs)],
                    workdir, lambda line: print(line, flush=True), keep=args.keep)  # fmt: skip
    if not any(workdir.iterdir()):
        workdir.rmdir()
    return 1 if any(fig.failures for fig in figs) else 0


if __name__ == "__main__":
    sys.exit(main())
