"""bench/million.py's parts: a pool of N tokens on an on-disk pouchdb-server, each operation
timed in a fresh process of its own so that each peak of memory is that operation's.

* :mod:`.workload`: the tokens (made one at a time by a generator) and the forced reset;
* :mod:`.phases`: the operations (run in the child processes) and their progress lines;
* :mod:`.report`: the table.
"""

from __future__ import annotations

from benchlib.console import printer

log = printer("[bench-million] ")
