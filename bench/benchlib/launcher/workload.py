"""The no-op tokens, their sandbox's pipeline, and the environment of each launcher."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, new_token

TYPE = "bench_noop"
#: The no-op pipeline, one process like picas's ``/bin/true``: one marker line per start
#: (bash's EPOCHREALTIME and builtins only), one file in Output/ (an empty Output/ is code 30),
#: nothing on stdout or stderr (so no log is attached: picas attaches none either).
MASTER_SH = '#!/bin/bash\necho "$TOKEN $EPOCHREALTIME" >> "$MARKER"\n: > Output/x\n'


def make_tokens(db: CouchDB, sandbox: Path, tokens: int) -> None:
    fields = {"SBXloc": sandbox.as_uri(), "fetch_inputs": False}
    docs = [new_token(TYPE, f"{TYPE}_{i:05d}", fields) for i in range(tokens)]
    results = db.bulk_docs(docs)
    if not all(row.get("ok") for row in results):
        raise RuntimeError(f"only {sum(1 for r in results if r.get('ok'))} of {tokens} tokens made")
    todo = CouchTokenPool(db).ids(TYPE, TokenState.TODO, limit=tokens + 1)
    if len(todo) != tokens:  # also builds the view index
        raise RuntimeError("the todo view does not list every token")


def launcher_env(srv: Any, db_name: str, folder: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PICAS_", "LRT_"))}
    env.update(
        PICAS_URL=srv.url,
        PICAS_DB=db_name,
        PICAS_USR=srv.user,
        PICAS_USR_PWD=srv.password,
        PICASRC=str(folder / "no-picasrc"),
        LRT_WORKDIR=str(folder / "jobs"),
        MARKER=str(folder / "marker.txt"),
    )
    return env
