"""bench/results.py's parts: the benchmarks run in one go, and bench/RESULTS.md made from them.

* :mod:`.runs`: each benchmark script run with ``--json`` (quick or full sizes), the picas
  venv and gfal2 checked first, the replicated-claims tests run with ``-s`` and their printed
  figures parsed;
* :mod:`.table`: the markdown (machine, the table of ratios, the pool of N tokens), from the
  collected JSON alone, so that a saved ``RESULTS.json`` can be formatted again.
"""

from __future__ import annotations

from benchlib.console import printer

log = printer("[bench-results] ")
