"""The chaos harness's pytest options: ``pytest tests/chaos -m chaos --full --runs 10 --seed S``.

They exist when pytest starts from this folder (``nox -s chaos`` does); a run of the whole
suite never loads them before parsing its arguments, hence the defaults in test_chaos.py.
"""

from __future__ import annotations

import pytest

from tests.chaos.harness import add_options


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser.getgroup("chaos", "the chaos harness (tests/chaos)").addoption)
