"""The chaos harness as a test (issue 9): ``nox -s chaos`` (reduced size, part of CI) or
``nox -s chaos -- --full --runs 10`` (16 launchers, 1,000 tokens, ten runs in a row).

The report of every run is printed as it comes (past pytest's capture); the test fails with
the summary when any run failed a check. Not part of the ``tests`` session (``-m "not chaos"``).
"""

from __future__ import annotations

import faulthandler
import sys
from pathlib import Path

import pytest

from tests.chaos.harness import default_seed, run_many
from tests.chaos.plan import FULL, REDUCED
from tests.chaos.report import summary
from tests.support.pouchdb import ensure_pouchdb_installed

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


def _option(config: pytest.Config, name: str, default: object) -> object:
    value = config.getoption(name, default=default)
    return default if value is None else value


def test_chaos(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str],
               tmp_path: Path) -> None:  # fmt: skip
    ensure_pouchdb_installed()  # skips without one, fails under CI=true
    config = request.config
    size = FULL if _option(config, "full", False) else REDUCED
    runs = int(_option(config, "runs", 1))  # type: ignore[call-overload]
    seed = int(_option(config, "seed", default_seed()))  # type: ignore[call-overload]
    assert runs >= 1, "--runs must be at least 1"
    # Every wait of the harness is bounded; this is the last resort (a stack dump, no exit),
    # in place of the suite's 5 minutes, which a full-size run outlasts.
    assert sys.__stderr__ is not None
    faulthandler.dump_traceback_later(runs * (size.deadline + 300), file=sys.__stderr__)

    def say(line: str) -> None:
        with capsys.disabled():
            print(line, flush=True)

    say("")
    figs = run_many(size, [seed + n for n in range(runs)], tmp_path, say,
                    keep=bool(_option(config, "keep", False)))  # fmt: skip
    assert not any(fig.failures for fig in figs), "\n".join(summary(figs))
