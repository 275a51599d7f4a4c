"""`lrt demo`, the README's main-job command, runs end to end on its embedded default."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from grid_lrt.client.cli.main import main
from tests.support.pouchdb import ensure_pouchdb_installed


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ensure_pouchdb_installed()
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "51 SURLs of L229507 at sara" in text
    assert "6 created" in text and "again: 0 created, 6 already existed" in text
    assert "1 reset" in text
    assert "launchers exited with [0, 0]" in text
    assert "t_L229507_demo_L229507_SB120  error       21  Download fails" in text
    assert "done          6" in text
    summaries = sorted(p.name for p in (out / "results").iterdir())
    assert summaries == [f"L229507_SB{n}.summary.txt" for n in range(100, 160, 10)]
    assert (out / "results" / "L229507_SB150.summary.txt").read_text().count("bytes") == 1
    with tarfile.open(out / "tokens_L229507_demo.tar.gz") as tar:
        dumps = [n for n in tar.getnames() if n.endswith(".dump")]
        attachments = [n for n in tar.getnames() if n.endswith("_attachment_srm.txt")]
    assert len(dumps) == 6 and len(attachments) == 6


def test_the_demo_twice_in_a_row_ends_done_both_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9: the second run met the first run's results (code 33 for every token)."""
    ensure_pouchdb_installed()
    out = tmp_path / "out"
    for run in (1, 2):
        assert main(["demo", "--out", str(out)]) == 0
        text = capsys.readouterr().out
        final = text.rsplit("put the input back", 1)[1]
        assert "done          6" in final and "error         0" in final, (run, final)
        assert " 33 " not in text, run
