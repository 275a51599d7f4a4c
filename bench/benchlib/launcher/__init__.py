"""bench/launcher.py's parts: W launcher processes drain N no-op tokens; picas 1.1.2 likewise.

* :mod:`.workload`: the no-op tokens, their sandbox, and each launcher's environment;
* :mod:`.runs`: one measured run of each side (ours: the launcher processes; picas: through
  ``run_picas_baseline``), with the request log and the CPU counters around it;
* :mod:`.figures`: what the tokens, the marker files and the launchers' logs say;
* :mod:`.report`: the summary (every round, the median round in detail, the ratio).
"""

from __future__ import annotations

from benchlib import repo_on_path
from benchlib.console import printer

repo_on_path()  # for tests.support.launcher_kit (the project itself is installed)

progress = printer("[bench-launcher] ")
