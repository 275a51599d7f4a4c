"""``lrt report --help``: what it makes, with an example."""

from __future__ import annotations

import pytest

from grid_lrt.client.cli.main import main


def test_help_explains_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="0"):
        main(["report", "--help"])
    out = capsys.readouterr().out
    assert "self-contained HTML" in out
    assert "lrt report L229507_pref_cal1 -o cal1.html" in out


def test_output_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="2"):
        main(["report", "cal"])
    assert "-o/--output" in capsys.readouterr().err


def test_listed_in_lrt_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="0"):
        main(["--help"])
    assert "report" in capsys.readouterr().out
