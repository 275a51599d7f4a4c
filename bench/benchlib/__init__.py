"""What the benchmark scripts in bench/ are made of (the scripts themselves stay the entry points).

Shared by the benchmarks:

* :mod:`benchlib.console`: progress lines on stderr, a ticker for long waits;
* :mod:`benchlib.machine`: the machine's description (cpus, load average, ``describe()`` for
  bench/RESULTS.md) and CPU counters;
* :mod:`benchlib.memory`: a process's resident memory now and its high-water mark (/proc);
* :mod:`benchlib.pouchdb`: our own pouchdb-server (through ``tests/support/pouchdb.py``) and
  the pid of a running one;
* :mod:`benchlib.requestlog`: pouchdb-server's request log (``log.txt``), per database;
* :mod:`benchlib.stats`: the interval clock and percentiles.

One package per benchmark: :mod:`benchlib.tokens` (bench/tokens.py),
:mod:`benchlib.launcher` (bench/launcher.py), :mod:`benchlib.picas_baseline`
(bench/picas_baseline.py), :mod:`benchlib.million` (bench/million.py) and
:mod:`benchlib.results` (bench/results.py, the table of them all). Everything a picas
worker imports (``benchlib.console``, ``benchlib.picas_baseline``) is standard library only:
it runs in bench/.venv-picas, where neither grid-lrt nor the tests are installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent


def repo_on_path() -> None:
    """Put the repository root on ``sys.path``, for ``tests.support`` (grid_lrt is installed)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
