"""bench/picas_baseline.py's parts: picas 1.1.2's claim loop draining no-op tasks.

Standard library only at import time: the ``setup`` and ``worker`` verbs run in the picas
virtualenv (bench/.venv-picas), where grid-lrt is not installed; picas is imported inside
:mod:`.inside`'s functions.

* :mod:`.protocol`: what the driver and the picas processes agree on (script, views, gate);
* :mod:`.venv`: the picas virtualenv, made on first use;
* :mod:`.couch`: a tiny CouchDB client for the driver;
* :mod:`.driver`: ``run_picas_baseline``, which creates the database, runs ``setup``, starts
  the workers, releases them together and waits;
* :mod:`.records`: the workers' JSONL events turned into the figures;
* :mod:`.inside`: the ``setup`` and ``worker`` verbs, inside the picas venv.
"""

from __future__ import annotations

from benchlib.console import printer

progress = printer("[picas-baseline] ")
