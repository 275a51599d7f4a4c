"""The token schema: defaults, state function, transitions, id convention."""

from __future__ import annotations

import pytest

from grid_lrt.shared.schema import (
    DEFAULTS,
    TRANSITIONS,
    IllegalTransitionError,
    TokenState,
    check_transition,
    make_token_id,
    new_token,
    reset_fields,
    reset_for_retry,
    state_of,
)


def test_new_token_has_every_schema_field() -> None:
    doc = new_token("obs1", "t_obs1_a")
    for name in (
        "_id",
        "type",
        "lock",
        "done",
        "hostname",
        "scrub_count",
        "output",
        "status",
        "times",
        "progress",
        "launcher_status",
        "Results_location",
    ):
        assert name in doc
    assert doc["lock"] == 0 and doc["done"] == 0 and doc["output"] == ""
    assert state_of(doc) is TokenState.TODO


def test_user_keys_are_never_overwritten_by_defaults() -> None:
    doc = new_token("obs1", "t_obs1_a", {"status": "queued", "output": 0, "OBSID": "L1"})
    assert doc["status"] == "queued" and doc["output"] == 0 and doc["OBSID"] == "L1"


def test_id_and_type_come_from_arguments() -> None:
    doc = new_token("obs1", "t_obs1_a", {"_id": "evil", "type": "other"})
    assert doc["_id"] == "t_obs1_a" and doc["type"] == "obs1"


def test_defaults_are_not_shared_between_tokens() -> None:
    a, b = new_token("t", "a"), new_token("t", "b")
    a["times"]["x"] = 1
    assert b["times"] == {} and DEFAULTS["times"] == {}


def test_id_convention() -> None:
    assert make_token_id("jupyter_demo_x", "manual") == "t_jupyter_demo_x_manual"
    assert make_token_id("a b", "c/d") == "t_a_b_c_d"


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({}, TokenState.TODO),
        ({"lock": 1700000000}, TokenState.LOCKED),
        ({"lock": 1, "done": 1700000001, "output": 0}, TokenState.DONE),
        ({"lock": 1, "done": 1700000001, "output": ""}, TokenState.DONE),
        ({"lock": 1, "done": 1700000001, "output": 22}, TokenState.ERROR),
        ({"lock": 1, "done": 1700000001, "output": "22"}, TokenState.ERROR),
        ({"lock": 1, "done": 1700000001, "output": -2}, TokenState.ERROR),
        ({"lock": 1, "done": 1700000001, "output": 0, "status": "error"}, TokenState.ERROR),
        ({"held": "staging"}, TokenState.WAITING),
        ({"held": True}, TokenState.WAITING),
        ({"held": ""}, TokenState.TODO),
        ({"held": False}, TokenState.TODO),
        ({"held": "staging", "lock": 5}, TokenState.LOCKED),
        ({"lock": "0", "done": "0"}, TokenState.TODO),
        ({"lock": "abc"}, TokenState.TODO),
        ({"lock": True}, TokenState.TODO),
        ({"lock": 99, "done": 99}, TokenState.DONE),
    ],
)
def test_state_of(fields: dict, state: TokenState) -> None:
    assert state_of(new_token("t", "x", fields)) is state


def test_transitions_are_checked() -> None:
    check_transition(TokenState.TODO, TokenState.LOCKED)
    check_transition(TokenState.WAITING, TokenState.TODO)
    with pytest.raises(IllegalTransitionError, match="'done' cannot move to 'locked'"):
        check_transition(TokenState.DONE, TokenState.LOCKED)
    assert all(TokenState.TODO in TRANSITIONS[s] for s in (TokenState.DONE, TokenState.ERROR))


def test_reset_clears_run_fields_and_counts_scrubs() -> None:
    doc = new_token(
        "t", "x", {"lock": 5, "done": 6, "output": 21, "hostname": "wn1", "OBSID": "L1"}
    )
    doc["_attachments"] = {"logs_out": {}}
    assert reset_for_retry(doc, drop_attachments=True)
    assert state_of(doc) is TokenState.TODO
    assert doc["scrub_count"] == 1 and doc["hostname"] == "" and doc["OBSID"] == "L1"
    assert "_attachments" not in doc
    reset_fields(doc)
    assert doc["scrub_count"] == 2


def test_reset_leaves_todo_and_held_tokens_alone() -> None:
    todo, held = new_token("t", "a"), new_token("t", "b", {"held": "staging"})
    assert not reset_for_retry(todo) and not reset_for_retry(held)
    assert todo["scrub_count"] == 0 and held["scrub_count"] == 0


def test_nested_user_fields_are_not_shared_between_tokens() -> None:
    fields = {"upload": {"gzip": True}, "tags": ["a"]}
    a, b = new_token("t", "a", fields), new_token("t", "b", fields)
    a["upload"]["gzip"] = False
    a["tags"].append("b")
    assert b["upload"] == {"gzip": True} and b["tags"] == ["a"] and fields["tags"] == ["a"]
