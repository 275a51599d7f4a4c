"""A real CouchDB-compatible server for the test suite.

The session fixture :func:`couchdb_server` finds or starts a server, in this order:

1. ``COUCHDB_URL`` (e.g. ``http://admin:secret@127.0.0.1:5984``): a server someone provides;
   the credentials are parsed out of the URL. It must be on a loopback host.
2. A Docker engine that answers (``docker info`` exits 0) and ``docker compose``: pytest-docker's
   ``docker_services`` with ``tests/docker-compose.yml`` (apache/couchdb:3, admin/admin).
3. pouchdb-server 4.2.0 from ``tools/couch`` (installed by ``tools/install-pouchdb.sh`` if needed),
   in memory, on a free loopback port, in a fresh working directory, with admin/admin.
4. Otherwise the test is skipped, or fails when ``CI=true`` (a green CI run that silently skipped
   the CouchDB tests proves nothing).

See shared/reference/test-infrastructure.md §1 for pouchdb-server's gaps; tests that need real
CouchDB 3 behaviour (auth and ``_security`` defaults) use the ``couchdb3`` marker or the
:func:`require_real_couchdb` fixture, which skip on pouchdb-server even under CI.

The fixtures are imported into ``tests/conftest.py``; the marker hooks live there as well.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import functools
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, NoReturn
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "tests" / "docker-compose.yml"
COUCH_TOOLS_DIR = ROOT / "tools" / "couch"
POUCHDB_BIN = COUCH_TOOLS_DIR / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
INSTALL_SCRIPT = ROOT / "tools" / "install-pouchdb.sh"

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

# Credentials of the servers we start ourselves (Docker and pouchdb-server).
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"

JSON_HEADERS = {"Accept": "application/json"}
DEFAULT_TIMEOUT = 60.0  # seconds; pouchdb-server can hang on some requests (reference §1.5)
START_TIMEOUT = 30.0
DOCKER_START_TIMEOUT = 120.0
INSTALL_TIMEOUT = 600.0

NODE_HINT = "install Node.js 18+ and npm: apt-get install nodejs npm; then tools/install-pouchdb.sh"
REAL_COUCHDB_REASON = (
    "needs real Apache CouchDB 3 (auth/_security defaults); pouchdb-server does not implement them"
)

ServerKind = Literal["couchdb", "pouchdb-server"]


# --------------------------------------------------------------------------------------------------
# The value the fixture returns
# --------------------------------------------------------------------------------------------------


class CouchSession(requests.Session):
    """A ``requests.Session`` with a default timeout (pouchdb-server can hang, not fail)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class CouchServer:
    """A running CouchDB-compatible server.

    ``url`` carries no credentials (``http://127.0.0.1:PORT``, no trailing slash); ``kind`` is
    ``"couchdb"`` for Apache CouchDB (welcome JSON has ``"couchdb": "Welcome"``) or
    ``"pouchdb-server"``.
    """

    url: str
    user: str
    password: str
    kind: ServerKind

    @property
    def auth(self) -> tuple[str, str] | None:
        """``(user, password)`` for ``requests``' ``auth=``; None without credentials."""
        return (self.user, self.password) if self.user else None

    @property
    def url_with_credentials(self) -> str:
        """``url`` with ``user:password@`` embedded (for clients that only take a URL)."""
        if not self.user:
            return self.url
        parts = urlsplit(self.url)
        userinfo = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))

    @property
    def is_real_couchdb(self) -> bool:
        return self.kind == "couchdb"

    def session(self) -> requests.Session:
        """A new ``requests.Session`` with auth and ``Accept: application/json``.

        The caller owns it: close it (``with server.session() as s: ...``).
        """
        s = CouchSession()
        s.auth = self.auth
        s.headers.update(JSON_HEADERS)
        return s

    def db_url(self, name: str) -> str:
        return f"{self.url}/{quote(name, safe='')}"


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it under ``CI=true`` (a missing component must not pass silently)."""
    if _in_ci():
        pytest.fail(
            f"{reason} (CI=true: a missing CouchDB server fails instead of skipping)", pytrace=False
        )
    pytest.skip(reason)


def _is_loopback(host: str | None) -> bool:
    return host is not None and host.lower().strip("[]") in LOOPBACK_HOSTS


def _welcome(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """GET / and return the welcome JSON, or None if the server doesn't answer (yet)."""
    try:
        r = requests.get(url + "/", headers=JSON_HEADERS, timeout=timeout)
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return None
    try:
        data = r.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _kind_of(welcome: dict[str, Any], url: str) -> ServerKind:
    if welcome.get("couchdb") == "Welcome":
        return "couchdb"
    if "express-pouchdb" in welcome:
        return "pouchdb-server"
    pytest.fail(
        f"{url} is neither Apache CouchDB nor pouchdb-server: welcome document {welcome!r}",
        pytrace=False,
    )


