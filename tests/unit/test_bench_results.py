"""bench/results.py's table from a sample of collected figures (no server, no run), and
bench/million.py's command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(autouse=True)
def bench_on_path() -> Iterator[None]:
    sys.path.insert(0, str(BENCH))
    try:
        yield
    finally:
        sys.path.remove(str(BENCH))


def _round(ours: Dict[str, Any], picas: Dict[str, Any]) -> Dict[str, Any]:
    base = {
        "tokens": 200,
        "double_locked": 0,
        "double_processed": 0,
        "overhead_s_median": 0.02,
        "overhead_s_p95": 0.06,
        "requests_per_token": {"total": 2.2},
    }
    return {"ours": {**base, **ours}, "picas": picas, "ratio_tokens_per_s": 0.9}


SAMPLE: Dict[str, Any] = {
    "quick": True,
    "command": "python bench/results.py --quick",
    "seconds": 600,
    "machine_start": {
        "cpu_model": "Test CPU",
        "cores": 2,
        "memory_gb": 8.0,
        "kernel": "Linux 6",
        "python": "CPython 3.11.7",
        "pouchdb_server": "4.2.0",
        "node": "v20",
        "loadavg": [1.0, 1.5, 2.0],
        "date_utc": "2026-01-01 10:00 UTC",
        "commit": "abc1234",
    },
    "machine_end": {"loadavg": [2.0, 1.5, 1.0], "date_utc": "2026-01-01 10:10 UTC"},
    "picas": None,
    "tokens": {
        "creation_tokens": 2000,
        "creation_attachment_bytes_mean": 1024,
        "creation_ours_s": 0.5,
        "creation_raw_s": 0.4,
        "creation_legacy_subset_tokens": 100,
        "creation_legacy_tokens_per_s": 200.0,
        "overview_tokens": 10000,
        "overview_warm_ms_median_of_5": 150.0,
        "overview_legacy_warm_ms_median_of_5": 300.0,
        "overview_index_build_s": 7.0,
        "overview_legacy_index_build_s": 7.0,
        "types": 2,
        "tokens_per_type": 500,
        "types_dbwide_first_todo_every_type_s": 2.0,
        "types_pertype_first_todo_every_type_s": 4.0,
        "types_pertype_capped": False,
    },
    "launcher": {
        "1": {"skipped": "left out"},
        "16": {
            "rounds": [
                _round(
                    {"tokens_per_s": 30.0, "tokens_per_s_to_last_done": 44.0, "exit_tail_s": 2.5},
                    {
                        "tokens_per_s": 40.0,
                        "claims_of_taken": 12,
                        "double_processed": 11,
                        "overhead_s_median": 0.01,
                        "overhead_s_p95": 0.03,
                        "requests_per_token": {"total": 4.4},
                    },
                ),
            ],
            "ratio_tokens_per_s_median": 0.75,
        },
    },
    "staging": {"skipped": "this Python cannot import gfal2"},
    "million": {
        "tokens": 20000,
        "server": "pouchdb-server 4.2.0, leveldb on disk",
        "phases": {
            "create": {"seconds": 8.0, "peak_mb": 50.0, "growth_mb": 15.0, "server_rss_mb": 200.0}
        },
        "memory": {
            "tokens": 20000,
            "worst_phase": "create",
            "growth_mb": 15.0,
            "peak_mb": 50.0,
            "growth_mb_per_million_linear": 750.0,
            "held_mb_at_n": 60.0,
            "held_mb_per_million": 3000.0,
            "ratio_growth_ours_over_held": 0.25,
        },
    },
    "replicated": {
        "confirmed": {
            "tokens": 24,
            "launchers": 4,
            "servers": 2,
            "settle": 1.0,
            "seconds": 30,
            "completed_twice": 0,
            "started_twice": 0,
            "backed_off": 10,
        },
        "unconfirmed": {
            "tokens": 24,
            "launchers": 4,
            "servers": 2,
            "settle": 0.0,
            "seconds": 20,
            "completed_twice": 6,
            "started_twice": 6,
        },
    },
}


def _rows(text: str) -> Dict[str, list[str]]:
    """The ratio table's rows by the start of their first cell."""
    out = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| measurement"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            out[cells[0]] = cells
    return out


