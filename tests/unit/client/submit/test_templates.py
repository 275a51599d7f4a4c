"""The job description templates of jdl/ (issue 10): every backend renders, every missing
variable is named, no secret is in any description."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from grid_lrt.client.submit.backend import PilotSpec
from grid_lrt.client.submit.submission import BACKENDS, backend_for, credentials_text, plan_folder
from grid_lrt.client.submit.templates import TEMPLATES, TemplateError, render, variables_of
from grid_lrt.shared.credentials import PicasCredentials
from grid_lrt.shared.errors import UsageError

PASSWORD = "Pa55-w0rd-only-in-the-credentials-file"
SPEC = PilotSpec(token_type="L229507_cal1", jobs=4, cpus=2, memory_mb=4000, walltime_minutes=90)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_backend_renders_without_a_secret(backend: str, tmp_path: Path) -> None:
    folder = plan_folder(tmp_path / "submission")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PICAS_USR_PWD", PASSWORD)
        text = backend_for(backend).render(SPEC, folder)
    assert PASSWORD not in text and "@{" not in text
    assert "L229507_cal1" in text
    if backend != "local":
        assert str(folder.credentials) in text and str(folder.launcher) in text


def test_slurm_script() -> None:
    spec = PilotSpec(
        token_type="T1",
        jobs=12,
        max_parallel=3,
        cpus=4,
        memory_mb=8000,
        walltime_minutes=240,
        partition="normal",
        whole_nodes=True,
        launcher_args=("--max-time", "3h"),
        options=("--account=lofar",),
    )
    text = backend_for("slurm").render(spec, plan_folder(Path("/home/u/sub 1")))
    for line in (
        "#SBATCH --array=1-12%3",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8000M",
        "#SBATCH --time=240",
        "#SBATCH --partition=normal",
        "#SBATCH --exclusive",
        "#SBATCH --account=lofar",
        "export PICASRC='/home/u/sub 1/lrt-credentials'",
        "exec python3 '/home/u/sub 1/grid-lrt-launcher.pyz' run T1 --max-time 3h",
    ):
        assert line in text.splitlines(), line
    # every directive comes before the first command (sbatch stops reading at it)
    lines = text.splitlines()
    first_command = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    assert all(not line.startswith("#SBATCH") for line in lines[first_command:])


def test_glite_jdl_is_parametric() -> None:
    spec = PilotSpec(token_type="T1", jobs=50, cpus=4, whole_nodes=True, partition="medium")
    text = backend_for("glite").render(spec, plan_folder(Path("/s")))
    for part in (
        'JobType = "Parametric";',
        "Parameters = 50;",
        "ParameterStart = 0;",
        "ParameterStep = 1;",
        "CPUNumber = 4;",
        "SmpGranularity = 4;",
        "WholeNodes = true;",
        'Requirements = (RegExp("medium", other.GlueCEUniqueID)) && (true);',
        'InputSandbox = {"/s/lrt-bootstrap.sh", "/s/grid-lrt-launcher.pyz", "/s/lrt-credentials"};',
        'Arguments = "lrt-bootstrap.sh T1";',
    ):
        assert part in text, part


def test_dirac_and_condor() -> None:
    dirac = backend_for("dirac").render(PilotSpec(token_type="T1", jobs=7), plan_folder(Path("/s")))
    assert "Parameters = 7;" in dirac and "NumberOfProcessors = 1;" in dirac
    condor = backend_for("condor").render(
        PilotSpec(token_type="T1", jobs=3, memory_mb=1000), plan_folder(Path("/s"))
    )
    assert "queue 3" in condor.splitlines() and "getenv                  = False" in condor
    assert "request_memory          = 1000" in condor
    assert "transfer_input_files    = /s/grid-lrt-launcher.pyz, /s/lrt-credentials" in condor


def test_missing_variables_are_all_named() -> None:
    text = "a @{one} b @{two} c @{one} @@{literal} mail@example.org\n"
    assert variables_of(text) == ["one", "two"]
    with pytest.raises(TemplateError) as info:
        render("x.sh", {}, text=text)
    assert "no value for one, two" in info.value.message and "x.sh" in info.value.message
    assert render("x.sh", {"one": 1, "two": 2}, text=text) == (
        "a 1 b 2 c 1 @{literal} mail@example.org\n"
    )


def test_every_template_variable_is_documented() -> None:
    readme = (Path(__file__).parents[4] / "jdl" / "README.md").read_text()
    for name in TEMPLATES.values():
        for variable in variables_of((Path(__file__).parents[4] / "jdl" / name).read_text()):
            assert f"`{variable}`" in readme, f"{name}: {variable} is not in jdl/README.md"


def test_a_line_break_cannot_add_a_directive() -> None:
    with pytest.raises(TemplateError):
        render("x.sh", {"a": "ok\n#SBATCH --uid=0"}, text="@{a}\n")
    with pytest.raises(UsageError):
        PilotSpec(token_type="T1", jobs=1, partition="p\n#SBATCH --x")
    with pytest.raises(UsageError):
        PilotSpec(token_type="T1; rm -rf ~", jobs=1)
    with pytest.raises(UsageError):
        PilotSpec(token_type="T1", jobs=0)


def test_credentials_file_text() -> None:
    creds = PicasCredentials(user="alice", password=PASSWORD, database="db", url="https://h:6984")
    text = credentials_text(creds)
    assert f"password={PASSWORD}\n" in text and "url=https://h:6984\n" in text


def test_bootstrap_reads_the_credentials_from_its_file() -> None:
    text = (Path(__file__).parents[4] / "jdl" / "bootstrap.sh").read_text()
    assert text.startswith("#!/bin/sh")
    assert 'export PICASRC="$here/lrt-credentials"' in text and "chmod 600" in text


@pytest.mark.skipif(
    not any(Path(d, "python3").exists() for d in ("/usr/local/bin", "/usr/bin", "/bin")),
    reason="no python3 in /usr/local/bin, /usr/bin or /bin",
)
def test_bootstrap_gives_a_job_without_path_the_usual_one(tmp_path: Path) -> None:
    # An HTCondor job (getenv = False) starts with no PATH; the launcher and its pipeline
    # must still get one (and bash's built-in default, which ends in ".", must not be it).
    bootstrap = Path(__file__).parents[4] / "jdl" / "bootstrap.sh"
    (tmp_path / "lrt-credentials").write_text("password=x\n")
    (tmp_path / "grid-lrt-launcher.pyz").write_text(
        "import os, sys\nprint(os.environ.get('PATH'), os.environ['PICASRC'], *sys.argv[1:])\n"
    )
    run = subprocess.run(
        ["/usr/bin/env", "-i", "/bin/sh", str(bootstrap), "T1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [
        "/usr/local/bin:/usr/bin:/bin",
        str(tmp_path / "lrt-credentials"),
        "run",
        "T1",
    ]
    assert (tmp_path / "lrt-credentials").stat().st_mode & 0o777 == 0o600
    kept = subprocess.run(
        ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin:/opt/x", "/bin/sh", str(bootstrap), "T1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert kept.stdout.split()[0] == "/usr/bin:/bin:/opt/x", kept.stderr


def test_lrt_jdl_render_prints_the_description(capsys: pytest.CaptureFixture[str]) -> None:
    from grid_lrt.client.cli.main import main

    args = ["jdl", "render", "--backend", "slurm", "--type", "T1", "--jobs", "4"]
    assert main([*args, "--folder", "/sub"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#!/bin/bash\n") and "#SBATCH --array=1-4%4" in out
    assert main(["jdl", "render", "--backend", "glite", "--type", "a b"]) == 2
    err = capsys.readouterr().err
    assert "error: token type 'a b'" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["submit", "--help"])
    assert "examples:" in capsys.readouterr().out
