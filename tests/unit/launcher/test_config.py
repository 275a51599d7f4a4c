"""Launcher settings and the batch-system job id."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid_lrt.launcher.config import LauncherConfig, MissingCredentialsError, parse_duration
from grid_lrt.launcher.jobid import detect_batch_job
from grid_lrt.shared.errors import UsageError


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PICASRC", str(tmp_path / "no-picasrc"))
    monkeypatch.setenv("PICAS_USR", "alice")
    monkeypatch.setenv("PICAS_USR_PWD", "s3cret")
    monkeypatch.setenv("PICAS_DB", "alice_db")
    monkeypatch.setenv("PICAS_URL", "http://127.0.0.1:5984")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("2h", 7200), ("1.5d", 129600)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, what="x") == seconds


def test_parse_duration_names_the_bad_value() -> None:
    with pytest.raises(UsageError, match=r"--lease: '10 minutes' is not a duration"):
        parse_duration("10 minutes", what="--lease")


@pytest.mark.usefixtures("creds")
def test_flags_over_environment_over_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRT_LEASE", "5m")
    monkeypatch.setenv("LRT_HEARTBEAT", "30")
    config = LauncherConfig.load("demo", {"heartbeat": "10"})
    assert config.lease == 300
    assert config.heartbeat == 10
    assert config.max_scrub == 3
    assert (config.user, config.database, config.url) == (
        "alice",
        "alice_db",
        "http://127.0.0.1:5984",
    )
    assert "s3cret" not in repr(config)


@pytest.mark.usefixtures("creds")
def test_lease_must_be_longer_than_heartbeat() -> None:
    with pytest.raises(UsageError, match="must be longer than the heartbeat"):
        LauncherConfig.load("demo", {"lease": "60", "heartbeat": "60"})


@pytest.mark.usefixtures("creds")
def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRT_MAX_SCRUB", "three")
    with pytest.raises(UsageError, match=r"\$LRT_MAX_SCRUB: 'three' is not a whole number"):
        LauncherConfig.load("demo")


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PICASRC", str(tmp_path / "no-picasrc"))
    for name in ("PICAS_USR", "PICAS_USR_PWD", "PICAS_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PICAS_USR", "alice")
    with pytest.raises(MissingCredentialsError) as info:
        LauncherConfig.load("demo")
    assert "PICAS_USR_PWD, PICAS_DB not set" in info.value.message
    assert info.value.exit_status == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("", "")),
        ({"SLURM_JOB_ID": "77"}, ("slurm", "77")),
        (
            {"SLURM_JOB_ID": "80", "SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "3"},
            ("slurm", "77_3"),
        ),
        ({"PBS_JOBID": "9.pbs", "CREAM_JOBID": "https://cream/1"}, ("cream", "https://cream/1")),
        ({"GLITE_WMS_JOBID": "https://wms/2", "PBS_JOBID": "9"}, ("glite", "https://wms/2")),
        ({"GLITE_WMS_JOBID": "N/A", "PBS_JOBID": "9"}, ("pbs", "9")),
        ({"DIRACJOBID": "555", "GLITE_WMS_JOBID": "https://wms/2"}, ("dirac", "555")),
    ],
)
def test_batch_job_id(env: dict, expected: tuple) -> None:  # type: ignore[type-arg]
    assert detect_batch_job(env) == expected


def test_htcondor_job_ad(tmp_path: Path) -> None:
    ad = tmp_path / ".job.ad"
    ad.write_text('ClusterId = 4711\nProcId = 2\nOwner = "alice"\n')
    assert detect_batch_job({"_CONDOR_JOB_AD": str(ad)}) == ("htcondor", "4711.2")
    ad.write_text('GlobalJobId = "schedd.example.org#4711.2#1700000000"\nClusterId = 4711\n')
    assert detect_batch_job({"_CONDOR_JOB_AD": str(ad)}) == (
        "htcondor",
        "schedd.example.org#4711.2#1700000000",
    )
