"""The backends' command seam (issue 10): what each batch tool is called with and how its
documented answers are read. HTCondor, DIRAC and gLite cannot be reached from here, so their
tools are small scripts on PATH that print what the real ones print; Slurm is tested for real
in tests/integration/batch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import pytest

from grid_lrt.client.submit.backend import JobState, PilotSpec
from grid_lrt.client.submit.condor import CondorBackend
from grid_lrt.client.submit.grid import DiracBackend, GliteBackend
from grid_lrt.client.submit.slurm import SlurmBackend, _expand
from grid_lrt.client.submit.submission import plan_folder
from grid_lrt.client.submit.tools import (
    ToolFailedError,
    ToolMissingError,
    job_environment,
    run_tool,
)


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Dict[str, Path]:
    """A bin/ folder first on PATH; ``make(name, output, code)`` puts a tool there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return {"bin": bin_dir, "calls": tmp_path / "calls.txt"}


def make(tools: Dict[str, Path], name: str, output: str, code: int = 0, err: str = "") -> None:
    script = tools["bin"] / name
    script.write_text(
        "#!/bin/sh\n"
        f'echo "{name} $*" >> {tools["calls"]}\n'
        f"env >> {tools['calls']}.env\n"
        f"cat <<'EOF'\n{output}\nEOF\n" + (f"echo '{err}' >&2\n" if err else "") + f"exit {code}\n"
    )
    script.chmod(0o755)


def test_condor_submit_and_states(tools: Dict[str, Path], tmp_path: Path) -> None:
    make(tools, "condor_submit", "1234.0 - 1234.3")
    make(tools, "condor_q", "0 2 undefined\n1 1 undefined")
    make(tools, "condor_history", "2 4 0\n3 4 1")
    folder = plan_folder(tmp_path)
    backend = CondorBackend()
    done = backend.submit(PilotSpec(token_type="T", jobs=4), folder, tmp_path / "pilots.sub")
    assert done.job_id == "1234" and done.task_ids == ["1234.0", "1234.1", "1234.2", "1234.3"]
    assert f"condor_submit -terse {tmp_path / 'pilots.sub'}" in tools["calls"].read_text()
    assert backend.states("1234", done.task_ids) == {
        "1234.0": JobState.RUNNING,
        "1234.1": JobState.PENDING,
        "1234.2": JobState.DONE,
        "1234.3": JobState.FAILED,
    }
    assert CondorBackend.task_of("schedd.example.org#1234.2#1700000000") == "1234.2"


def test_dirac_parametric_submit_and_status(tools: Dict[str, Path], tmp_path: Path) -> None:
    make(tools, "dirac-wms-job-submit", "JobID = [101, 102, 103]")
    make(
        tools,
        "dirac-wms-job-status",
        "JobID=101 Status=Running; MinorStatus=Application; Site=LCG.SARA.nl;\n"
        "JobID=102 Status=Done; MinorStatus=Execution Complete; Site=LCG.SARA.nl;\n"
        "JobID=103 Status=Waiting; MinorStatus=Pilot Agent Submission; Site=ANY;",
    )
    backend = DiracBackend()
    done = backend.submit(PilotSpec(token_type="T", jobs=3), plan_folder(tmp_path), tmp_path / "j")
    assert done.task_ids == ["101", "102", "103"]
    assert backend.states(done.job_id, done.task_ids) == {
        "101": JobState.RUNNING,
        "102": JobState.DONE,
        "103": JobState.PENDING,
    }


def test_glite_submit_delegates_and_reads_the_identifier(
    tools: Dict[str, Path], tmp_path: Path
) -> None:
    make(
        tools,
        "glite-wms-job-submit",
        "Connecting to the service https://wms2.grid.sara.nl:7443/glite_wms_wmproxy_server\n"
        "====================== glite-wms-job-submit Success ======================\n"
        "The job has been successfully submitted to the WMProxy\n"
        "Your job identifier is:\n\nhttps://wms2.grid.sara.nl:9000/aBcDeFgHiJkLmNoPqRsTuV\n"
        "==========================================================================",
    )
    make(tools, "glite-wms-job-status", "Current Status:     Running\n")
    backend = GliteBackend()
    done = backend.submit(PilotSpec(token_type="T", jobs=5), plan_folder(tmp_path), tmp_path / "j")
    url = "https://wms2.grid.sara.nl:9000/aBcDeFgHiJkLmNoPqRsTuV"
    assert done.job_id == url and backend.task_ids(done, 5) == [url]
    assert f"glite-wms-job-submit -d {os.environ.get('USER') or ''}".split()[0] in (
        tools["calls"].read_text()
    )
    assert " -d " in tools["calls"].read_text()
    assert backend.states(url, [url]) == {url: JobState.RUNNING}


def test_an_expired_proxy_shows_the_tools_message_and_what_to_do(
    tools: Dict[str, Path], tmp_path: Path
) -> None:
    make(tools, "dirac-wms-job-submit", "", code=2, err="ERROR: Proxy has expired")
    with pytest.raises(ToolFailedError) as info:
        DiracBackend().submit(PilotSpec(token_type="T", jobs=1), plan_folder(tmp_path), tmp_path)
    assert "Proxy has expired" in info.value.message and "exit 2" in info.value.message
    assert "dirac-proxy-init" in info.value.hint


def test_a_missing_tool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError) as info:
        run_tool(["condor_submit", "x"])
    assert "condor_submit is not installed" in info.value.message and info.value.hint


def test_no_secret_reaches_a_batch_tool(tools: Dict[str, Path], tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PICAS_USR_PWD", "s3cret-pw-value")
        mp.setenv("MY_API_TOKEN", "s3cret-token-value")
        mp.setenv("PICAS_USR", "alice")
        make(tools, "sbatch", "4242")
        assert "PICAS_USR_PWD" not in job_environment()
        done = SlurmBackend().submit(
            PilotSpec(token_type="T", jobs=2), plan_folder(tmp_path), tmp_path / "p.slurm"
        )
    assert done.job_id == "4242" and done.task_ids == ["4242_1", "4242_2"]
    seen = (tools["calls"].parent / "calls.txt.env").read_text()
    assert "s3cret" not in seen and "PICAS_USR=alice" in seen


def test_sbatch_nonsense_answer(tools: Dict[str, Path], tmp_path: Path) -> None:
    make(tools, "sbatch", "Submitted batch job")
    with pytest.raises(Exception, match="not a job id"):
        SlurmBackend().submit(PilotSpec(token_type="T", jobs=1), plan_folder(tmp_path), tmp_path)


def test_slurm_task_ranges() -> None:
    assert _expand("77", "[1-3,5%2]") == ["77_1", "77_2", "77_3", "77_5"]
    assert _expand("77", "4") == ["77_4"]
