"""The chaos harness (issue 9): launchers drain a pool while the harness breaks things.

Real ``python -m grid_lrt.launcher run chaos`` processes, each with its own ``LRT_WORKDIR``,
drain a pool of tokens whose pipeline sleeps 0.5-2 s and writes one result file, on an
on-disk pouchdb-server, with file:// results. Meanwhile the harness ``kill -9``\\ s launchers
(and starts replacements), freezes one past its lease and thaws it, stops and restarts the
server, and routes one launcher through a proxy that drops and delays connections. Then it
checks that no token was lost, none completed twice, every result was committed exactly once,
and that the launchers rode out the outage.

- :mod:`.plan`: the sizes (reduced for CI, full) and the seeded plan of one run;
- :mod:`.processes`: the restartable server, the launcher processes and their logs;
- :mod:`.faults`: the fault driver (kills, the zombie, the restart);
- :mod:`.checks`: the end state read back (database, results folder, logs, markers), the
  figures and what must hold;
- :mod:`.report`: the printed lines;
- :mod:`.harness`: one run, several runs, the command line (``python -m tests.chaos``).

``tests/chaos/test_chaos.py`` is the pytest entry (marker ``chaos``; ``nox -s chaos``).
"""
