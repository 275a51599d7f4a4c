"""Several CouchDB-compatible servers that replicate one database to each other, continuously
and in both directions, on loopback: a multi-writer setup in which two writes on one revision
can both be accepted (one per server) and meet as a conflict, as on a CouchDB 3 cluster.

Each server is a pouchdb-server (in memory, admin/admin, stopped with the fixture); every
ordered pair gets a continuous ``_replicate`` from the source's server. pouchdb-server 4.2
replicates a write to the other server in well under a second on this machine.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import requests

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.lease import Worker, apply_claim
from tests.support.couchdb import CouchServer
from tests.support.pouchdb import ensure_pouchdb_installed, pouchdb_server

__all__ = ["Replicas", "replicated_servers", "rival_claims"]


class Replicas:
    """The servers and one :class:`CouchDB` handle per server on the replicated database."""

    def __init__(self, servers: List[CouchServer], name: str) -> None:
        self.servers = servers
        self.name = name
        self.dbs = [CouchDB(s.url, name, user=s.user, password=s.password) for s in servers]

    def _source(self, server: CouchServer) -> str:
        host = server.url.split("://", 1)[1]
        return f"http://{server.user}:{server.password}@{host}/{self.name}"

    def replicate(self) -> None:
        for source in self.servers:
            for target in self.servers:
                if source is target:
                    continue
                answer = requests.post(
                    f"{source.url}/_replicate",
                    json={
                        "source": self._source(source),
                        "target": self._source(target),
                        "continuous": True,
                    },
                    auth=(source.user, source.password),
                    timeout=30,
                )
                answer.raise_for_status()

    def wait(self, check: Callable[[CouchDB], bool], *, timeout: float = 20.0) -> None:
        """Until ``check`` holds on every server (replication has caught up)."""
        deadline = time.monotonic() + timeout
        while not all(check(db) for db in self.dbs):
            if time.monotonic() > deadline:
                raise AssertionError(f"the replicas did not agree within {timeout:.0f} s")
            time.sleep(0.05)


def rival_claims(replicas: Replicas, token_id: str, owners: Tuple[str, str], *, now: float) -> int:
    """Two claims of the same revision of ``token_id``, one made on each of the first two
    servers, as a cluster can accept them: the first one saved on server 0, the second one
    written on server 1 as a sibling of it (``new_edits: false``, so that replication
    delivering the first one early cannot turn it into a 409); returns the attempt, once
    both servers show the conflict."""
    first, second = replicas.dbs[0], replicas.dbs[1]
    base = first.get(token_id)
    parent = str(base["_rev"])
    mine = dict(base)
    attempt = apply_claim(mine, now=now, lease=60, worker=Worker("node-a"), owner=owners[0])
    first.save(mine)
    rival = dict(base)
    apply_claim(rival, now=now, lease=60, worker=Worker("node-b"), owner=owners[1])
    sibling = "f" * 32 if owners[1] > owners[0] else "0" * 32
    rival["_rev"] = f"{int(parent.split('-', maxsplit=1)[0]) + 1}-{sibling}"
    rival["_revisions"] = {
        "start": int(parent.split("-", maxsplit=1)[0]) + 1,
        "ids": [sibling, parent.split("-", 1)[1]],
    }
    second.request("POST", "_bulk_docs", body={"docs": [rival], "new_edits": False})
    replicas.wait(lambda db: len(db.get(token_id, conflicts=True).get("_conflicts") or []) == 1)
    return attempt


@contextlib.contextmanager
def replicated_servers(root: Path, count: int = 2, name: str = "lrt") -> Iterator[Replicas]:
    """``count`` servers replicating database ``name`` both ways, continuously."""
    ensure_pouchdb_installed()
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(pouchdb_server(root / f"server{i}")) for i in range(count)]
        replicas = Replicas(servers, name)
        for db in replicas.dbs:
            db.create()
        replicas.replicate()
        yield replicas
