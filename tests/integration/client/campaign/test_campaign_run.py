"""`lrt campaign run` on the packaged two-step sample with the local backend, on the real
CouchDB-compatible server (issue 12, "Chained pipeline steps"): the calibrator's tokens run,
the target's tokens are released per subband group with the calibrator's Results_location,
every result matches its input, and a second run makes nothing new and ends the same way."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import unquote, urlsplit

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.submit.ledger import Ledger
from grid_lrt.shared.schema import TokenState
from tests.integration.client.conftest import CliEnv
from tests.support.pilots import stop_local_pilots
from tests.support.zipapp_kit import worker_python

CAL, TARGET = "L654321_cal", "L654321_target"


@pytest.fixture(scope="module")
def python39() -> str:
    """The worker floor's Python, found before ``cli_env`` moves HOME (pyenv lives there)."""
    return worker_python()


@pytest.fixture
def sample(cli_env: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LRT_HEARTBEAT", "1")
    monkeypatch.setenv("LRT_LEASE", "15")
    monkeypatch.setenv("LRT_OUTAGE", "10")  # a pilot outliving the test's database ends soon
    folder = tmp_path / "sample"
    assert main(["campaign", "sample", str(folder)]) == 0
    yield folder / "campaign.yaml"
    stop_local_pilots(cli_env.pool)


def _path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


def _member(url: str, name: str) -> str:
    with tarfile.open(_path(url)) as tar:
        found = tar.extractfile(name)
        assert found is not None
        return found.read().decode()


def _input_sha(folder: Path, subband: int) -> str:
    """The sha256 of the visibilities in the archive's tarball of ``subband``."""
    (tarball,) = (folder / "archive").rglob(f"L654321_SB{subband:03d}_*.tar")
    with tarfile.open(tarball) as tar:
        (member,) = [m for m in tar.getmembers() if m.name.endswith("table.dat")]
        data = tar.extractfile(member)
        assert data is not None
        return hashlib.sha256(data.read()).hexdigest()


def _run(capsys: pytest.CaptureFixture[str], sample: Path, python: str, *extra: str) -> Any:
    code = main(
        [
            "campaign",
            "run",
            str(sample),
            "--timeout",
            "240",
            "--interval",
            "1",
            "--worker-python",
            python,
            "--json",
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def _docs(env: CliEnv, t_type: str) -> Dict[str, Dict[str, Any]]:
    return {d["_id"]: d for d in env.pool.docs(env.pool.ids(t_type))}


def test_the_sample_campaign_runs_to_the_end_twice(
    python39: str, cli_env: CliEnv, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, final, err = _run(capsys, sample, python39)
    assert code == 0, err
    assert "cal: 2 tokens created" in err and "target: 4 tokens created" in err
    assert "submitted" in err and "target: released" in err
    assert [(s["step"], s["counts"]["done"], s["ended"]) for s in final] == [
        ("cal", 2, True),
        ("target", 4, True),
    ]
    folder = sample.parent
    cal = _docs(cli_env, CAL)
    target = _docs(cli_env, TARGET)
    assert len(cal) == 2 and len(target) == 4

    # every calibrator result: one solution per subband of its inputs
    by_subband: Dict[int, str] = {}
    for doc in cal.values():
        assert doc["output"] == 0 and doc["held"] == ""
        location = doc["Results_location"]
        assert location.startswith("file://") and location.endswith(f"{doc['_id']}.tar")
        lines = _member(location, "solutions.txt").split("\n")
        solutions = dict(line.split() for line in lines if line)
        subbands = doc["campaign"]["subbands"]
        assert solutions == {f"SB{n:03d}": _input_sha(folder, n) for n in subbands}
        by_subband.update(dict.fromkeys(subbands, location))

    # every target token: released with the calibrator's result of its subbands, applied
    for doc in target.values():
        subbands: List[int] = doc["campaign"]["subbands"]
        assert doc["after_results"] == {"cal": [by_subband[subbands[0]]]}
        assert {by_subband[n] for n in subbands} == {by_subband[subbands[0]]}
        assert doc["output"] == 0 and doc["held"] == ""
        for n in subbands:
            text = _member(doc["Results_location"], f"L654321_SB{n:03d}.corrected.txt")
            sha = _input_sha(folder, n)
            assert text == f"SB{n:03d} input={sha} solution={sha}\n"

    # the second run: nothing created, nothing submitted, the same end
    revisions = {i: d["_rev"] for i, d in {**cal, **target}.items()}
    jobs = len(Ledger(cli_env.pool).records())
    submissions = sorted(p.name for p in sample.parent.rglob("submissions/*"))
    code, again, err = _run(capsys, sample, python39)
    assert code == 0, err
    assert again == final
    assert "cal: 0 tokens created, 2 already existed" in err
    assert "target: 0 tokens created, 4 already existed" in err
    assert "submitted" not in err and "released" not in err
    now = {**_docs(cli_env, CAL), **_docs(cli_env, TARGET)}
    assert {i: d["_rev"] for i, d in now.items()} == revisions
    assert len(Ledger(cli_env.pool).records()) == jobs
    assert sorted(p.name for p in sample.parent.rglob("submissions/*")) == submissions

    # lrt campaign status: every step, counts per state
    assert main(["campaign", "status", str(sample)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["step", "type", "after", *(s.value for s in TokenState), "total"]
    assert table[2].split() == ["cal", CAL, "-", "0", "0", "0", "2", "0", "2"]
    assert table[3].split() == ["target", TARGET, "cal", "0", "0", "0", "4", "0", "4"]


def test_a_failed_calibrator_group_keeps_its_targets_held(
    python39: str, cli_env: CliEnv, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (gone,) = (sample.parent / "archive").rglob("L654321_SB005_*.tar")
    gone.unlink()  # the calibrator token of SB004-007 cannot fetch it
    code, final, err = _run(capsys, sample, python39)
    assert code == 1, err
    assert "ended with failed or blocked tokens" in err
    cal, target = final
    assert cal["counts"]["done"] == 1 and cal["counts"]["error"] == 1
    assert target["counts"]["done"] == 2 and target["counts"]["waiting"] == 2
    assert sorted(target["blocked"]) == ["L654321 SB004-005", "L654321 SB006-007"]
    assert all(
        "t_L654321_cal_L654321_cal_SB004 ended in error (" in why
        for why in target["blocked"].values()
    )
    held = [d for d in _docs(cli_env, TARGET).values() if d["held"]]
    assert len(held) == 2 and all(d["held"] == "after:cal" for d in held)
    assert all(d["launcher_status"].startswith("waiting for cal: ") for d in held)
    assert all("after_results" not in d for d in held)

    assert main(["campaign", "status", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "L654321 SB004-005  blocked  waiting for cal: " in out
