"""Test-suite wide fixtures, markers and guards.

- CouchDB: ``couchdb_server`` (session), ``couch_db_name`` (function), ``require_real_couchdb``;
  see tests/support/couchdb_fixtures.py.
- Markers come from where a test lives and what it uses, never from memory:
  * ``worker``: every test under a folder of :data:`WORKER_PATHS` (the tests of
    ``grid_lrt.shared`` and ``grid_lrt.launcher``); they also run on Python 3.9;
  * ``gfal2``: a test that uses the ``gfal2_module`` or ``tape_archive`` fixtures (the 3.9
    session has no gfal2 bindings, so it runs ``-m "worker and not gfal2"``); a parametrized
    fixture that needs gfal2 for one of its params marks that param;
  * ``couchdb``: a test that uses ``couchdb_server`` (directly or through another fixture);
    ``couchdb3`` + ``couchdb``: a test marked ``couchdb3`` or using ``require_real_couchdb``,
    skipped unless the server is real Apache CouchDB.
- Every test may only make ``requests`` connections to loopback hosts.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Generator, Iterator
from urllib.parse import urlsplit

import pytest
import requests
import requests.adapters
import requests.utils

from tests.support.condor import condor_pool  # noqa: F401  (registers the fixture)
from tests.support.couchdb import LOOPBACK_HOSTS
from tests.support.couchdb_fixtures import (  # noqa: F401  (fixtures are registered by being imported)
    couch_db_name,
    couchdb_server,
    docker_compose_file,
    pouchdb_start_seconds,
    require_real_couchdb,
)
from tests.support.gfal2 import gfal2_module, tape_archive  # noqa: F401  (registers fixtures)
from tests.support.slurm import slurm_cluster  # noqa: F401  (registers the fixture)

# The worker-side session runs on Python 3.9 and selects the worker tests only: the client's
# test folders (the client needs 3.11, and what it imports, matplotlib among them, may not
# import cleanly on 3.9) are not even collected there.
collect_ignore = (
    [
        "unit/test_packaging.py",
        "unit/client",
        "integration/client",
        "integration/batch",
        "integration/support",
        "corpus",
        "chaos",
        "notebook",
    ]
    if sys.version_info < (3, 11)
    else []
)

# Keep in sync with [tool.pytest.ini_options] markers in pyproject.toml.
MARKERS = (
    "couchdb: needs a CouchDB-compatible server (COUCHDB_URL, Docker, or pouchdb-server)",
    "couchdb3: needs Apache CouchDB 3 (auth, _security, partitions); skipped on pouchdb-server",
)

TESTS = Path(__file__).resolve().parent
#: Tests of the worker-side packages (and the repository rules they obey), by path under tests/.
WORKER_PATHS = (
    "unit/shared/",
    "unit/launcher/",
    "integration/shared/",
    "integration/launcher/",
    "unit/test_layout.py",
    "unit/test_seams.py",
)
#: Fixtures that need the gfal2 bindings.
GFAL2_FIXTURES = frozenset({"gfal2_module", "tape_archive"})


def pytest_configure(config: pytest.Config) -> None:
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for line in MARKERS:
        if line.split(":", 1)[0] not in registered:
            config.addinivalue_line("markers", line)


def _under_tests(item: pytest.Item) -> str:
    try:
        return item.path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if _under_tests(item).startswith(WORKER_PATHS):
            item.add_marker(pytest.mark.worker)
        if GFAL2_FIXTURES.intersection(names) and item.get_closest_marker("gfal2") is None:
            item.add_marker(pytest.mark.gfal2)
        if "require_real_couchdb" in names and item.get_closest_marker("couchdb3") is None:
            item.add_marker(pytest.mark.couchdb3)
        wants_couch = item.get_closest_marker("couchdb3") is not None or "couchdb_server" in names
        if wants_couch and item.get_closest_marker("couchdb") is None:
            item.add_marker(pytest.mark.couchdb)


@pytest.fixture(autouse=True)
def _couchdb3_gate(request: pytest.FixtureRequest) -> None:
    """Tests marked ``couchdb3`` skip (even under CI=true) unless the server is real CouchDB."""
    if request.node.get_closest_marker("couchdb3") is not None:
        request.getfixturevalue("require_real_couchdb")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    seconds = pouchdb_start_seconds(config)
    if seconds is not None:
        terminalreporter.write_line(f"pouchdb-server answered {seconds:.2f} s after start")


# --------------------------------------------------------------------------------------------------
# Loopback-only guard for requests
# --------------------------------------------------------------------------------------------------

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@pytest.fixture(autouse=True)
def _loopback_only(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Fail a test that makes a ``requests`` connection to a host other than loopback.

    The check sits in ``HTTPAdapter.send``, which every ``requests`` call (and redirect) goes
    through; a proxy picked from the environment counts as the host connected to. The failure is
    raised at once and, in case the test swallowed it, again at teardown. Yields the list of
    violations (a test of this guard may clear it).
    """
    violations: list[str] = []
    original_send = requests.adapters.HTTPAdapter.send

    def guarded_send(
        self: requests.adapters.HTTPAdapter,
        req: requests.PreparedRequest,
        *args: Any,
        **kwargs: Any,
    ) -> requests.Response:
        url = req.url or ""
        proxy = requests.utils.select_proxy(url, kwargs.get("proxies") or {})
        target = _host(proxy) if proxy else _host(url)
        if target not in LOOPBACK_HOSTS:
            via = f" via proxy {proxy}" if proxy else ""
            msg = (
                f"test made a requests connection to non-loopback host {target!r}{via} "
                f"({req.method} {url}); tests may only talk to {', '.join(sorted(LOOPBACK_HOSTS))}"
            )
            violations.append(msg)
            pytest.fail(msg)
        return original_send(self, req, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", guarded_send)
    yield violations
    call_report = request.node.stash.get(_CALL_REPORT, None)
    if violations and call_report is not None and call_report.passed:
        pytest.fail(
            "the test passed but swallowed a loopback-guard failure:\n" + "\n".join(violations),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """``lrt`` (``main``) sets up the root logger, at WARNING unless -v: a test that runs it
    must not decide what a later test's ``caplog`` sees."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
