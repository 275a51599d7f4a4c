"""Claims on two servers that replicate to each other (issue 13, "cluster-safe claims"): both
locks of one token are accepted, one per server, and meet as a conflict; every claimant then
reaches the same verdict, whatever it wrote since, and the losing leaves are deleted on every
copy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.lease import Worker, apply_claim
from grid_lrt.shared.pool.replicas import leaves, rank, verdict
from grid_lrt.shared.schema import new_token
from tests.support.replicated import Replicas, replicated_servers, rival_claims

WORKER = Worker("node")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Replicas]:
    with replicated_servers(tmp_path) as replicas:
        yield replicas


def _both_claim(replicas: Replicas) -> Tuple[Tuple[int, str], Tuple[int, str]]:
    """The same todo revision locked on each server: two accepted claims."""
    a = replicas.dbs[0]
    a.save(new_token("t", "t_1"))
    replicas.wait(lambda db: "t_1" in db)
    owners = ("a" * 32, "b" * 32)
    attempt = rival_claims(replicas, "t_1", owners, now=time.time())
    return (attempt, owners[0]), (attempt, owners[1])


def _settled(replicas: Replicas) -> None:
    replicas.wait(lambda db: not db.get("t_1", conflicts=True).get("_conflicts"))


def test_both_claimants_agree_and_the_loser_leaf_is_deleted_everywhere(pair: Replicas) -> None:
    (attempt, a_owner), (_, b_owner) = _both_claim(pair)
    a, b = pair.dbs
    assert len(leaves(a, "t_1")) == 2
    lost = verdict(b, "t_1", attempt, b_owner)  # b asks first: it ranks second ("a" < "b")
    won = verdict(a, "t_1", attempt, a_owner)
    assert not lost.ours and lost.conflicts == 1 and lost.reason == "a rival claim ranks first"
    assert won.ours and won.conflicts in (0, 1)  # b's own deletion may have arrived already
    _settled(pair)
    for db in pair.dbs:
        assert db.get("t_1")["owner"] == a_owner and len(leaves(db, "t_1")) == 1
    assert verdict(b, "t_1", attempt, a_owner).ours  # no conflict any more: a still holds it


def test_a_heartbeat_of_the_loser_does_not_turn_the_verdict(pair: Replicas) -> None:
    """CouchDB picks the longer branch as its winner: b's extra write makes b's leaf win
    there, yet the rank (attempt, then owner) still gives the token to a."""
    (attempt, a_owner), (_, b_owner) = _both_claim(pair)
    a, b = pair.dbs
    mine = next(d for d in leaves(b, "t_1") if d["owner"] == b_owner)
    mine["heartbeat"] = time.time()
    b.save(mine)  # a heartbeat on b's branch: now the longer one
    pair.wait(lambda db: db.get("t_1")["owner"] == b_owner)  # CouchDB's winner is b's
    assert not verdict(b, "t_1", attempt, b_owner).ours
    assert verdict(a, "t_1", attempt, a_owner).ours
    _settled(pair)
    assert all(db.get("t_1")["owner"] == a_owner for db in pair.dbs)


def test_a_later_attempt_outranks_an_earlier_one_and_a_recorded_commit_a_nonce() -> None:
    assert rank({"attempt": 3, "owner": "z"}) < rank({"attempt": 2, "owner": "a"})
    assert rank({"attempt": 2, "owner": "a"}) < rank({"attempt": 2, "owner": "b"})
    assert rank({"attempt": 2, "owner": "b"}) < rank({"attempt": 2})  # a reset: no owner
    committed = {"attempt": 2, "owner": "z", "results_commit": {"attempt": 2, "urls": []}}
    assert rank(committed) < rank({"attempt": 2, "owner": "a"})  # it must not commit twice
    stale = {"attempt": 2, "owner": "z", "results_commit": {"attempt": 1, "urls": []}}
    assert rank(stale) > rank({"attempt": 2, "owner": "a"})  # an earlier attempt's commit


def test_without_conflicts_the_stored_claim_decides(pair: Replicas) -> None:
    a: CouchDB = pair.dbs[0]
    doc = new_token("t", "t_2")
    attempt = apply_claim(doc, now=time.time(), lease=60, worker=WORKER, owner="c" * 32)
    a.save(doc)
    assert verdict(a, "t_2", attempt, "c" * 32).ours
    refused = verdict(a, "t_2", attempt, "d" * 32)
    assert not refused.ours and refused.reason == "the token holds another claim now"
    assert verdict(a, "t_none", 1, "c" * 32).reason == "the token was deleted"
