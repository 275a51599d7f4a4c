"""User mistakes through GRID_LRT's API get messages that name the problem (issue 9, finding 14):
colliding ids of two token types, a NaN field, a missing attachment."""

from __future__ import annotations

import math

import pytest

from grid_lrt.client.token import TokenHandler
from grid_lrt.client.tokendocs import create_tokens
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.schema import new_token
from tests.integration.client.conftest import CliEnv


def test_types_differing_in_non_ascii_letters_do_not_share_tokens(cli_env: CliEnv) -> None:
    first = TokenHandler("acc_tÿpe").create_token(append="L1_SB000")
    second = TokenHandler("acc_töpe").create_token(append="L1_SB000")
    assert first != second
    assert cli_env.db[first]["type"] == "acc_tÿpe" and cli_env.db[second]["type"] == "acc_töpe"


def test_an_id_held_by_a_token_of_another_type_is_an_error(cli_env: CliEnv) -> None:
    assert cli_env.pool.create([new_token("a_b", "t_a_b_x")]).ok
    with pytest.raises(UsageError) as info:
        create_tokens(cli_env.pool, [new_token("a", "t_a_b_x"), new_token("a", "t_a_y")])
    message = str(info.value)
    assert "t_a_b_x" in message and "'a_b'" in message and "another type" in message
    assert cli_env.db["t_a_b_x"]["type"] == "a_b", "left untouched"
    assert "t_a_y" in cli_env.db, "the others were created"


@pytest.mark.parametrize("value", [math.nan, math.inf, [1.0, -math.inf], {"deep": math.nan}])
def test_a_non_finite_field_names_the_field(cli_env: CliEnv, value: object) -> None:
    th = TokenHandler("nan")
    with pytest.raises(UsageError) as info:
        th.create_token(keys={"fine": 1, "bad": value}, append="x")
    message = str(info.value)
    assert "'bad" in message and "not a finite number" in message and "invalid_json" not in message
    assert cli_env.pool.ids("nan") == []


def test_a_missing_attachment_is_not_called_a_missing_document(
    cli_env: CliEnv, tmp_path: object
) -> None:
    th = TokenHandler("att")
    token = th.create_token(append="x", attach=[b"links", "srm.txt"])
    with pytest.raises(UsageError) as info:
        th.get_attachment(token, "nope.txt", savename=str(tmp_path) + "/out")
    message = str(info.value)
    assert f"token {token!r} has no attachment 'nope.txt'" in message and "srm.txt" in message
    with pytest.raises(UsageError, match="token 't_att_missing' does not exist"):
        th.get_attachment("t_att_missing", "srm.txt", savename=str(tmp_path) + "/out")
