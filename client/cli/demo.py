"""``lrt demo``: the main job end to end on an embedded default, on this machine.

A whole two-step campaign from a list of archive files to checked results, with the public
commands only, each printed before it runs:

1. ``lrt server start``: the local CouchDB-compatible server, kept on disk under the demo
   folder (a second run finds the first run's tokens);
2. the LTA's stager: the StageIT simulator on a loopback port, with a tape folder as its
   archive (staged files appear under ``archive/disk``, which the pilots read through
   ``LRT_DATA_DOOR``);
3. ``lrt campaign sample --subbands 240 --stage``: observation L654321, 240 subbands, most
   of them on tape; a calibrator step that stages them and a target step that waits for
   its calibrator group;
4. ``lrt launcher build``: the worker launcher zipapp;
5. ``lrt campaign run``: staging requests within the LTA's limits, tokens held until their
   files are online, sandboxes packed, pilots submitted (``--backend local``, at most the
   CPUs here), targets released with their calibrator's results, until every token is done;
6. every result checked against its input, ``lrt report`` and ``lrt stage status``.

Nothing here reads or writes your own configuration: the demo folder holds its ``HOME``
(``~/.picasrc``, ``~/.stagingrc``, the staging book, macaroons). Running it again is safe and
ends the same way; it exits non-zero when the campaign did not finish. The same campaign
runs against a real deployment by configuration only: the server in ``~/.picasrc``, an API
token in ``~/.stagingrc``, the sites' doors, ``backend: slurm`` in the campaign file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.pool import CouchTokenPool

from ..campaign.sample import check_sample
from ..campaign.spec import load_campaign
from ..devtools.tapefolder import TapeFolder
from ..submit.ledger import Ledger
from ..submit.submission import poll
from .connect import pool

__all__ = ["register"]

#: Seconds the demo waits for its pilots to exit before it stops the server.
PILOT_EXIT = 60.0

_EPILOG = """\
examples:
  lrt demo                         # 240 subbands, in ./lrt-demo (about two minutes)
  lrt demo --subbands 24 --dir /tmp/lrt-demo
  lrt server stop --dir ./lrt-demo/server   # the server keeps the tokens until then
"""


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run a whole two-step campaign on embedded services (server, LTA, pilots)",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--dir",
        default=Path("lrt-demo"),
        type=Path,
        help="the demo's folder: server data, archive, campaign, results (default ./lrt-demo)",
    )
    demo.add_argument(
        "--subbands", type=int, default=240, metavar="N", help="subbands of the sample (240)"
    )
    demo.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds the campaign may take (1800)"
    )
    demo.add_argument(
        "--keep-server",
        action="store_true",
        help="leave the server running at the end (`lrt server stop --dir DIR/server`)",
    )
    demo.set_defaults(func=cmd_demo)


def _say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _lrt(*argv: str) -> int:
    """Run one public ``lrt`` command in this process, printed first; its exit status."""
    from .main import main

    print("$ lrt " + " ".join(shlex.quote(a) for a in argv), flush=True)
    return main(list(argv))


def _must(*argv: str) -> None:
    code = _lrt(*argv)
    if code != 0:
        raise LrtError(f"`lrt {' '.join(argv[:2])}` failed with exit status {code}")


@contextlib.contextmanager
def _own_home(root: Path) -> Iterator[Path]:
    """``HOME`` (and ``PICASRC``) of the demo while it runs: nothing of the user's is read."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    saved = {k: os.environ.get(k) for k in _ENVIRONMENT}
    os.environ["HOME"] = str(home)
    for name in _ENVIRONMENT[1:]:
        os.environ.pop(name, None)  # the user's PICAS_*, LOFAR_LTA_*, ... are not the demo's
    try:
        yield home
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_ENVIRONMENT = (
    "HOME",
    "PICASRC",
    "PICAS_URL",
    "PICAS_DB",
    "PICAS_USR",
    "PICAS_USR_PWD",
    "LOFAR_LTA_TOKEN",
    "LOFAR_LTA_HOST",
    "LOFAR_LTA_USER",
    "LOFAR_LTA_PWD",
    "LRT_STAGE_DIR",
    "LRT_DATA_DOOR",
    "LRT_LINGER",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
)


