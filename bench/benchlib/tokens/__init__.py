"""bench/tokens.py's parts: creation, overview and indexing cost, measured in one run.

* :mod:`.workload`: the tokens (a ~1 KB srm.txt of LTA SURLs, a prefactor step's fields), the
  TokenSet config, and the same documents built by hand;
* :mod:`.server`: the server the phases use (loopback only) and a request counter;
* :mod:`.creation`, :mod:`.overview`, :mod:`.indexing`: phases 1, 2 and 3;
* :mod:`.report`: the summary lines and the notes.
"""

from __future__ import annotations

from benchlib.console import printer

#: Progress, on stderr, without a prefix.
log = printer()
