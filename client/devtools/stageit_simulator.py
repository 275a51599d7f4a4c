"""The StageIT simulator's import path: see :mod:`grid_lrt.client.devtools.stageit`.

Example::

    with StageItSimulator(delay=0.1) as sim:
        os.environ.update(sim.client_env)          # trust its certificate
        sim.write_stagingrc(Path.home() / ".stagingrc")
        stager = StageItStager(token=sim.token, host=sim.host)
        request = stager.submit([...])
"""

from __future__ import annotations

from grid_lrt.client.devtools.stageit import (
    CODES,
    DEFAULT_DOORS,
    Seen,
    SimRequest,
    StageItSimulator,
    main,
)

__all__ = ["CODES", "DEFAULT_DOORS", "Seen", "SimRequest", "StageItSimulator", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