def cmd_demo(args: argparse.Namespace) -> int:
    from ..devtools.stageit import StageItSimulator
    from ..serverctl import server_status

    root: Path = args.dir.absolute()
    root.mkdir(parents=True, exist_ok=True)
    server_dir = root / "server"
    folder = root / "campaign"
    was_running = server_status(server_dir) is not None
    with _own_home(root) as home:
        _say("the local CouchDB-compatible server, kept on disk")
        _must("server", "start", "--dir", str(server_dir))
        os.environ["PICASRC"] = str(server_dir / "picasrc")
        try:
            archive = TapeFolder(folder / "archive")
            with StageItSimulator(delay=1.0, on_online=archive.make_online) as sim:
                _say(f"the LTA's stager: the StageIT simulator at {sim.url}")
                sim.write_stagingrc(home / ".stagingrc")
                os.environ.update(sim.client_env)
                os.environ["LRT_DATA_DOOR"] = archive.door
                # A pilot that finds no todo token exits at once (the campaign submits more
                # when tokens are released) instead of watching other pilots' leases.
                os.environ["LRT_LINGER"] = "0"
                print(f"API token in {home / '.stagingrc'}; staged files at {archive.door}")
                return _campaign(args, root, folder)
        finally:
            if not (args.keep_server or was_running):
                _say("stopping the server (its data stays; `lrt demo` again resumes)")
                _lrt("server", "stop", "--dir", str(server_dir))


def _wait_for_pilots(tokens: CouchTokenPool, timeout: float = PILOT_EXIT) -> None:
    """Until the local pilots have exited (they do once no todo token is left), so that the
    server is not stopped under them; bounded by ``timeout``."""
    ledger = Ledger(tokens)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = ledger.records(backend="local")
        running = sum(
            1 for record in records for state in poll(ledger, record).values() if state.active
        )
        if running == 0:
            return
        time.sleep(0.5)
    print(f"{running} pilot(s) still running after {timeout:.0f} s", flush=True)


def _campaign(args: argparse.Namespace, root: Path, folder: Path) -> int:
    spec = folder / "campaign.yaml"
    if spec.exists():
        _say(f"the sample observation from the last run, in {folder}")
    else:
        _say("the sample observation: one OBSID, most subbands on tape")
        _must("campaign", "sample", str(folder), "--subbands", str(args.subbands), "--stage")
    pyz = root / "grid-lrt-launcher.pyz"
    if not pyz.exists():
        _say("the worker launcher, one file for the pilots")
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        _must("launcher", "build", "-o", str(pyz), "--min-python", version, "--no-download")
    _say("the campaign: stage, hold, release, submit pilots, until every token is done")
    code = _lrt(
        "campaign", "run", str(spec), "--timeout", f"{args.timeout:g}", "--interval", "2",
        "--launcher", str(pyz), "--worker-python", sys.executable,
    )  # fmt: skip
    tokens = pool(argparse.Namespace())  # the demo's ~/.picasrc: its server
    _wait_for_pilots(tokens)
    _say("every result checked against its input")
    campaign = load_campaign(spec)
    check = check_sample(tokens, campaign)
    for problem in check.problems[:10]:
        print(f"  {problem}")
    print(f"{check.checked} subbands checked, {len(check.problems)} problems")
    _say("the report, and the LTA's requests")
    report = root / "report.html"
    _lrt("report", str(spec), "-o", str(report))  # every step of the campaign
    _lrt("stage", "status")
    ok = code == 0 and check.ok
    print(f"\n{'done' if ok else 'NOT done'}: open {report} in a browser", flush=True)
    return 0 if ok else (code or 1)
