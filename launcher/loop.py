"""The launcher's main loop: claim a token, run it, repeat until no work or a stop criterion.

Exit status (``lrt-launcher run``): 0 after draining the pool, whatever the tokens' outcomes
(they are recorded in the tokens); ``128 + N`` after signal N (the token in hand went back to
todo); 1 when the launcher cannot work at all (no credentials, server unreachable).
"""

from __future__ import annotations

import collections
import logging
import os
import socket
import time
from typing import Callable, Counter, Dict, Mapping, Optional, Set

from grid_lrt.shared.couch import CouchDB, CouchError
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.lease import Worker
from grid_lrt.shared.pool import CouchTokenPool, Patience
from grid_lrt.shared.schema import TokenState

from .claim import ACTIVE, Claimer
from .config import LauncherConfig
from .confirm import confirm_claim, settle_time
from .jobid import detect_batch_job
from .runner import RunOutcome, TokenRun
from .sandbox_cache import SandboxCache
from .server import probe
from .session import TokenLostError, TokenSession
from .signals import Interrupted, StopSignals
from .storage import Storage, describe_backend, storage_for

__all__ = ["Launcher"]

log = logging.getLogger(__name__)

#: At start-up, how long to wait for a server that does not answer before giving up (a wrong
#: PICAS_URL should end the job with a message soon, a restarting server should not).
START_PATIENCE = 60.0
#: Lingering launchers look again this long after the soonest lease runs out (clock skew).
LINGER_MARGIN = 1.0
#: Seconds of one wait on the ``_changes`` feed while idle (the request's read timeout is
#: longer; a new todo token ends it at once).
LONGPOLL = 60.0
#: A lease not renewed for this many of our heartbeats has lost its launcher (probably).
STALE_HEARTBEATS = 3
#: The longest settle time a launcher learns (see ``Launcher._learn_settle``).
MAX_SETTLE = 30.0


