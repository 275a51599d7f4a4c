"""Claims that stay exclusive when the database has several writable copies.

On one CouchDB node a 409 is a mutex: of two writes on one revision, one is refused. On a
CouchDB 3 cluster, or on servers replicating to each other, both can be accepted, one per
copy; replication then leaves the document with two *leaves* (``_conflicts``), and two
launchers each hold a 201 for the same token. So a claim is confirmed after it lands:

1. wait ``settle`` seconds for replication to bring in a rival write;
2. read the token with ``conflicts=true``; without conflict revisions the winner's
   document must still be our claim (``lease.owns``);
3. with conflict revisions, read every leaf and keep the claim that ranks first: the
   highest ``attempt``, then one that has recorded its results commit, then the smallest
   ``owner`` nonce. Every claimant reaches the same
   verdict from the same leaves, whatever it wrote since: CouchDB's own pick of a winning
   revision favours the longer branch, so a loser's heartbeat could turn it around, this
   rank cannot;
4. the winner deletes the other leaves (they replicate as deletions, so every copy agrees
   and the conflict is gone); a loser backs off without writing to its branch again, and
   deletes its own leaf as well, in case the winner is gone.

The launcher confirms after each claim (before the pipeline starts), at each heartbeat,
before it records its results commit and, a settle time after recording it, before it moves
the results into place: of two rivals that both got that far, the one ranking first moves
them, and a rival that looks later finds a recorded commit ranking first; so one result is
committed unless replication lags by more than the settle time plus the whole run.
:func:`verdict` is the one place that decides.
"""

from __future__ import annotations

import logging
from typing import Any, List, Mapping, Tuple

from grid_lrt.shared.couch import CouchDB, Document, DocumentNotFoundError
from grid_lrt.shared.couch_paths import doc_path
from grid_lrt.shared.lease import owns

from .base import ClaimVerdict

__all__ = ["ClaimVerdict", "leaves", "rank", "verdict"]

log = logging.getLogger(__name__)


def rank(doc: Mapping[str, Any]) -> Tuple[int, int, str]:
    """Sort key of a leaf: the first one wins. The highest attempt; then a claim that has
    recorded its results commit (``results_commit`` of its attempt: a rival that comes to
    look later must not commit a second time); then the smallest owner nonce. A leaf
    without an owner (e.g. a reset) ranks after every claim of its attempt."""
    attempt = doc.get("attempt")
    number = 0
    if isinstance(attempt, (int, float)) and not isinstance(attempt, bool):
        number = int(attempt)
    commit = doc.get("results_commit")
    committed = isinstance(commit, Mapping) and commit.get("attempt") == number and number > 0
    owner = doc.get("owner")
    return (-number, 0 if committed else 1, owner if isinstance(owner, str) and owner else "\uffff")


def leaves(db: CouchDB, token_id: str) -> List[Document]:
    """Every live leaf revision of the token (``open_revs=all``; deleted leaves left out)."""
    answer = db.request(
        "GET",
        doc_path(token_id),
        params={"open_revs": "all"},
        headers={"Accept": "application/json"},
        doc_id=token_id,
    ).json()
    found = []
    for item in answer if isinstance(answer, list) else []:
        doc = item.get("ok") if isinstance(item, dict) else None
        if isinstance(doc, dict) and not doc.get("_deleted"):
            found.append(Document(doc))
    return found


def _delete_leaves(db: CouchDB, token_id: str, revs: List[str]) -> List[str]:
    """Delete the leaf revisions ``revs``; those the server took (others: gone already)."""
    if not revs:
        return []
    answers = db.bulk_docs([{"_id": token_id, "_rev": rev, "_deleted": True} for rev in revs])
    return [
        rev for rev, answer in zip(revs, answers) if isinstance(answer, dict) and answer.get("ok")
    ]


def verdict(db: CouchDB, token_id: str, attempt: int, owner: str) -> ClaimVerdict:
    """Is the claim ``(attempt, owner)`` of ``token_id`` the one that holds? (Deletes the
    losing leaves of a conflict: the others' when it is ours, our own when it is not.)

    Raises:
        CouchError: the server did not answer (the caller's patience decides what then).
    """
    try:
        current = db.get(token_id, conflicts=True)
    except DocumentNotFoundError:
        return ClaimVerdict(False, reason="the token was deleted")
    rivals = [str(rev) for rev in current.get("_conflicts") or []]
    if not rivals:
        if owns(current, attempt, owner):
            return ClaimVerdict(True)
        return ClaimVerdict(False, reason="the token holds another claim now")
    found = leaves(db, token_id)
    mine = [doc for doc in found if owns(doc, attempt, owner)]
    if not mine:
        return ClaimVerdict(False, len(rivals), reason="our revision is gone")
    best = min(found, key=rank)
    if owns(best, attempt, owner):
        others = [str(doc["_rev"]) for doc in found if not owns(doc, attempt, owner)]
        deleted = _delete_leaves(db, token_id, others)
        log.warning(
            "token %s: %d conflicting claim revision(s) from other copies of the database; "
            "this claim ranks first and keeps it (%d deleted)",
            token_id,
            len(rivals),
            len(deleted),
        )
        return ClaimVerdict(True, len(rivals), deleted)
    deleted = _delete_leaves(db, token_id, [str(doc["_rev"]) for doc in mine])
    log.warning(
        "token %s: another launcher claimed it on another copy of the database and ranks "
        "first (attempt %s); backing off",
        token_id,
        best.get("attempt"),
    )
    return ClaimVerdict(False, len(rivals), deleted, reason="a rival claim ranks first")
