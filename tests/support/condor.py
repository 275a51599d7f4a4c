"""A real personal HTCondor pool for the tests (imported into tests/conftest.py to register the
fixture).

The session fixture :func:`condor_pool` finds or starts the pool of ``tools/condor.sh``
(Debian trixie's condor in a debootstrap chroot under ``$LRT_CONDOR_ROOT``, default
``/var/tmp/lrt-condor``, kept between sessions), in this order:

1. ``tools/condor.sh status`` answers: that pool, used as is (never stopped here).
2. We are root and debootstrap is installed (or apt-get can install it): ``tools/condor.sh up``
   (the first time on a machine it builds the chroot, about a minute), and ``down`` at the end
   of the session (daemons stopped, binds unmounted; the chroot stays for the next session).
3. Otherwise the test is skipped, or fails when ``CI=true``.

It returns a :class:`CondorPool`. The schedd refuses jobs owned by root, so everything is
submitted as the chroot's unprivileged user ``tester``: :attr:`CondorPool.bin_dir` holds
``condor_submit``, ``condor_q``, ``condor_history``, ``condor_rm`` and ``condor_status``
wrappers that run the chroot's tools as tester (in the caller's working directory, which
``condor_submit`` takes as the jobs' ``initialdir``); put it first on PATH. Submission folders
must lie in :attr:`CondorPool.work_dir` (mode 1777, bind-mounted at the same path inside the
chroot), so that every path is the same inside and outside. The ``condor_submit`` wrapper hands
the folder it runs in over to tester first (``chown -R``): on a real submit node the user who
runs ``lrt submit`` is the one whose jobs run; here ``lrt`` runs as root and the jobs as tester.
The jobs share the host's network namespace: they reach the test servers on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, NoReturn, Sequence

import pytest

from tests.support.helpers import in_ci

__all__ = ["CondorPool", "condor_pool"]

REPO = Path(__file__).resolve().parents[2]
CONDOR_SH = REPO / "tools" / "condor.sh"
DEFAULT_ROOT = "/var/tmp/lrt-condor"
#: Seconds ``tools/condor.sh up`` may take: the first one builds the chroot (about a minute on
#: a good network; debootstrap and apt-get are given room for a slow mirror).
UP_TIMEOUT = 600.0
#: Seconds ``status`` / ``down`` and any one wrapped tool may take.
CMD_TIMEOUT = 60.0
TOOLS = ("condor_submit", "condor_q", "condor_history", "condor_rm", "condor_status")
TESTER = "tester"  #: uid 2000 in the chroot (tools/condor.sh makes it)
TESTER_UID = 2000

WRAPPER = """#!/bin/sh
# {tool} of the test pool, run as {user} inside {chroot} (written by tests/support/condor.py)
here=$(pwd -P)
{handover}exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/{user} LANG=C.UTF-8 \\
    chroot --userspec={user}:{user} {chroot} /bin/sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' \\
    "$here" {tool} "$@"
"""
#: condor_submit only: a folder of the work dir passes to tester (the submitting user).
HANDOVER = """case "$here/" in
    {work}/?*) chown -R {uid}:{uid} "$here" ;;
esac
"""


@dataclass(frozen=True)
class CondorPool:
    """A running personal HTCondor pool that answers ``condor_status`` and ``condor_q``."""

    root: Path  #: the chroot
    work_dir: Path  #: mode 1777, the same path inside the chroot: submission folders go here
    bin_dir: Path  #: wrappers of the condor tools (run as tester): put first on PATH
    managed: bool  #: True if this session started it (and stops it)
    up_seconds: float  #: how long ``tools/condor.sh up`` took (0.0 if not started here)

    def path(self, rest: str | None = None) -> str:
        """A PATH with :attr:`bin_dir` first (``rest`` defaults to this process's PATH)."""
        tail = os.environ.get("PATH", os.defpath) if rest is None else rest
        return f"{self.bin_dir}{os.pathsep}{tail}"

    def run(
        self, argv: Sequence[str], *, timeout: float = CMD_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a wrapped condor tool (``argv[0]`` is its name) as tester."""
        proc = subprocess.run(
            [str(self.bin_dir / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}", pytrace=False
            )
        return proc

    def folder(self, prefix: str) -> Path:
        """A new empty folder of the work dir (root's, mode 0755); put submission folders in it."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.work_dir))


def _condor_root() -> Path:
    return Path(os.path.realpath(os.environ.get("LRT_CONDOR_ROOT") or DEFAULT_ROOT))


def _script(action: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    try:
        return subprocess.run(
            ["bash", str(CONDOR_SH), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"tools/condor.sh {action} did not finish in {exc.timeout} s", pytrace=False)


def _which(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])
    return shutil.which(name, path=path)


def _cannot_start_reason(root: Path) -> str | None:
    if os.geteuid() != 0:
        return "not root (tools/condor.sh needs debootstrap, mount and chroot)"
    for tool in ("chroot", "mount", "umount"):
        if _which(tool) is None:
            return f"{tool} is not installed"
    built = (root / "trixie" / "etc" / "lrt-condor-built").is_file()
    if not built and _which("debootstrap") is None and _which("apt-get") is None:
        return "debootstrap is not installed (apt-get install debootstrap) and there is no apt-get"
    return None


def _unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(
            f"{reason} (CI=true: a missing HTCondor fails instead of skipping)", pytrace=False
        )
    pytest.skip(reason)


def write_wrappers(bin_dir: Path, chroot: Path, work_dir: Path) -> Mapping[str, Path]:
    """The condor tool wrappers in ``bin_dir`` (made if needed); by tool name."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    made = {}
    for tool in TOOLS:
        handover = HANDOVER.format(work=work_dir, uid=TESTER_UID) if tool == "condor_submit" else ""
        script = bin_dir / tool
        script.write_text(
            WRAPPER.format(tool=tool, user=TESTER, chroot=chroot, handover=handover),
            encoding="utf-8",
        )
        script.chmod(0o755)
        made[tool] = script
    return made


@pytest.fixture(scope="session")
def condor_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CondorPool]:
    """A running personal HTCondor pool (tools/condor.sh): the one that is up, else one brought
    up here (root; debootstrap installed or installable), else skip (fail under CI=true)."""
    root = _condor_root()
    chroot, work_dir = root / "trixie", root / "work"
    bin_dir = tmp_path_factory.mktemp("condor-bin")
    if _script("status", CMD_TIMEOUT).returncode == 0:
        write_wrappers(bin_dir, chroot, work_dir)
        yield CondorPool(chroot, work_dir, bin_dir, managed=False, up_seconds=0.0)
        return

    reason = _cannot_start_reason(root)
    if reason is not None:
        _unavailable(f"no HTCondor pool at {root} (tools/condor.sh status), and {reason}")
    started = time.monotonic()
    up = _script("up", UP_TIMEOUT)
    up_seconds = time.monotonic() - started
    if up.returncode != 0:  # could be started but broke: a failure, not a missing component
        _script("down", CMD_TIMEOUT)
        pytest.fail(f"tools/condor.sh up failed ({up.returncode}):\n{up.stderr}", pytrace=False)
    write_wrappers(bin_dir, chroot, work_dir)
    try:
        yield CondorPool(chroot, work_dir, bin_dir, managed=True, up_seconds=up_seconds)
    finally:
        down = _script("down", CMD_TIMEOUT)
        if down.returncode != 0:
            pytest.fail(f"tools/condor.sh down failed ({down.returncode}):\n{down.stderr}")
