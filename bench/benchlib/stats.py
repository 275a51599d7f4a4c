"""The clock for intervals within one process, and percentiles."""

from __future__ import annotations

import time
from typing import List

#: For intervals measured inside one process (time.time() where processes compare timestamps).
perf = time.perf_counter


def percentile(values: List[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1) of ``values``: no interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
