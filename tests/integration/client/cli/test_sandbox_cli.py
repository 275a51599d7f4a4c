"""`lrt sandbox build|upload` in-process: the tarball, the upload, and SBXloc/SBXchecksum in
every token of a type on the real CouchDB-compatible server, accepted by the launcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.launcher import storage
from grid_lrt.launcher.checksums import file_checksum, parse_checksum
from grid_lrt.launcher.sandbox import fetch_sandbox
from tests.integration.client.conftest import CliEnv
from tests.support.gitkit import Repos, make_repos, write_config
from tests.support.launcher_kit import token_doc


@pytest.fixture
def repos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repos:
    return make_repos(tmp_path, monkeypatch)


def _config(tmp_path: Path, repos: Repos) -> Path:
    scripts = {"prefactor": {"git_url": repos.scripts_url, "branch": "master"}}
    return write_config(tmp_path / "sbx.cfg", repos.base_url, scripts=scripts)


def test_build_prints_path_size_sha256_and_commits(
    tmp_path: Path, repos: Repos, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, repos)
    assert main(["sandbox", "build", str(cfg), "-o", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    tarball = tmp_path / "out" / "test_sbx.tar.gz"
    assert f"built    {tarball}" in text
    assert f"sha256   {file_checksum(tarball, 'sha256')}" in text
    assert "commit   .  " in text and "commit   prefactor" in text
    assert main(["sandbox", "build", str(cfg), "-o", str(tmp_path / "again"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sha256"] == file_checksum(tarball, "sha256")
    assert set(data["commits"]) == {".", "prefactor"}


def test_upload_writes_sbxloc_and_checksum_into_every_token(
    tmp_path: Path, repos: Repos, cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [token_doc("sbxtest", f"t_sbxtest_{n}", OBSID="L1") for n in range(5)]
    docs.append(token_doc("other", "t_other_0"))
    assert cli_env.pool.create(docs).ok
    store = tmp_path / "store"
    argv = ["sandbox", "upload", str(_config(tmp_path, repos)), "--to", store.as_uri()]
    assert main([*argv, "--tokens", "sbxtest", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    url = (store / "SKSP/test/test_sbx.tar.gz").as_uri()
    assert result["upload"]["url"] == url and result["upload"]["action"] == "uploaded"
    assert result["tokens"] == {"type": "sbxtest", "changed": 5, "unchanged": 0, "failed": {}}
    checksum = result["upload"]["checksum"]
    assert parse_checksum(checksum) == (
        "sha256",
        file_checksum(store / "SKSP/test/test_sbx.tar.gz", "sha256"),
    )

    tokens = list(cli_env.pool.docs(cli_env.pool.ids("sbxtest")))
    assert len(tokens) == 5
    assert all(t["SBXloc"] == url and t["SBXchecksum"] == checksum for t in tokens)
    assert "SBXloc" not in (cli_env.pool.get("t_other_0") or {})
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    assert fetch_sandbox(tokens[0], jobdir, storage_for=storage.storage_for, attempts=1)
    assert (jobdir / "master.sh").is_file() and (jobdir / "prefactor" / "run.py").is_file()

    # the same again: refused by default, kept with --keep-if-same (tokens unchanged)
    assert main([*argv, "--tokens", "sbxtest"]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "already exists" in err and "hint: --replace" in err
    assert main([*argv, "--tokens", "sbxtest", "--keep-if-same"]) == 0
    out = capsys.readouterr().out
    assert f"kept     {url}" in out and "set in 0, 5 already had them" in out


def test_upload_of_a_given_tarball_with_replace(
    tmp_path: Path, repos: Repos, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, repos)
    assert main(["sandbox", "build", str(cfg), "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    tarball = tmp_path / "out" / "test_sbx.tar.gz"
    argv = ["sandbox", "upload", str(cfg), "--tarball", str(tarball), "--to", str(tmp_path / "s")]
    assert main(argv) == 0
    assert main([*argv, "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "replaced" in out
    assert "verified size, sha256" in out or "verified size, adler32" in out  # gfal2: adler32


def test_no_tokens_of_the_type_is_an_error_before_anything_is_sent(
    tmp_path: Path, repos: Repos, cli_env: CliEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    argv = ["sandbox", "upload", str(_config(tmp_path, repos)), "--to", store.as_uri()]
    assert main([*argv, "--tokens", "nosuchtype"]) == 2
    assert "no tokens of type 'nosuchtype'" in capsys.readouterr().err
    assert not store.exists()


def test_a_bad_branch_is_an_error_line(
    tmp_path: Path, repos: Repos, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path / "bad.cfg", repos.base_url, branch="nosuch")
    assert main(["sandbox", "build", str(cfg), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "error: git clone of the base repository" in err and "hint: the branch" in err


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "upload", "--help"])
    assert "lrt sandbox upload pref_cal1.cfg --to" in capsys.readouterr().out