def _wait_for(check: Callable[[], bool], timeout: float, pause: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_quiet(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


# --------------------------------------------------------------------------------------------------
# a. COUCHDB_URL
# --------------------------------------------------------------------------------------------------


def server_from_url(raw: str) -> CouchServer:
    """Parse ``COUCHDB_URL`` (credentials may be embedded) and check that the server answers."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        pytest.fail(f"COUCHDB_URL={raw!r} is not an http(s) URL", pytrace=False)
    if not _is_loopback(parts.hostname):
        pytest.fail(
            f"COUCHDB_URL host {parts.hostname!r} is not a loopback address "
            "(127.0.0.1, ::1, localhost); the test suite only talks to local servers",
            pytrace=False,
        )
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    welcome = _welcome(url, timeout=10.0)
    if welcome is None:
        pytest.fail(
            f"COUCHDB_URL is set but {url}/ does not answer with a welcome document", pytrace=False
        )
    server = CouchServer(url=url, user=user, password=password, kind=_kind_of(welcome, url))
    _check_admin(server)
    return server


def _check_admin(server: CouchServer) -> None:
    """The fixtures create and delete databases, which needs an admin. Fail early otherwise:
    pouchdb-server with an admin configured hangs on an anonymous ``PUT /db`` (reference §1.5.2)."""
    try:
        r = requests.get(
            server.url + "/_session", auth=server.auth, headers=JSON_HEADERS, timeout=10.0
        )
    except requests.RequestException as exc:
        pytest.fail(f"GET {server.url}/_session failed: {exc}", pytrace=False)
    who = f"user {server.user!r}" if server.user else "anonymous (no user:password@ in COUCHDB_URL)"
    if r.status_code != 200:
        pytest.fail(
            f"COUCHDB_URL: {who} cannot log in: HTTP {r.status_code} {r.text.strip()}",
            pytrace=False,
        )
    roles = (r.json().get("userCtx") or {}).get("roles") or []
    if "_admin" not in roles:
        pytest.fail(
            f"COUCHDB_URL: {who} is not a server admin (roles {roles}); the tests create and "
            "delete databases, so put an admin's credentials into the URL: "
            "http://USER:PASSWORD@127.0.0.1:PORT",
            pytrace=False,
        )


# --------------------------------------------------------------------------------------------------
# b. Docker (pytest-docker)
# --------------------------------------------------------------------------------------------------


def docker_unavailable_reason() -> str | None:
    """None if a Docker engine answers and compose and pytest-docker are there; else why not."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    info = _run_quiet(["docker", "info"], timeout=5.0)
    if info is None or info.returncode != 0:
        return "Docker engine does not answer (`docker info` failed)"
    compose = _run_quiet(["docker", "compose", "version"], timeout=5.0)
    if compose is None or compose.returncode != 0:
        return "Docker engine answers but `docker compose` is missing"
    try:
        import pytest_docker  # noqa: F401
    except ImportError:
        return "Docker engine answers but pytest-docker is not installed"
    return None


def _couchdb_up(url: str, auth: tuple[str, str]) -> bool:
    try:
        r = requests.get(url + "/_up", auth=auth, headers=JSON_HEADERS, timeout=2.0)
    except requests.RequestException:
        return False
    return r.status_code == 200


def server_from_docker(request: pytest.FixtureRequest) -> CouchServer:
    services = request.getfixturevalue("docker_services")
    port = services.port_for("couchdb", 5984)
    url = f"http://127.0.0.1:{port}"
    auth = (ADMIN_USER, ADMIN_PASSWORD)
    services.wait_until_responsive(
        check=lambda: _couchdb_up(url, auth), timeout=DOCKER_START_TIMEOUT, pause=0.5
    )
    # Finish the single-node setup: CouchDB 3 doesn't create the system databases by itself.
    for db in ("_users", "_replicator"):
        r = requests.put(f"{url}/{db}", auth=auth, headers=JSON_HEADERS, timeout=30.0)
        if r.status_code not in (201, 202, 412):
            pytest.fail(
                f"creating {db} on the Docker CouchDB: HTTP {r.status_code} {r.text}", pytrace=False
            )
    welcome = _welcome(url, timeout=10.0) or {}
    return CouchServer(
        url=url, user=ADMIN_USER, password=ADMIN_PASSWORD, kind=_kind_of(welcome, url)
    )


# --------------------------------------------------------------------------------------------------
# c. pouchdb-server
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise installs (pytest-xdist workers) without writing into the repo."""
    digest = hashlib.sha256(str(COUCH_TOOLS_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"grid-lrt-install-pouchdb-{digest}.lock"
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_pouchdb_installed(why_no_other: str = "") -> Path:
    """Return the pouchdb-server entry point, installing it with tools/install-pouchdb.sh if needed.

    ``why_no_other`` (e.g. "COUCHDB_URL unset, no docker CLI") prefixes the skip/fail reason.
    """
    prefix = f"no CouchDB server: {why_no_other}, " if why_no_other else "no CouchDB server: "
    if POUCHDB_BIN.is_file():
        return POUCHDB_BIN
    if shutil.which("npm") is None:
        _unavailable(f"{prefix}pouchdb-server not installed and npm missing ({NODE_HINT})")
    with _install_lock():
        if POUCHDB_BIN.is_file():
            return POUCHDB_BIN
        try:
            proc = subprocess.run(
                ["bash", str(INSTALL_SCRIPT)],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            _unavailable(f"{prefix}{INSTALL_SCRIPT} timed out after {INSTALL_TIMEOUT:.0f} s")
        if proc.returncode != 0 or not POUCHDB_BIN.is_file():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            _unavailable(f"{prefix}{INSTALL_SCRIPT} failed (exit {proc.returncode}):\n{tail}")
        sys.stderr.write(proc.stdout)
    return POUCHDB_BIN


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the server if pytest dies without running the fixture teardown."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


def _exited_or_answers(proc: subprocess.Popen[bytes], url: str) -> bool:
    return proc.poll() is not None or _welcome(url, 1.0) is not None


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def pouchdb_server(workdir: Path, node: str, bin_path: Path = POUCHDB_BIN) -> Iterator[CouchServer]:
    """Run pouchdb-server in memory on a free loopback port with admin/admin, in ``workdir``.

    ``workdir`` must be fresh and empty: pouchdb-server writes config.json and log.txt into its cwd
    and would reuse admins from an old config.json.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        raise ValueError(f"pouchdb-server needs an empty working directory, {workdir} is not")
    # The plain password is hashed (pbkdf2) by the server at start-up (reference §1.2).
    (workdir / "config.json").write_text(json.dumps({"admins": {ADMIN_USER: ADMIN_PASSWORD}}))
    out_path = workdir / "server.out"

    last_error = ""
    for _attempt in range(3):  # a port taken between _free_port() and bind crashes the server
        port = _free_port()
        cmd = [
            node, "--unhandled-rejections=warn", str(bin_path),
            "--in-memory", "-p", str(port), "-o", "127.0.0.1", "-n",
        ]  # fmt: skip
        with open(out_path, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # runs between fork and exec; pytest starts this from its main thread
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        stopper = functools.partial(_stop, proc, 1.0)
        atexit.register(stopper)  # safety net if the generator is never finalised
        url = f"http://127.0.0.1:{port}"
        try:
            ready = _wait_for(functools.partial(_exited_or_answers, proc, url), START_TIMEOUT)
            if proc.poll() is not None:
                last_error = f"pouchdb-server exited with {proc.returncode}:\n{_log_tail(out_path)}"
                continue
            if not ready:
                raise RuntimeError(
                    f"pouchdb-server did not answer on {url} within {START_TIMEOUT:.0f} s:\n"
                    + _log_tail(out_path)
                )
            welcome = _welcome(url, 5.0) or {}
            yield CouchServer(
                url=url, user=ADMIN_USER, password=ADMIN_PASSWORD, kind=_kind_of(welcome, url)
            )
            return
        finally:
            _stop(proc)
            atexit.unregister(stopper)
    raise RuntimeError(f"pouchdb-server did not start (3 attempts); last error: {last_error}")


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


_START_SECONDS = pytest.StashKey[float]()


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    """pytest-docker: our compose file (used only when a Docker engine answers)."""
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def couchdb_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CouchServer]:
    """A running CouchDB-compatible server: COUCHDB_URL, else Docker, else pouchdb-server, else skip
    (fail under CI=true)."""
    raw = os.environ.get("COUCHDB_URL", "").strip()
    if raw:
        yield server_from_url(raw)
        return

    docker_reason = docker_unavailable_reason()
    if docker_reason is None:
        yield server_from_docker(request)
        return

    node = shutil.which("node")
    if node is None:
        _unavailable(
            f"no CouchDB server: COUCHDB_URL unset, {docker_reason}, and node is missing "
            f"({NODE_HINT})"
        )
    bin_path = ensure_pouchdb_installed(f"COUCHDB_URL unset, {docker_reason}")
    workdir = tmp_path_factory.mktemp("pouchdb-server", numbered=True)
    started = time.monotonic()
    try:
        with pouchdb_server(workdir, node, bin_path) as server:
            request.config.stash[_START_SECONDS] = time.monotonic() - started
            yield server
    except RuntimeError as exc:  # installed but broken: that is a failure, not a missing component
        pytest.fail(str(exc), pytrace=False)


def pouchdb_start_seconds(config: pytest.Config) -> float | None:
    """How long the pouchdb-server of this session took to answer (None if none was started)."""
    return config.stash.get(_START_SECONDS, None)


@pytest.fixture
def couch_db_name(couchdb_server: CouchServer) -> Iterator[str]:
    """Create a uniquely named database (``test_<12 hex>``) for one test; delete it afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    db_url = couchdb_server.db_url(name)
    r = requests.put(
        db_url, auth=couchdb_server.auth, headers=JSON_HEADERS, timeout=DEFAULT_TIMEOUT
    )
    if r.status_code != 201:
        pytest.fail(f"PUT {db_url}: expected 201, got {r.status_code} {r.text}", pytrace=False)
    yield name
    r = requests.delete(
        db_url, auth=couchdb_server.auth, headers=JSON_HEADERS, timeout=DEFAULT_TIMEOUT
    )
    if r.status_code not in (200, 202, 404):  # 404: the test deleted it itself
        pytest.fail(f"DELETE {db_url}: expected 200, got {r.status_code} {r.text}", pytrace=False)


@pytest.fixture
def require_real_couchdb(couchdb_server: CouchServer) -> CouchServer:
    """Skip (even under CI=true) unless the server is real Apache CouchDB."""
    if couchdb_server.kind != "couchdb":
        pytest.skip(REAL_COUCHDB_REASON)
    return couchdb_server
