"""The sizes of a chaos run and its plan: everything random in a run comes from one seed.

A :class:`Plan` is drawn from ``(size, seed)`` alone: each token's pipeline time, the moments
of the faults (as fractions of the pool done, so a slow machine shifts them in time but not in
order), which launcher each fault picks (an index into the candidates of that moment) and the
proxy's seed. Replaying a seed replays the plan; the interleaving of processes is the OS's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import List, Tuple

__all__ = ["FULL", "REDUCED", "SIZES", "Event", "Plan", "Size", "make_plan"]


@dataclass(frozen=True)
class Size:
    """How big a run is, its launchers' settings and the harness's bounds (seconds)."""

    name: str
    launchers: int
    tokens: int
    kills: int
    zombies: int
    restart: float  # how long the server stays down
    proxied: int  # launchers that talk to the server through the fault proxy
    lease: float = 6.0
    heartbeat: float = 1.0
    outage: float = 120.0  # the launchers' --outage: well above the restart
    linger: float = 20.0  # the launchers' --linger: above lease + heartbeat + a pipeline
    sleep: Tuple[float, float] = (0.5, 2.0)  # a pipeline's time
    proxy_drop: float = 0.05
    proxy_delay: Tuple[float, float] = (0.0, 0.3)
    stall: float = 180.0  # no token done for this long (outside the planned faults): fail
    deadline: float = 1800.0  # the whole drain, faults included
    exit_wait: float = 90.0  # after the last token is done, for every launcher to exit
    takeover_wait: float = 120.0  # for the zombie's token to be taken over, after its lease


REDUCED = Size(
    "reduced",
    launchers=6,
    tokens=120,
    kills=2,
    zombies=1,
    restart=5.0,
    proxied=1,
    stall=120.0,
    deadline=600.0,
)
FULL = Size(
    "full",
    launchers=16,
    tokens=1000,
    kills=3,
    zombies=1,
    restart=10.0,
    proxied=1,
    deadline=3600.0,
)
SIZES = {size.name: size for size in (REDUCED, FULL)}


@dataclass(frozen=True)
class Event:
    """A planned fault: ``kind`` (kill, zombie, restart) once ``at`` of the pool is done;
    ``pick`` chooses among the launchers that qualify at that moment (``pick % len``)."""

    kind: str
    at: float
    pick: int


@dataclass(frozen=True)
class Plan:
    size: Size
    seed: int
    sleeps: List[float] = field(repr=False)
    events: List[Event]
    proxy_seed: int

    @property
    def token_ids(self) -> List[str]:
        return [token_id(n) for n in range(self.size.tokens)]


def token_id(n: int) -> str:
    return f"t_chaos_{n:05d}"


#: Where in the drain each kind of fault may happen (fractions of the pool done). Late enough
#: that every launcher is busy, early enough that a requeued token has company.
_WINDOWS = {"kill": (0.05, 0.85), "zombie": (0.15, 0.6), "restart": (0.25, 0.7)}


def make_plan(size: Size, seed: int) -> Plan:
    """The plan of one run: same ``(size, seed)``, same plan."""
    rng = random.Random(f"grid-lrt chaos {size.name} {seed}")
    low, high = size.sleep
    sleeps = [round(rng.uniform(low, high), 2) for _ in range(size.tokens)]
    kinds = ["kill"] * size.kills + ["zombie"] * size.zombies + ["restart"]
    events = [Event(kind, round(rng.uniform(*_WINDOWS[kind]), 3), rng.randrange(1 << 30))
              for kind in kinds]  # fmt: skip
    events.sort(key=lambda e: e.at)
    return Plan(size, seed, sleeps, events, rng.randrange(1 << 30))
