"""Launchers spread over two servers that replicate to each other (issue 13): each server
accepts its own lock of a token, so without confirmation two launchers run it; with claims
confirmed after a settle time, every token is completed once and its result committed once.

Every launcher takes the first todo row (``LRT_CLAIM_WINDOW=1``), so the two servers' launchers
collide on nearly every token: the worst case, on purpose. The pipeline appends ``start`` and
``done`` lines to its launcher's marker file; the figures are printed (``-s`` shows them).

The size is CI's (24 tokens, 4 launchers, 2 servers) unless ``LRT_TEST_REPLICATED`` says
``TOKENS,LAUNCHERS,SERVERS`` (the closing note's full size: ``300,9,3``); the launchers are
spread over the servers in turn, and every server replicates to every other.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Counter, Dict, List, Tuple

from grid_lrt.launcher.session import TokenLostError, TokenSession
from grid_lrt.shared.pool import Claim, CouchTokenPool
from grid_lrt.shared.pool.replicas import leaves
from grid_lrt.shared.schema import TokenState
from tests.support.launcher_kit import (
    launcher_env,
    make_sandbox,
    save_tokens,
    start_launcher,
    token_doc,
)
from tests.support.replicated import Replicas, replicated_servers, rival_claims

TYPE = "repl"


def _size() -> Tuple[int, int, int]:
    text = os.environ.get("LRT_TEST_REPLICATED", "24,4,2")
    tokens, launchers, servers = (int(part) for part in text.split(","))
    assert tokens > 0 and launchers >= servers >= 2, f"LRT_TEST_REPLICATED={text}"
    return tokens, launchers, servers


TOKENS, LAUNCHERS, SERVERS = _size()
#: Seconds between a claim and its confirmation: well above replication's delay between two
#: loaded pouchdb-servers (tens of milliseconds idle, up to about a second under a CI load).
SETTLE = "1"
MASTER = """#!/bin/bash
echo "start $TOKEN" >> "$MARKER"
sleep 0.5
echo "$TOKEN" > "Output/$TOKEN.result"
echo "done $TOKEN" >> "$MARKER"
"""


def _load(replicas: Replicas, tmp: Path) -> Path:
    results = tmp / "results"
    results.mkdir()
    sandbox = make_sandbox(tmp / "sbx.tar.gz", {"master.sh": MASTER, "tokvar.cfg": "_id: $TOKEN\n"})
    CouchTokenPool(replicas.dbs[0]).ensure_views()  # one design document, replicated
    fields = {
        "SBXloc": sandbox.as_uri(),
        "fetch_inputs": False,
        "RESULTS_DIR": results.as_uri() + "/",
    }
    save_tokens(replicas.dbs[0], [token_doc(TYPE, f"t_{i:03d}", **fields) for i in range(TOKENS)])
    replicas.wait(lambda db: CouchTokenPool(db).counts(TYPE)[TokenState.TODO] == TOKENS)
    return results


def _fleet(
    replicas: Replicas, tmp: Path, settle: str
) -> Tuple[Counter[str], Counter[str], List[str]]:
    """The launchers, spread over the servers; (starts per token, completions per token,
    their logs)."""
    procs: List[Tuple[subprocess.Popen[str], Path]] = []
    for number in range(LAUNCHERS):
        server = replicas.servers[number % len(replicas.servers)]
        work = tmp / f"launcher{number}"
        env = launcher_env(
            server, replicas.name, work, LRT_CLAIM_SETTLE=settle, LRT_CLAIM_WINDOW="1",
            LRT_STORAGE="builtin", LRT_LINGER="0", LRT_HEARTBEAT="0.5", LRT_LEASE="6",
        )  # fmt: skip
        procs.append((start_launcher(env, TYPE), work / "marker.txt"))
    logs = []
    for proc, _marker in procs:
        _out, err = proc.communicate(timeout=240 + 2 * TOKENS)
        assert proc.returncode == 0, err[-3000:]
        logs.append(err)
    starts: Counter[str] = collections.Counter()
    done: Counter[str] = collections.Counter()
    for _proc, marker in procs:
        for line in marker.read_text().splitlines() if marker.exists() else []:
            kind, token = line.split()
            (starts if kind == "start" else done)[token] += 1
    return starts, done, logs


def _completions(logs: List[str]) -> Counter[str]:
    """Per token, the runs that got past the results commit (and its check) and closed it:
    the launcher logs ``token <id>: done`` only then."""
    found: Counter[str] = collections.Counter()
    for log in logs:
        found.update(re.findall(r"token (t_\d+): done$", log, flags=re.M))
    return found


def _settled(replicas: Replicas) -> Dict[str, int]:
    """Once replication has caught up: the token states (the same on both servers)."""

    def agree(db: object) -> bool:
        counts = [CouchTokenPool(d).counts(TYPE) for d in replicas.dbs]
        return all(c == counts[0] for c in counts)

    replicas.wait(agree, timeout=30)
    return {s.value: n for s, n in CouchTokenPool(replicas.dbs[0]).counts(TYPE).items()}


def test_confirmed_claims_complete_every_token_once(tmp_path: Path) -> None:
    with replicated_servers(tmp_path / "servers", SERVERS, name="claims") as replicas:
        results = _load(replicas, tmp_path)
        started = time.monotonic()
        starts, ends, logs = _fleet(replicas, tmp_path, settle=SETTLE)
        took = time.monotonic() - started
        counts = _settled(replicas)
        completed = _completions(logs)  # runs that committed their results and closed
        twice = sorted(t for t, n in starts.items() if n > 1)
        ran_twice = sum(1 for n in ends.values() if n > 1)
        backed_off = sum(log.count("backing off") for log in logs)
        print(f"\nreplicated claims: {TOKENS} tokens, {LAUNCHERS} launchers on {SERVERS} servers, "
              f"settle {SETTLE} s, "
              f"{took:.0f} s: completed twice {sum(1 for n in completed.values() if n > 1)}, "
              f"results committed twice {sum(1 for n in completed.values() if n > 1)}, "
              f"pipelines started twice {len(twice)} (ran to the end twice {ran_twice}), "
              f"claims backed off {backed_off}")  # fmt: skip
        assert counts["done"] == TOKENS, counts
        assert sorted(completed) == [f"t_{i:03d}" for i in range(TOKENS)]
        assert all(n == 1 for n in completed.values()), completed  # completed, committed once
        assert sorted(p.name for p in results.iterdir()) == sorted(
            f"t_{i:03d}.result" for i in range(TOKENS)
        )
        # The bound the README states: a second pipeline starts only for a rival claim that
        # replication delivers later than the settle time; with every launcher on the first
        # row, measured 0-1 of 24 here and 15-32 of 300 with 9 launchers on 3 servers beside
        # a 10^6-token run on 2 cores.
        assert len(twice) <= TOKENS // 5
        for db in replicas.dbs:  # no conflict revision left behind on either copy
            left = [t for t in completed if db.get(t, conflicts=True).get("_conflicts")]
            assert left == []


def test_without_confirmation_two_servers_run_one_token_twice(tmp_path: Path) -> None:
    """What the confirmation prevents: each server says yes to its own launcher."""
    with replicated_servers(tmp_path / "servers", SERVERS, name="claims") as replicas:
        _load(replicas, tmp_path)
        started = time.monotonic()
        starts, done, _logs = _fleet(replicas, tmp_path, settle="0")
        took = time.monotonic() - started
        twice = sum(1 for n in done.values() if n > 1)
        print(f"\nreplicated claims without confirmation: {TOKENS} tokens, {LAUNCHERS} launchers "
              f"on {SERVERS} servers, settle 0, {took:.0f} s: completed twice {twice}, "
              f"pipelines started twice {sum(1 for n in starts.values() if n > 1)}")  # fmt: skip
        assert twice > 0


def test_two_rivals_recording_their_commit_at_once_move_results_once(tmp_path: Path) -> None:
    """Both claims passed every check before replication met them (the worst case): both
    record their results commit, then, a settle time later, exactly one may move results."""
    with replicated_servers(tmp_path / "servers", name="claims") as replicas:
        a = replicas.dbs[0]
        a.save(token_doc(TYPE, "t_x"))
        replicas.wait(lambda db: "t_x" in db)
        owners = ("a" * 32, "b" * 32)
        attempt = rival_claims(replicas, "t_x", owners, now=time.time())
        sessions = []
        for db, owner in zip(replicas.dbs, owners):
            (doc,) = [leaf for leaf in leaves(db, "t_x") if leaf["owner"] == owner]
            claim = Claim(doc, attempt, owner)
            sessions.append(TokenSession(CouchTokenPool(db), claim, lease=60, settle=1.0))
        outcomes: Dict[str, str] = {}

        def commit(session: TokenSession) -> None:
            try:
                session.record_commit([f"file:///results/t_x.{session.owner[0]}"])
                outcomes[session.owner[0]] = "moves"
            except TokenLostError:
                outcomes[session.owner[0]] = "backs off"

        threads = [threading.Thread(target=commit, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes.values()) == ["backs off", "moves"], outcomes
        assert outcomes["a"] == "moves"  # the same commit and attempt: the smaller nonce
