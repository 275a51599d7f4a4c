"""``lrt demo``: the main job end to end on an embedded default, on this machine.

A local CouchDB-compatible server (pouchdb-server, in memory), local storage (a folder) and a
sample observation (51 subbands of L229507 at SURF). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import logging
from importlib import resources
from pathlib import Path
from typing import Any

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.token import TokenState

from ..localserver import local_server
from ..staging.srmlist import SurlList, slice_dicts
from ..token import TokenHandler, TokenSet
from .output import print_table

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the whole flow on a local server with a sample observation",
        description=__doc__,
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


def _overview(th: TokenHandler) -> None:
    counts = th.pool.counts(th.t_type)
    print_table(
        ["state", "tokens"],
        [[s.value, counts[s]] for s in TokenState] + [["total", sum(counts.values())]],
    )


def cmd_demo(args: argparse.Namespace) -> int:
    sample = resources.files("grid_lrt.client") / "data" / "sample"
    args.out.mkdir(parents=True, exist_ok=True)
    with resources.as_file(sample) as sample_dir, local_server() as server:
        _step(f"local CouchDB-compatible server on {server.url}; database lrt_demo")
        CouchDB(server.url, "lrt_demo", user=server.user, password=server.password).create()
        th = TokenHandler(
            "L229507_demo", srv=server.url, uname=server.user, pwd=server.password, dbn="lrt_demo"
        )
        th.add_overview_view()
        th.add_status_views()

        _step("sample observation: SURL list -> chunks of 10 subbands")
        links = SurlList.from_file(sample_dir / "srm_L229507_sara.txt")
        chunks = slice_dicts(links.sbn_dict(), 10)
        print(
            f"{len(links)} SURLs of {links.obsid} at {links.lta_location}; chunks {sorted(chunks)}"
        )

        _step("token set from tutorial.cfg, one token per chunk, srm.txt attached (bulk)")
        ts = TokenSet(th, sample_dir / "tutorial.cfg")
        result = ts.create_dict_tokens(
            chunks, id_append=links.obsid or "L000000", file_upload="srm.txt"
        )
        print(result.summary("created"))
        print(
            "again: "
            + ts.create_dict_tokens(
                chunks, id_append=links.obsid or "L000000", file_upload="srm.txt"
            ).summary("created")
        )
        _overview(th)

        _step("simulated worker (what lrt-launcher will do): one token succeeds, one fails with 21")
        todo = th.ids_in_view("todo")
        for token_id, output in ((todo[0], 0), (todo[1], 21)):
            doc = th.database[token_id]
            doc.update(lock=1, hostname="demo-worker")
            th.database.save(doc)
            doc.update(done=2, output=output, status="done" if output == 0 else "error")
            th.database.save(doc)
        _overview(th)

        _step("retry the error view (scrub_count + 1)")
        print(th.reset_tokens("error").summary("reset"))
        _overview(th)

        _step(f"archive every token to local storage: {args.out}")
        print(th.archive_tokens(compress=True, dest=args.out))
    print("\ndemo finished: the server was stopped; the archive is in", args.out)
    return 0
