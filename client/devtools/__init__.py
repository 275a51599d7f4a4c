"""Development tools: local stand-ins for remote services (e.g. the LTA stager simulator).

Import from the submodules, e.g. ``from grid_lrt.client.devtools.lta_simulator import
LtaSimulator``; importing this package does nothing else.
"""

from __future__ import annotations

from typing import List

__all__: List[str] = []
