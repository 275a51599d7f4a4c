"""Building blocks for the launcher's end-to-end tests: sandboxes, tokens, launcher processes.

The launcher always runs as a real process (``python -m grid_lrt.launcher run TYPE``) with
its credentials in the environment, against the real CouchDB-compatible server.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from grid_lrt.launcher.config import LauncherConfig
from grid_lrt.shared.couch import CouchDB
from tests.support.couchdb import CouchServer

#: The test pipeline. Its behaviour comes from the token (MODE, via tokvar.cfg); it records
#: every start and every completion in $MARKER so tests can count runs per token.
MASTER_SH = """#!/bin/bash
echo "start $TOKEN $LRT_ATTEMPT" >> "$MARKER"
echo "processing OBSID=$OBSID STARTSB=$STARTSB in $PWD"
ls Input
case "$MODE" in
  fail) echo "boom: pipeline failed" >&2; exit 7 ;;
  sleep) sleep "${SLEEP:-30}" ;;
  noout) exit 0 ;;
esac
for f in Input/*; do cp "$f" "Output/$(basename "$f").out"; done
printf 'PNGDATA' > "Output/plot_${STARTSB}.png"
echo "done $TOKEN $LRT_ATTEMPT" >> "$MARKER"
"""

TOKVAR_CFG = """\
_id: $TOKEN
OBSID: $OBSID
STARTSB: $STARTSB
MODE: $MODE
SLEEP: $SLEEP
"""

LAUNCHER = [sys.executable, "-m", "grid_lrt.launcher", "run"]


def make_sandbox(path: Path, files: Optional[Mapping[str, str]] = None) -> Path:
    """A gzipped tar sandbox with master.sh and tokvar.cfg (or the given files)."""
    content = dict(files or {"master.sh": MASTER_SH, "tokvar.cfg": TOKVAR_CFG})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(content.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def make_inputs(folder: Path, names: Iterable[str]) -> List[str]:
    """Small input files; returns their file:// URLs."""
    folder.mkdir(parents=True, exist_ok=True)
    urls = []
    for name in names:
        target = folder / name
        target.write_text(f"visibilities of {name}\n" * 50)
        urls.append(target.as_uri())
    return urls


def launcher_env(server: CouchServer, db_name: str, workdir: Path, **extra: Any) -> Dict[str, str]:
    """Environment of a launcher process: credentials, short lease and heartbeat."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PICAS_", "LRT_"))}
    env.update(
        PICAS_URL=server.url,
        PICAS_DB=db_name,
        PICAS_USR=server.user or "",
        PICAS_USR_PWD=server.password or "",
        PICASRC=str(workdir / "no-picasrc"),
        LRT_WORKDIR=str(workdir / "jobs"),
        LRT_HEARTBEAT="0.5",
        LRT_LEASE="4",
        LRT_GRACE="2",
        MARKER=str(workdir / "marker.txt"),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def launcher_config(
    server: CouchServer, db: CouchDB, t_type: str, workdir: Path, **settings: Any
) -> LauncherConfig:
    """The configuration of an in-process launcher on the test server (jobs under ``workdir``)."""
    return LauncherConfig(
        token_type=t_type,
        url=server.url,
        database=db.name,
        user=server.user or "",
        password=server.password or "",
        workdir=workdir / "jobs",
        **settings,
    )


def run_launcher(
    env: Mapping[str, str], t_type: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LAUNCHER, t_type, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_launcher(env: Mapping[str, str], t_type: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LAUNCHER, t_type, *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def marker_lines(env: Mapping[str, str]) -> List[str]:
    path = Path(env["MARKER"])
    return path.read_text().splitlines() if path.exists() else []


def status_of(db: CouchDB, token_id: str) -> str:
    return str(db.get(token_id).get("status"))


def outputs(db: CouchDB, ids: Sequence[str]) -> Dict[str, Any]:
    return {token_id: db.get(token_id).get("output") for token_id in ids}


def token_doc(t_type: str, token_id: str, *, srm: str = "", **fields: Any) -> Dict[str, Any]:
    """A todo token of ``t_type`` with ``fields``; ``srm`` (when given) attached as srm.txt."""
    from grid_lrt.shared.schema import inline_attachment, new_token

    doc = new_token(t_type, token_id, dict(fields))
    if srm:
        doc["_attachments"] = {"srm.txt": inline_attachment(srm.encode(), "text/plain")}
    return doc


def save_tokens(db: CouchDB, docs: Sequence[Mapping[str, Any]]) -> None:
    """Store new tokens; fails the test when one cannot be created."""
    results = db.bulk_docs([dict(d) for d in docs])
    assert all(r.get("ok") for r in results), f"could not create the test tokens: {results}"
