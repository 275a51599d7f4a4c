"""The fault driver: the plan's kills, zombie and restart, one after the other, at their moment.

Each event waits until its fraction of the pool has been logged done (:class:`Progress`,
bounded: a run that stops making progress fails with what it waited for), then:

- **kill**: SIGKILL of a launcher's whole process tree (a node that dies), preferably one
  whose pipeline runs (so that its token is left locked for its lease to run out), and a
  replacement launcher is started;
- **zombie**: SIGSTOP of a launcher whose pipeline runs (the pipeline runs on, the launcher
  and its heartbeat stand still), held past its lease until another launcher has taken the
  token over (its ``attempt`` in the database went up), then SIGCONT: the zombie must drop
  that run;
- **restart**: the server is stopped, stays down for the size's ``restart`` seconds and is
  started again on the same port and data folder.

Neither the proxied launcher nor a former zombie is ever picked again, so that each fault's
effect stays its own (a zombie killed after its thaw could not show that it drops its run).
What was done is recorded in a :class:`FaultLog` for the checks and the report.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from grid_lrt.shared.couch import CouchDB
from tests.chaos.plan import Event, Plan
from tests.chaos.processes import Fleet, Launcher, Run, Server

__all__ = ["FaultDriver", "FaultLog", "HarnessTimeout", "Kill", "Outage", "Progress", "Zombie"]

POLL = 0.05  # seconds between looks at the logs while waiting for a moment


class HarnessTimeout(AssertionError):
    """The harness waited too long for something; the message says for what."""


@dataclass
class Kill:
    launcher: str
    run: Optional[Run]  # what its pipeline was running, if anything
    at: float  # wall clock
    processes: int
    replacement: str


@dataclass
class Zombie:
    launcher: str
    run: Run
    frozen_at: float
    thawed_at: float = 0.0
    taken_over: int = 0  # the token's attempt in the database when it was thawed (0: never)


@dataclass
class Outage:
    stopped_at: float  # the server refuses connections from here
    started_at: float = 0.0  # and answers again from here
    live: List[str] = field(default_factory=list)  # launchers running when it went down

    @property
    def seconds(self) -> float:
        return self.started_at - self.stopped_at


@dataclass
class FaultLog:
    kills: List[Kill] = field(default_factory=list)
    zombies: List[Zombie] = field(default_factory=list)
    outages: List[Outage] = field(default_factory=list)


class Progress:
    """Waits for the pool to be done up to a count, failing when it stalls or runs late."""

    def __init__(self, fleet: Fleet, total: int, stall: float, deadline: float) -> None:
        self.fleet = fleet
        self.total = total
        self.stall = stall
        self.deadline = time.monotonic() + deadline
        self.seen = 0
        self.moved = time.monotonic()

    def count(self) -> int:
        self.fleet.refresh()
        done = len(self.fleet.tokens_done())
        if done != self.seen:
            self.seen, self.moved = done, time.monotonic()
        return done

    def check(self, what: str) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise HarnessTimeout(f"the run's deadline passed while waiting for {what}")
        if now - self.moved > self.stall:
            live = ", ".join(launcher.name for launcher in self.fleet.live()) or "none"
            raise HarnessTimeout(
                f"no token done for {self.stall:.0f} s while waiting for {what} "
                f"({self.seen} of {self.total} done; launchers alive: {live})"
            )

    def wait_for(self, target: int, what: str) -> None:
        while self.count() < target:
            self.check(what)
            time.sleep(POLL)

    def hold(self) -> None:
        """A planned stand-still ends: the stall clock starts again from now."""
        self.moved = time.monotonic()


class FaultDriver:
    """Runs ``plan.events`` against ``fleet`` and ``server``; see the module docstring."""

    def __init__(
        self,
        plan: Plan,
        fleet: Fleet,
        server: Server,
        db: CouchDB,
        progress: Progress,
        say: Callable[[str], None],
    ) -> None:
        self.plan = plan
        self.size = plan.size
        self.fleet = fleet
        self.server = server
        self.db = db
        self.progress = progress
        self.say = say
        self.log = FaultLog()

    def run(self) -> FaultLog:
        for event in self.plan.events:
            target = max(1, math.ceil(event.at * self.size.tokens))
            self.progress.wait_for(target, f"{target} tokens done before the {event.kind}")
            getattr(self, f"_{event.kind}")(event)
            self.progress.hold()
        return self.log

    # -- choosing a launcher -------------------------------------------------------------------

    def _candidates(self, *, running: bool) -> List[Launcher]:
        """Live launchers the faults may pick (not proxied, never frozen), in name order;
        only those whose pipeline runs if ``running``."""
        self.fleet.refresh()
        spared = self.fleet.proxied | {zombie.launcher for zombie in self.log.zombies}
        found = [launcher for launcher in self.fleet.live() if launcher.name not in spared]
        if running:
            found = [launcher for launcher in found if launcher.events.running_pipeline]
        return found

    def _pick(self, event: Event, *, running: bool, patience: float) -> Optional[Launcher]:
        deadline = time.monotonic() + patience
        while True:
            found = self._candidates(running=running)
            if found:
                return found[event.pick % len(found)]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    # -- the faults ----------------------------------------------------------------------------

    def _kill(self, event: Event) -> None:
        victim = self._pick(event, running=True, patience=15.0)
        victim = victim or self._pick(event, running=False, patience=15.0)
        if victim is None:
            raise HarnessTimeout("no live launcher to kill for 30 s")
        run = victim.events.running_pipeline
        processes = victim.kill_tree()
        replacement = self.fleet.add()
        self.log.kills.append(Kill(victim.name, run, victim.killed_at or 0.0, processes,
                                   replacement.name))  # fmt: skip
        self.say(f"  kill -9 {victim.name} (pipeline of {_run(run)}; {processes} processes) at "
                 f"{self.progress.seen} done; replacement {replacement.name}")  # fmt: skip

    def _zombie(self, event: Event) -> None:
        victim = self._pick(event, running=True, patience=60.0)
        if victim is None:
            raise HarnessTimeout("no launcher with a running pipeline to freeze for 60 s")
        victim.freeze()
        victim.read_log()  # what it logged just before it stopped
        run = victim.events.running_pipeline or victim.events.current
        assert run is not None
        zombie = Zombie(victim.name, run, time.time())
        self.log.zombies.append(zombie)
        self.say(f"  SIGSTOP {victim.name} during {_run(run)} at {self.progress.seen} done")
        time.sleep(self.size.lease + 2 * self.size.heartbeat)
        deadline = time.monotonic() + self.size.takeover_wait
        while time.monotonic() < deadline:
            attempt = int(self.db.get(run[0]).get("attempt") or 0)
            if attempt > run[1]:
                zombie.taken_over = attempt
                break
            self.progress.count()
            time.sleep(0.25)
        victim.thaw()
        zombie.thawed_at = time.time()
        self.say(f"  SIGCONT {victim.name} after {zombie.thawed_at - zombie.frozen_at:.1f} s; "
                 f"token now at attempt {zombie.taken_over or 'unchanged'}")  # fmt: skip

    def _restart(self, event: Event) -> None:
        live = [launcher.name for launcher in self.fleet.live()]
        outage = Outage(self.server.stop(), live=live)
        self.log.outages.append(outage)
        self.say(f"  server stopped at {self.progress.seen} done ({len(live)} launchers alive)")
        while time.time() < outage.stopped_at + self.size.restart:
            self.progress.count()  # the proxied launcher's log, the pipelines that end
            time.sleep(0.1)
        outage.started_at = self.server.start()
        self.say(f"  server back after {outage.seconds:.1f} s")


def _run(run: Optional[Run]) -> str:
    return f"{run[0]} attempt {run[1]}" if run else "nothing"
