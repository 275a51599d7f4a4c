"""``lrt demo``: the main job end to end on an embedded default, on this machine.

A local CouchDB-compatible server (pouchdb-server, in memory), local storage (a folder) and a
sample observation (51 subbands of L229507 at SURF). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Dict

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, reset_for_retry
from grid_lrt.shared.surl import path_of

from .. import token_archive
from ..demodata import make_archive, make_sandbox
from ..localserver import local_server
from ..staging.chunking import slice_dicts
from ..staging.surllist import SurlList
from ..tokenconfig import load_token_config
from ..tokendocs import chunk_tokens, create_tokens
from ..typeviews import TypeViews
from .output import print_table

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the whole flow on a local server with a sample observation",
        description=__doc__,
        epilog="examples:\n  lrt demo\n  lrt demo --out /tmp/lrt-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--out",
        default="lrt-demo-output",
        type=Path,
        help="local storage folder for the results (default: ./lrt-demo-output)",
    )
    demo.set_defaults(func=cmd_demo)


def _step(text: str) -> None:
    print(f"\n== {text}")


T_TYPE = "L229507_demo"


def _overview(pool: CouchTokenPool) -> None:
    counts = pool.counts(T_TYPE)
    print_table(
        ["state", "tokens"],
        [[s.value, counts[s]] for s in TokenState] + [["total", sum(counts.values())]],
    )


def surl_path(link: str) -> str:
    return path_of(link).lstrip("/")


def launcher_environment(server: Any, db_name: str, root: Path) -> Dict[str, str]:
    """A launcher's environment: the pool's credentials and the demo's local storage."""
    env = dict(os.environ)
    env.update(
        PICAS_URL=server.url,
        PICAS_DB=db_name,
        PICAS_USR=server.user,
        PICAS_USR_PWD=server.password,
        LRT_WORKDIR=str(root / "jobs"),
        LRT_DATA_DOOR=(root / "archive").as_uri(),
        LRT_HEARTBEAT="2",
        LRT_LEASE="30",
    )
    return env


def run_launchers(env: Dict[str, str], t_type: str, *, count: int) -> None:
    command = [sys.executable, "-m", "grid_lrt.launcher", "run", t_type, "-q"]
    print("$ " + " ".join(["lrt-launcher", *command[3:]]) + f"   (x{count})")
    procs = [subprocess.Popen(command, env=env) for _ in range(count)]
    codes = [proc.wait() for proc in procs]
    print(f"launchers exited with {codes}")


def _outcomes(pool: CouchTokenPool) -> None:
    rows = []
    for doc in pool.docs(pool.ids(T_TYPE)):
        code = doc.get("output")
        rows.append([doc["_id"], doc.get("status"), code, ErrorCode.describe(code)])
    print_table(["token", "status", "output", "meaning"], sorted(rows))


def cmd_demo(args: argparse.Namespace) -> int:
    sample = resources.files("grid_lrt.client") / "data" / "sample"
    args.out.mkdir(parents=True, exist_ok=True)
    with resources.as_file(sample) as sample_dir, local_server() as server:
        _step(f"local CouchDB-compatible server on {server.url}; database lrt_demo")
        db = CouchDB(server.url, "lrt_demo", user=server.user, password=server.password)
        db.create()
        pool = CouchTokenPool(db)
        pool.ensure_views()
        per_type = TypeViews(pool, T_TYPE)
        per_type.add_overview()
        per_type.add_status_views()

        _step("sample observation: SURL list -> chunks of 10 subbands")
        links = SurlList.from_file(sample_dir / "srm_L229507_sara.txt")
        chunks = slice_dicts(links.sbn_dict(), 10)
        print(
            f"{len(links)} SURLs of {links.obsid} at {links.lta_location}; chunks {sorted(chunks)}"
        )

        _step("token set from tutorial.cfg, one token per chunk, srm.txt attached (bulk)")
        fields = dict(load_token_config(sample_dir / "tutorial.cfg").token)
        fields.pop("type", None)
        docs = chunk_tokens(
            T_TYPE, chunks, fields, id_append=links.obsid or "L000000", file_upload="srm.txt"
        )
        print(create_tokens(pool, docs).summary("created"))
        print("again: " + create_tokens(pool, docs).summary("created"))
        _overview(pool)

        _step("local storage: subband tarballs, a sandbox, a results folder")
        root = args.out.resolve()
        archive = root / "archive"
        print(f"{make_archive(archive, links)} subband tarballs under {archive}")
        sandbox = make_sandbox(root / "sandbox" / "demo.tar.gz")
        results = root / "results"
        results.mkdir(exist_ok=True)
        where = {
            "OBSID": links.obsid or "L000000",
            "SBXloc": sandbox.as_uri(),
            "RESULTS_DIR": results.as_uri(),
        }

        def locate(doc: Dict[str, Any]) -> bool:
            doc.update(where)
            return True

        pool.update(pool.ids(T_TYPE), locate)
        missing = archive / surl_path(links[25])
        missing.rename(missing.with_suffix(".hidden"))
        print(f"hidden one input ({missing.name}) so that its token fails with code 21")

        env = launcher_environment(server, "lrt_demo", root)
        _step("two lrt-launcher processes drain the pool (as two grid jobs would)")
        run_launchers(env, T_TYPE, count=2)
        _overview(pool)
        _outcomes(pool)

        _step("put the input back, retry the error view (scrub_count + 1), run a launcher")
        missing.with_suffix(".hidden").rename(missing)
        print(pool.update(pool.ids(T_TYPE, TokenState.ERROR), reset_for_retry).summary("reset"))
        run_launchers(env, T_TYPE, count=1)
        _overview(pool)
        print(f"results in {results}: {', '.join(sorted(p.name for p in results.iterdir()))}")

        _step(f"archive every token to local storage: {args.out}")
        print(token_archive.archive_type(pool, T_TYPE, args.out, compress=True).path)
    print("\ndemo finished: the server was stopped; the archive is in", args.out)
    return 0
