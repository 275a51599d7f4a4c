"""Each benchmark of bench/results.py, run as its own script with ``--json``; what it printed.

A benchmark that cannot run here (no picas index, no gfal2) or fails leaves a reason instead
of its figures (``{"skipped": ...}`` or ``{"error": ...}``), and the rest carry on.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from benchlib import BENCH, ROOT
from benchlib.results import log

#: The longest one benchmark script may run (the full 10^6 pool: hours on 2 cores).
SCRIPT_TIMEOUT = 24 * 3600.0
REPLICATED_TIMEOUT = 1800.0

REPLICATED_TESTS = "tests/integration/launcher/test_replicated_claims.py"
CONFIRMED = f"{REPLICATED_TESTS}::test_confirmed_claims_complete_every_token_once"
UNCONFIRMED = f"{REPLICATED_TESTS}::test_without_confirmation_two_servers_run_one_token_twice"
_REPLICATED_LINE = re.compile(
    r"replicated claims(?P<unconfirmed> without confirmation)?: (?P<tokens>\d+) tokens, "
    r"(?P<launchers>\d+) launchers on (?P<servers>\d+) servers, settle (?P<settle>[\d.]+)(?: s)?,"
    r" (?P<seconds>\d+) s: completed twice (?P<completed_twice>\d+),"
    r"(?: results committed twice (?P<committed_twice>\d+),)? pipelines started twice "
    r"(?P<started_twice>\d+)(?: \(ran to the end twice \d+\))?"
    r"(?:, claims backed off (?P<backed_off>\d+))?"
)


@dataclass(frozen=True)
class Sizes:
    """What each benchmark is asked to do: the issue's sizes, or quick ones (a smoke run)."""

    tokens_args: List[str]
    #: workers -> (tokens, rounds) of bench/launcher.py
    launcher: Dict[int, tuple[int, int]]
    million_args: List[str]
    staging_files: int
    staging_workers: int = 16


FULL = Sizes(
    tokens_args=[],
    launcher={1: (300, 3), 4: (1000, 3), 16: (2000, 3)},
    million_args=[],
    staging_files=5000,
)
QUICK = Sizes(
    tokens_args=["--quick"],
    launcher={1: (40, 1), 4: (100, 1), 16: (200, 1)},
    million_args=["--quick"],
    staging_files=500,
)


def run_json(script: str, args: List[str], ok_codes: tuple[int, ...] = (0,)) -> Dict[str, Any]:
    """``python bench/<script> --json <args>``: its JSON (stdout), progress passed through
    (stderr). A JSON printed with an exit status outside ``ok_codes`` is kept, and marked."""
    command = [sys.executable, str(BENCH / script), "--json", *args]
    log(f"running {' '.join(['bench/' + script, '--json', *args])}")
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"bench/{script} did not finish within {SCRIPT_TIMEOUT:.0f} s"}
    try:
        res: Dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return {"error": f"bench/{script} exited {done.returncode} without its JSON (see above)"}
    if done.returncode not in ok_codes:
        res["exit_status"] = done.returncode
    return res


def picas_available() -> Optional[str]:
    """None when picas 1.1.2's venv is ready (made now if needed), else why not."""
    from benchlib.picas_baseline.venv import PICAS_REQUIREMENT, ensure_picas_venv

    try:
        ensure_picas_venv()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        return f"{PICAS_REQUIREMENT} could not be installed into bench/.venv-picas: {exc}"
    return None


def tokens(sizes: Sizes) -> Dict[str, Any]:
    return run_json("tokens.py", sizes.tokens_args)


def launcher(sizes: Sizes, skip_picas: Optional[str]) -> Dict[str, Any]:
    """bench/launcher.py at each worker count; ``skip_picas``: why picas is left out."""
    out: Dict[str, Any] = {}
    for workers, (count, rounds) in sorted(sizes.launcher.items()):
        args = ["--workers", str(workers), "--tokens", str(count), "--rounds", str(rounds)]
        if skip_picas:
            args.append("--skip-picas")
        out[str(workers)] = run_json("launcher.py", args, ok_codes=(0, 1))
    return out


def million(sizes: Sizes, tokens_override: Optional[int]) -> Dict[str, Any]:
    args = ["--tokens", str(tokens_override)] if tokens_override else sizes.million_args
    return run_json("million.py", args)


def staging(sizes: Sizes) -> Dict[str, Any]:
    if importlib.util.find_spec("gfal2") is None:
        return {
            "skipped": "this Python cannot import gfal2 (nox -s bench links Debian's "
            "python3-gfal2; install python3-gfal2 and gfal2-plugin-mock)"
        }
    args = ["--files", str(sizes.staging_files), "--workers", str(sizes.staging_workers)]
    return run_json("staging.py", args, ok_codes=(0, 1))


def parse_replicated(text: str) -> Dict[str, Any]:
    """The ``replicated claims...`` lines the two tests print (``-s``), by kind."""
    found: Dict[str, Any] = {}
    for match in _REPLICATED_LINE.finditer(text):
        kind = "unconfirmed" if match["unconfirmed"] else "confirmed"
        found[kind] = {
            key: (float(value) if key == "settle" else int(value))
            for key, value in match.groupdict().items()
            if key != "unconfirmed" and value is not None
        }
    return found


def replicated() -> Dict[str, Any]:
    """The two replicated-claims tests (two pouchdb-servers replicating both ways), ``-s``."""
    command = [sys.executable, "-m", "pytest", CONFIRMED, UNCONFIRMED, "-s", "-q"]
    log(f"running pytest {CONFIRMED} {UNCONFIRMED.rsplit('::', 1)[1]} -s")
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=REPLICATED_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"the replicated-claims tests took more than {REPLICATED_TIMEOUT:.0f} s"}
    found = parse_replicated(done.stdout)
    if done.returncode != 0:
        tail = "\n".join(done.stdout.strip().splitlines()[-5:])
        found["exit_status"] = done.returncode
        found["tail"] = tail
        if not found.get("confirmed"):
            found["error"] = f"pytest exited {done.returncode}: {tail}"
    return found