class Launcher:
    """Claims and runs tokens of ``config.token_type`` until none is left."""

    def __init__(
        self,
        config: LauncherConfig,
        *,
        pool: Optional[CouchTokenPool] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.pool = pool or CouchTokenPool(
            # One HTTP-level retry only: the pool's patience (the outage window) does the rest,
            # with pauses that a short lease can live with.
            CouchDB(
                config.url, config.database, user=config.user, password=config.password,
                retries=1, backoff=0.2,
            ),
            patience=config.outage,
            partition=config.db_partition or None,
        )  # fmt: skip
        self.db = self.pool.db
        self.pool.candidates.extra = max(0, config.readahead)
        system, job_id = detect_batch_job()
        self.worker = Worker(socket.gethostname(), system, job_id)
        self.clock = clock
        self.outcomes: Counter[str] = collections.Counter()
        self._empty_since: Optional[float] = None
        #: Lingering: the last heartbeat seen per leased token, and those seen renewed.
        self._heartbeats: Dict[str, float] = {}
        self._alive: Set[str] = set()
        self.sandboxes = SandboxCache(config.workdir / ".lrt-sandboxes")
        prefer = None if config.storage == "auto" else config.storage
        self._storage_for: Callable[[str], Storage] = lambda url: storage_for(url, prefer=prefer)
        #: seconds between a claim and its confirmation, None: not confirmed (one copy)
        self.settle: Optional[float] = None
        self.claimer = Claimer(
            self.pool,
            config.token_type,
            worker=self.worker,
            lease=config.lease,
            window=config.window,
            max_scrub=config.max_scrub,
            reap_every=config.heartbeat,
        )

    def _should_stop(self, started: float, signals: StopSignals) -> Optional[str]:
        if signals.signum is not None:
            return "stopped by a signal"
        if self.config.max_tasks and sum(self.outcomes.values()) >= self.config.max_tasks:
            return f"--max-tasks {self.config.max_tasks} reached"
        if self.config.max_time and self.clock() - started >= self.config.max_time:
            return f"--max-time {self.config.max_time:g} s reached"
        return None

    def run(self) -> int:
        """Process tokens; return the exit status."""
        # Fail early, with a message, when the server cannot be reached (a restart is waited for).
        info = Patience(min(START_PATIENCE, self.config.outage))(lambda: probe(self.db))
        self.settle = settle_time(self.config.claim_settle, info)
        if self.settle is not None:
            log.info("claims are confirmed %g s after they land (the database has several "
                     "writable copies)", self.settle)  # fmt: skip
        self.pool.ensure_views()
        log.info(
            "launcher for %s tokens on %s/%s as %s; transfers: %s",
            self.config.token_type,
            self.db.server_url,
            self.db.name,
            self.worker.hostname,
            describe_backend(),
        )
        try:
            self.config.workdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LrtError(
                f"cannot use the working directory {self.config.workdir}: {exc.strerror or exc}",
                hint="point LRT_WORKDIR (or --workdir) at a writable folder",
            ) from None
        started = self.clock()
        self.sandboxes = SandboxCache(self.config.workdir / f".lrt-sandboxes-{os.getpid()}")
        with StopSignals() as signals:
            try:
                reason = self._loop(started, signals)
            except Interrupted as stop:
                signals.signum = stop.signum
                reason = "stopped by a signal"
            finally:
                self.sandboxes.clear()
        log.info(
            "%s; processed %d token(s): %s; %d claim(s), %d claim round(s) lost to other "
            "launchers (%d stale view row(s), %d conflict(s) on the lock)",
            reason,
            sum(self.outcomes.values()),
            ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())) or "none",
            self.claimer.claims,
            self.claimer.conflicts,
            self.claimer.stale_rows,
            self.claimer.conflicts - self.claimer.stale_rows,
        )
        return signals.exit_status if signals.signum is not None else 0

    def _loop(self, started: float, signals: StopSignals) -> str:
        finished: Optional[TokenRun] = None  # its closing write waits for the next claim
        try:
            while True:
                reason = self._should_stop(started, signals)
                if reason:
                    return reason
                claim = self.claimer.next(carry=finished.session.closing if finished else None)
                if finished is not None:
                    self._close(finished)  # unless the claim's request carried it
                    finished = None
                if claim is None:
                    if not self._wait_while_empty(signals):
                        return "no todo tokens left"
                    continue
                self._empty_since = None
                if self.settle is not None and not confirm_claim(
                    self.pool, claim, self.settle, signals.stopping.wait
                ):
                    self.outcomes["backed off"] += 1  # another copy's claim holds it
                    continue
                session = TokenSession(
                    self.pool, claim, lease=self.config.lease, settle=self.settle
                )
                run = TokenRun(
                    self.config,
                    session,
                    signals,
                    self._storage_for,
                    defer_close=True,
                    sandbox_cache=self.sandboxes,
                )
                try:
                    outcome = run.run()
                except Interrupted:
                    self.outcomes[RunOutcome.REQUEUED.value] += 1
                    raise
                self.outcomes[outcome.value] += 1
                self._learn_settle(outcome)
                if session.closing_pending:
                    finished = run
                if signals.signum is None:
                    signals.stopping.clear()  # a lost lease stopped only that token's pipeline
        finally:
            if finished is not None:
                self._close(finished)

    def _learn_settle(self, outcome: RunOutcome) -> None:
        """A confirmed claim lost after all (a rival from another copy arrived later than
        the settle time, seen at a heartbeat or at the commit check): replication lags more
        than the settle time, so it doubles, up to :data:`MAX_SETTLE`, for the next claims."""
        if outcome is not RunOutcome.LOST or self.settle is None or self.settle >= MAX_SETTLE:
            return
        self.settle = min(MAX_SETTLE, max(self.settle * 2, 0.5))
        log.warning(
            "a claim was lost after its confirmation (replication lags more than the settle "
            "time): claims are now confirmed after %g s",
            self.settle,
        )

    def _wait_while_empty(self, signals: StopSignals) -> bool:
        """No todo token: linger or idle until there may be work; False to exit.

        Waiting for leases, any change of the type ends a wait (a lease renewed or a token
        finished tells what the next look would). Woken so with still no todo token, the
        launcher looks at the leases again without a claim attempt: at the end of a pool
        every lingering launcher wakes at every other one's last write, and each look costs
        the server two queries instead of five.
        """
        counts: Optional[Mapping[TokenState, int]] = None
        while True:
            lingering = self._linger(signals, counts)
            pause = self._idle_pause(lingering, signals)
            if pause is None:
                return False
            changed = self._wait_for_work(pause, signals, any_change=lingering is not None)
            if not changed or lingering is None or signals.signum is not None:
                return True  # a timeout (a lease may have run out: the reaper looks) or new work
            counts = self.pool.counts(self.config.token_type, ACTIVE)
            if counts[TokenState.TODO]:
                return True

    def _linger(
        self, signals: StopSignals, counts: Optional[Mapping[TokenState, int]] = None
    ) -> Optional[float]:
        """With no todo token: how long to wait before looking again, or None to exit.

        A lease not renewed for :data:`STALE_HEARTBEATS` of our heartbeats has probably lost
        its launcher: wait for it to run out (the claim then takes the token back). A lease
        renewed more recently is looked at again when it would become stale; once it has been
        seen renewed, its launcher is alive and it is not waited for. Never past --linger.
        """
        now = self.clock()
        if self._empty_since is None:
            self._empty_since = now
        if signals.signum is not None:
            return None
        if counts is None:
            counts = self.pool.counts(self.config.token_type, ACTIVE)
        if not counts[TokenState.LOCKED]:
            return None  # no lease at all (the current counts, not the lagging lease view)
        stale = STALE_HEARTBEATS * self.config.heartbeat
        wakes = []
        for lease in self.pool.running_leases(self.config.token_type, now):
            seen = self._heartbeats.get(lease.token_id)
            if seen is not None and lease.heartbeat > seen:
                self._alive.add(lease.token_id)
            self._heartbeats[lease.token_id] = lease.heartbeat
            if lease.token_id in self._alive:
                continue
            if now - lease.heartbeat > stale:
                wakes.append(lease.expires + LINGER_MARGIN)
            else:
                wakes.append(lease.heartbeat + stale + LINGER_MARGIN)
        if not wakes or min(wakes) > self._empty_since + self.config.linger:
            return None
        pause = max(0.05, min(wakes) - now)
        log.info("no todo token; waiting %.0f s for a lease whose launcher may be gone", pause)
        return pause

    def _idle_pause(self, linger: Optional[float], signals: StopSignals) -> Optional[float]:
        """The pause before the next claim with no todo token: the linger pause, or while
        ``--idle`` lasts at most :data:`LONGPOLL` seconds; None to exit."""
        if signals.signum is not None:
            return None
        left = self.config.idle - (self.clock() - (self._empty_since or self.clock()))
        if left <= 0:
            return linger
        return min(linger, left, LONGPOLL) if linger is not None else min(left, LONGPOLL)

    def _wait_for_work(self, pause: float, signals: StopSignals, *, any_change: bool) -> bool:
        """Wait ``pause`` seconds, or less when a todo token appears (the ``_changes``
        feed: no view is queried meanwhile); a stop signal ends the wait at once. True when
        a change ended it."""
        pause = min(pause, LONGPOLL)
        try:
            with signals.interruptible():
                if self.pool.wait_for_todo(self.config.token_type, pause, any_change=any_change):
                    log.info("%s tokens changed: looking again", self.config.token_type)
                    return True
        except CouchError as exc:
            log.warning("cannot watch for new tokens (%s); waiting %.0f s", exc.message, pause)
            signals.stopping.wait(pause)
        return False

    def _close(self, run: TokenRun) -> None:
        """Write a finished token's closing change if no claim request carried it."""
        try:
            run.close()
        except TokenLostError as exc:
            log.error("%s", exc.message)
