"""Token ids of types that differ in non-ASCII letters no longer collide (issue 9, finding 14).

``make_token_id`` keeps the GRID_LRT id ``t_<type>_<append>`` for ASCII text (the ids existing
pools hold); when a non-ASCII character had to be replaced, a short hash of the original is
appended, so ``acc_tÿpe`` and ``acc_töpe`` no longer share ``t_acc_t_pe_...``. The collisions
that remain (ASCII: ``a b``/``a/b``) are refused at creation
(tests/integration/client/compat/test_bad_input.py).
"""

from __future__ import annotations

import itertools
import re

import pytest

from grid_lrt.client.tokendocs import chunk_tokens
from grid_lrt.shared.schema import make_token_id

SAFE_ID = re.compile(r"[A-Za-z0-9_.:@+-]+")


@pytest.mark.parametrize(
    ("t_type", "append", "expected"),
    [
        ("L229507_pref_cal1", "L229507_SB000", "t_L229507_pref_cal1_L229507_SB000"),
        ("demo", "", "t_demo_"),
        ("a.b:c@d+e-f", "x", "t_a.b:c@d+e-f_x"),
        ("a b", "c/d", "t_a_b_c_d"),  # ASCII: GRID_LRT's id, as existing pools hold it
    ],
)
def test_safe_ids_are_unchanged(t_type: str, append: str, expected: str) -> None:
    assert make_token_id(t_type, append) == expected


def test_types_that_differ_only_in_non_ascii_letters_get_different_ids() -> None:
    types = ["acc_tÿpe", "acc_töpe", "acc_t_pe", "acc_tépe", "acc_t😀pe", "acc_t\udcffpe"]
    ids = [make_token_id(t, "L1_SB000") for t in types]
    assert len(set(ids)) == len(ids), ids
    assert all(SAFE_ID.fullmatch(i) for i in ids)
    assert ids[2] == "t_acc_t_pe_L1_SB000", "the safe one keeps its GRID_LRT id"
    assert all(i.startswith("t_acc_t_pe_L1_SB000") for i in ids), "still readable"


def test_ids_are_stable() -> None:
    assert make_token_id("acc_tÿpe", "x") == make_token_id("acc_tÿpe", "x")


def test_chunk_tokens_of_two_such_types_share_no_id() -> None:
    chunks = {0: ["srm://a"], 10: ["srm://b"]}
    docs = [chunk_tokens(t, chunks, {}, id_append="L1") for t in ("acc_tÿpe", "acc_töpe")]
    ids = [d["_id"] for d in itertools.chain(*docs)]
    assert len(set(ids)) == 4
