"""A campaign whose first step stages its inputs from the LTA (``stage: true``), on the real
CouchDB-compatible server with the StageIT simulator and a tape folder (issue 12, the main
job's flow): the calibrator's tokens stay held until their files are online, then run; the
target step follows; every result matches its input. A request the stager no longer knows
(a restarted service) is asked for again, and a file that fails to stage blocks its token
with the service's reason."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest

from grid_lrt.client.campaign.sample import check_sample
from grid_lrt.client.campaign.spec import load_campaign
from grid_lrt.client.cli.main import main
from grid_lrt.client.devtools.stageit import StageItSimulator
from grid_lrt.client.devtools.tapefolder import TapeFolder
from grid_lrt.client.report.collect import collect
from grid_lrt.shared.schema import TokenState
from tests.integration.client.conftest import CliEnv
from tests.support.pilots import stop_local_pilots
from tests.support.zipapp_kit import worker_python

CAL = "L654321_cal"
TOKEN = "campaign-stageit-token-0c1d"


@pytest.fixture(scope="module")
def python39() -> str:
    return worker_python()


@pytest.fixture
def sample(
    cli_env: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Tuple[Path, TapeFolder]]:
    monkeypatch.setenv("LRT_HEARTBEAT", "1")
    monkeypatch.setenv("LRT_LEASE", "15")
    monkeypatch.setenv("LRT_OUTAGE", "10")
    folder = tmp_path / "sample"
    assert main(["campaign", "sample", str(folder), "--subbands", "16", "--stage"]) == 0
    archive = TapeFolder(folder / "archive")
    monkeypatch.setenv("LRT_DATA_DOOR", archive.door)
    yield folder / "campaign.yaml", archive
    stop_local_pilots(cli_env.pool)


def _simulator(
    env: CliEnv, archive: TapeFolder, monkeypatch: pytest.MonkeyPatch, delay: float = 0.3
) -> StageItSimulator:
    sim = StageItSimulator(token=TOKEN, delay=delay, on_online=archive.make_online).start()
    sim.write_stagingrc(env.home / ".stagingrc")
    for name, value in sim.client_env.items():
        monkeypatch.setenv(name, value)
    return sim


def _run(
    capsys: pytest.CaptureFixture[str], spec: Path, python: str, timeout: str
) -> Tuple[int, Any, str]:
    code = main(
        ["campaign", "run", str(spec), "--timeout", timeout, "--interval", "0.5",
         "--worker-python", python, "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def _run_briefly(spec: Path, python: str) -> int:
    """A campaign run that stops (exit 4) before the stage request can finish."""
    return main(["campaign", "run", str(spec), "--timeout", "0.5", "--interval", "0.2",
                 "--worker-python", python])  # fmt: skip


def _records(spec: Path) -> List[Any]:
    lines = Path.home() / ".config" / "grid-lrt" / "stage-requests.jsonl"  # the user's book
    return [json.loads(line) for line in lines.read_text().splitlines()]


def test_held_until_staged_then_both_steps_run_and_every_result_matches(
    python39: str,
    cli_env: CliEnv,
    sample: Tuple[Path, TapeFolder],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, archive = sample
    sim = _simulator(cli_env, archive, monkeypatch, delay=1.0)  # 3 s until staged
    try:
        # the first run stops before the request finishes: every calibrator token is held
        assert _run_briefly(spec, python39) == 4
        err = capsys.readouterr().err
        assert "cal: stage request " in err and "16 files" in err
        counts = cli_env.pool.counts(CAL)
        assert counts[TokenState.WAITING] + counts[TokenState.TODO] == 4
        docs = list(cli_env.pool.docs(cli_env.pool.ids(CAL, TokenState.WAITING)))
        assert all(d["held"] == "staging" for d in docs)

        code, final, err = _run(capsys, spec, python39, "240")
        assert code == 0, err
        assert [(s["step"], s["counts"]["done"]) for s in final] == [("cal", 4), ("target", 8)]
        assert "tokens released (staged)" in err
        assert len(sim.all_requests()) == 1  # the second run asked for nothing again
        assert [len(r["surls"]) for r in _records(spec)] == [16]
        assert all(archive.is_online(s) for s in _records(spec)[0]["surls"])
        check = check_sample(cli_env.pool, load_campaign(spec))
        assert check.ok and check.checked == 16, check.problems
        for doc in cli_env.pool.docs(cli_env.pool.ids(CAL)):  # how long each waited
            assert 0 < doc["times"]["held"] <= doc["times"]["released"] <= doc["times"]["done"]
        waits = collect(cli_env.pool, CAL, now=time.time()).staging_waits
        assert waits is not None and waits.count == 4 and waits.median >= 1.0  # 3 s to stage
        assert TOKEN not in err
    finally:
        sim.stop()


def test_a_request_the_stager_forgot_is_asked_for_again(
    python39: str,
    cli_env: CliEnv,
    sample: Tuple[Path, TapeFolder],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, archive = sample
    first = _simulator(cli_env, archive, monkeypatch, delay=5.0)
    try:
        assert _run_briefly(spec, python39) == 4
        (request,) = first.all_requests()
        first.hold(request.id)  # it never finishes there
    finally:
        first.stop()
    capsys.readouterr()
    second = _simulator(cli_env, archive, monkeypatch)  # a new service: knows no request
    try:
        code, final, err = _run(capsys, spec, python39, "240")
        assert code == 0, err
        assert f"no longer knows request(s) {request.id}" in err
        assert len(second.all_requests()) == 1
        assert [str(r["id"]) for r in _records(spec)] == [str(second.all_requests()[0].id)]
        assert [(s["step"], s["counts"]["done"]) for s in final] == [("cal", 4), ("target", 8)]
    finally:
        second.stop()


def test_a_file_that_fails_to_stage_blocks_its_token(
    python39: str,
    cli_env: CliEnv,
    sample: Tuple[Path, TapeFolder],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, archive = sample
    links = spec.parent / "srm_L654321.txt"
    links.write_text(links.read_text().replace("_SB005_uv.MS", "_SB005_uv_fail.MS"))
    sim = _simulator(cli_env, archive, monkeypatch)
    try:
        code, final, err = _run(capsys, spec, python39, "240")
    finally:
        sim.stop()
    assert code == 1, err
    cal, target = final
    assert cal["counts"]["done"] == 3 and cal["counts"]["waiting"] == 1
    assert list(cal["blocked"]) == ["L654321 SB004-007"]
    assert "staging failed for 1 file(s)" in cal["blocked"]["L654321 SB004-007"]
    assert target["counts"]["done"] == 6 and target["counts"]["waiting"] == 2
    assert sorted(target["blocked"]) == ["L654321 SB004-005", "L654321 SB006-007"]
    assert all(" is blocked (staging failed" in why for why in target["blocked"].values())
    assert cal["ended"] and target["ended"]
