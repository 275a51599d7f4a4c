"""Launcher settings and the batch-system job id."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid_lrt.launcher.config import (
    LauncherConfig,
    MissingCredentialsError,
    parse_duration,
    parse_size,
)
from grid_lrt.launcher.jobid import detect_batch_job
from grid_lrt.launcher.server import ServerError
from grid_lrt.launcher.unpack_limits import UnpackLimits
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


@pytest.mark.usefixtures("creds")
def test_credentials_are_not_exported_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9, finding 10: PICAS_USR_PWD went to every pipeline, with no way to stop it."""
    assert LauncherConfig.load("demo").export_credentials is False
    assert LauncherConfig.load("demo", {"export_credentials": True}).export_credentials is True
    monkeypatch.setenv("LRT_EXPORT_CREDENTIALS", "yes")
    assert LauncherConfig.load("demo").export_credentials is True
    monkeypatch.setenv("LRT_EXPORT_CREDENTIALS", "maybe")
    with pytest.raises(UsageError, match=r"LRT_EXPORT_CREDENTIALS: 'maybe' is neither on nor off"):
        LauncherConfig.load("demo")


@pytest.mark.usefixtures("creds")
def test_token_commands_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LauncherConfig.load("demo").token_commands is True
    assert LauncherConfig.load("demo", {"token_commands": False}).token_commands is False
    monkeypatch.setenv("LRT_TOKEN_COMMANDS", "0")
    assert LauncherConfig.load("demo").token_commands is False
    assert LauncherConfig.load("demo", {"token_commands": True}).token_commands is True


@pytest.mark.parametrize(
    ("text", "size"),
    [("4096", 4096), ("10M", 10 << 20), ("256G", 256 << 30), ("1TiB", 1 << 40), ("1.5k", 1536)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text, what="x") == size


@pytest.mark.usefixtures("creds")
def test_unpack_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LauncherConfig.load("demo").unpack_limits == UnpackLimits()
    monkeypatch.setenv("LRT_UNPACK_MAX_BYTES", "10G")
    config = LauncherConfig.load("demo", {"unpack_max_members": "50", "unpack_max_ratio": "0"})
    limits = config.unpack_limits
    assert (limits.max_bytes, limits.max_members, limits.max_ratio) == (10 << 30, 50, 0)
    with pytest.raises(UsageError, match=r"--unpack-max-bytes: 'lots' is not a size"):
        LauncherConfig.load("demo", {"unpack_max_bytes": "lots"})


@pytest.mark.usefixtures("creds")
def test_url_is_kept_without_userinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    """PICAS_URL with user:pw@ was exported as is; the login now comes out of it."""
    monkeypatch.delenv("PICAS_USR")
    monkeypatch.delenv("PICAS_USR_PWD")
    monkeypatch.setenv("PICAS_URL", "https://bob:p%40ss%3Aw$rd@couch.example.org:6984/")
    config = LauncherConfig.load("demo")
    assert (config.url, config.user, config.password) == (
        "https://couch.example.org:6984",
        "bob",
        "p@ss:w$rd",
    )
    monkeypatch.setenv("PICAS_USR", "alice")
    monkeypatch.setenv("PICAS_USR_PWD", "s3cret")
    config = LauncherConfig.load("demo")
    assert (config.user, config.password) == ("alice", "s3cret")


@pytest.mark.usefixtures("creds")
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://u:pa$$@127.0.0.1:99999", "is not a usable URL: a bad port"),
        ("http://u:pa$$@127.0.0.1:port", "is not a usable URL: a bad port"),
        ("http://[::1", "is not a usable URL: a syntax error"),
        ("u:pa$$@127.0.0.1:5984", "is not an http:// or https:// URL"),
        ("ftp://127.0.0.1/", "is not an http:// or https:// URL"),
        ("http://u:pa$$@:5984", "names no host"),
    ],
)
def test_bad_url_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    """Issue 9, finding 14: a bad port in PICAS_URL was a ValueError traceback."""
    monkeypatch.setenv("PICAS_URL", url)
    with pytest.raises(ServerError) as info:
        LauncherConfig.load("demo")
    assert "PICAS_URL '" in info.value.message and problem in info.value.message
    assert "pa$$" not in info.value.message and info.value.exit_status == 1


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
        # Issue 10: pilots of `lrt submit --backend local`, below every batch system.
        ({"LRT_LOCAL_JOB_ID": "local-node1-4242"}, ("local", "local-node1-4242")),
        ({"LRT_LOCAL_JOB_ID": "local-n-1", "SLURM_JOB_ID": "8"}, ("slurm", "8")),
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


@pytest.mark.usefixtures("creds")
def test_a_partition_comes_from_the_flag_or_lrt_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LauncherConfig.load("demo", {}).db_partition == ""
    monkeypatch.setenv("LRT_DB_PARTITION", "L654321")
    assert LauncherConfig.load("demo", {}).db_partition == "L654321"
    assert LauncherConfig.load("demo", {"db_partition": "L1"}).db_partition == "L1"
    with pytest.raises(UsageError, match="cannot name a partition"):
        LauncherConfig.load("demo", {"db_partition": "L1:x"})
