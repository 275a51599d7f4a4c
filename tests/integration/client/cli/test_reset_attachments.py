"""``lrt tokens reset --del-attach`` and ``TokenHandler.reset_tokens(del_attach=True)`` (issue 9,
finding 13): only the launcher's logs and plots go; ``srm.txt``, parsets and other inputs stay
(a token without its ``srm.txt`` fails with code 20), and the command says what it dropped."""

from __future__ import annotations

from typing import List

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.token import TokenHandler
from grid_lrt.shared.schema import inline_attachment, new_token
from tests.integration.client.conftest import CliEnv

INPUTS = ["srm.txt", "x.parset", "notes.md"]
RUN_OUTPUTS = [
    "attempt1_stdout.log",
    "attempt1_stderr.log",
    "attempt2_stdout.log",
    "Output_plot.png",
    "Output_img.FITS",
]


def add_failed(env: CliEnv, *ids: str) -> None:
    docs = []
    for token_id in ids:
        doc = new_token("rst", token_id, {"lock": 1, "done": 2, "output": 99})
        doc["_attachments"] = {
            name: inline_attachment(name.encode(), "text/plain") for name in INPUTS + RUN_OUTPUTS
        }
        docs.append(doc)
    assert env.pool.create(docs).ok


def attachments(env: CliEnv, token_id: str) -> List[str]:
    return sorted(env.db[token_id].get("_attachments", {}))


def test_reset_del_attach_drops_only_logs_and_plots(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    add_failed(cli_env, "t_a", "t_b")
    assert main(["tokens", "reset", "rst", "error", "--del-attach", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "2 reset" in out and "dropped 10 attachments" in out
    assert "attempt1_stdout.log 2" in out and "Output_plot.png 2" in out
    for token_id in ("t_a", "t_b"):
        assert attachments(cli_env, token_id) == sorted(INPUTS)
        assert cli_env.db.get_attachment(token_id, "srm.txt") == b"srm.txt"


def test_reset_without_del_attach_keeps_everything(
    cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    add_failed(cli_env, "t_a")
    assert main(["tokens", "reset", "rst", "error", "--yes"]) == 0
    assert "dropped" not in capsys.readouterr().out
    assert attachments(cli_env, "t_a") == sorted(INPUTS + RUN_OUTPUTS)


def test_tokenhandler_reset_tokens_uses_the_same_rule(cli_env: CliEnv) -> None:
    add_failed(cli_env, "t_a")
    result = TokenHandler("rst").reset_tokens("error", del_attach=True)
    assert result.changed == ["t_a"]
    assert attachments(cli_env, "t_a") == sorted(INPUTS)