def test_the_sample_becomes_a_markdown_table_of_ratios() -> None:
    from benchlib.results.table import markdown

    text = markdown(SAMPLE)
    assert text.startswith("# Benchmark results\n")
    assert "| measurement | ours | baseline (same run) | ours / baseline | better |" in text
    assert "|---|---|---|---|---|" in text
    rows = _rows(text)
    assert rows["CPU"][1] == "Test CPU"
    assert (
        "start 1.00 / 1.50 / 2.00; end 2.00 / 1.50 / 1.00"
        in rows["load average (1 / 5 / 15 min)"][1]
    )

    def row(start: str) -> list[str]:
        (found,) = [cells for first, cells in rows.items() if first.startswith(start)]
        return found

    creation = row("creation of 2,000 tokens")
    assert creation[1:4] == ["4,000/s (0.50 s)", "5,000/s (0.40 s)", "0.80"]
    assert row("the same, vs GRID_LRT-style")[3] == "20.0"
    assert row("overview counts of 10,000 tokens")[3] == "0.50"
    assert row("2 types x 500 tokens")[3] == "0.50"
    assert row("claim throughput (tokens/s, first lock → last token done), 200 tokens x 16")[
        1:4
    ] == ["44.0", "40.0", "1.10"]
    exits = row("the same, until the last launcher has exited")
    assert exits[1:4] == ["30.0", "40.0", "0.75"]
    assert "launchers exit 2.5 s after the last token" in exits[0]
    assert row("double claims, 16 workers")[1:4] == ["0 / 0", "12 / 11", "0.00 / 0.00"]
    assert (
        row("launcher overhead per token, claim → pipeline start, p50 / p95, 16")[3]
        == "2.00 / 2.00"
    )
    assert row("requests per token, 16 workers")[3] == "0.50"
    assert row("client memory of a pool of 20,000 tokens")[3] == "0.250"
    assert row("replicated setup, 24 tokens")[1:4] == ["0", "6", "0.00"]
    assert row("the same, run time")[3] == "1.50"
    # what was not measured says why, and nothing is left out silently
    assert row("launcher, 1 worker ")[1] == "not measured"
    assert "left out" in row("launcher, 1 worker ")[4]
    assert "gfal2" in row("state check of SURLs")[4]
    assert "## A pool of N tokens (bench/million.py)" in text


def test_a_saved_json_is_formatted_again_without_running_anything(tmp_path: Path) -> None:
    saved = tmp_path / "RESULTS.json"
    saved.write_text(json.dumps(SAMPLE))
    out = tmp_path / "RESULTS.md"
    subprocess.run(
        [sys.executable, str(BENCH / "results.py"), "--from", str(saved), "--output", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert "| ours / baseline |" in out.read_text()


def test_the_replicated_tests_printed_figures_are_parsed() -> None:
    from benchlib.results.runs import parse_replicated

    text = (
        "\nreplicated claims: 24 tokens, 4 launchers on 2 servers, settle 1 s, 31 s: completed "
        "twice 0, pipelines started twice 0, claims backed off 17\n.\n"
        "replicated claims without confirmation: 24 tokens, 4 launchers on 2 servers, settle 0, "
        "19 s: completed twice 7, pipelines started twice 8\n."
    )
    found = parse_replicated(text)
    assert found["confirmed"] == {
        "tokens": 24,
        "launchers": 4,
        "servers": 2,
        "settle": 1.0,
        "seconds": 31,
        "completed_twice": 0,
        "started_twice": 0,
        "backed_off": 17,
    }
    assert found["unconfirmed"]["completed_twice"] == 7
    assert found["unconfirmed"]["started_twice"] == 8


def test_million_help_works() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "million.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--tokens" in done.stdout and "--quick" in done.stdout


def test_million_runs_the_phases_in_the_order_given_create_first() -> None:
    import million

    args = million.parse_args(["--phases", "counts,archive,reset,archive,create"])
    assert args.phases == ["create", "counts", "archive", "reset"]
    assert million.parse_args([]).phases == ["create", *list(million.PHASES)[1:]]


def test_million_gives_the_server_a_larger_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    import million

    assert million.parse_args([]).server_heap_mb >= 8192
    monkeypatch.setenv("NODE_OPTIONS", "--max-old-space-size=512 --trace-warnings")
    assert million.server_node_options(8192) == "--trace-warnings --max-old-space-size=8192"
    with pytest.raises(SystemExit):
        million.parse_args(["--server-heap-mb", "10"])
