"""The seed façade: Sandbox(cfgfile).build_sandbox() + upload_sandbox() with the seed YAML."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from grid_lrt.client.sandbox import Sandbox, UnauthorizedSandbox
from grid_lrt.client.sandboxes import DestinationTakenError, GridProxyMissingError
from grid_lrt.shared.errors import ConfigError, UsageError
from tests.support.gitkit import Repos, write_config


def _cfg(tmp_path: Path, repos: Repos, **kwargs: object) -> Path:
    scripts = {"prefactor": {"git_url": repos.scripts_url, "branch": "master"}}
    return write_config(
        tmp_path / "seed.cfg",
        repos.base_url,
        scripts=scripts,
        shell={"_id": "$TOKEN", "OBSID": "$OBSID", "STARTSB": "$STARTSB"},
        **kwargs,  # type: ignore[arg-type]
    )


def test_build_and_upload_like_the_seed(tmp_path: Path, repos: Repos) -> None:
    cwd = Path.cwd()
    store = tmp_path / "store"
    s = Sandbox(_cfg(tmp_path, repos), upload_base=store.as_uri())
    build = s.build_sandbox()
    assert Path.cwd() == cwd
    assert s.sbxtarfile == build.path and build.path.is_file()
    assert set(s.commits) == {".", "prefactor"}
    assert s.sbx_def["git_scripts"] == {
        "prefactor": {"git_url": repos.scripts_url, "branch": "master"}
    }
    url = s.upload_sandbox()
    assert url == (store / "SKSP/test/test_sbx.tar.gz").as_uri()
    assert s.sbxloc == url and s.sbxchecksum == build.checksum
    assert s.sandbox_exists(url)
    with tarfile.open(store / "SKSP/test/test_sbx.tar.gz") as tar:
        assert "prefactor/run.py" in tar.getnames()
    assert Path.cwd() == cwd


def test_step_by_step_and_cleanup(tmp_path: Path, repos: Repos) -> None:
    s = UnauthorizedSandbox()
    s.parseconfig(_cfg(tmp_path, repos, remove_when_done=True))
    folder = s.create_sbx_folder()
    assert s.enter_sbx_folder() == folder and Path.cwd() != folder
    s.copy_base_scripts()
    s.load_git_scripts()
    assert s.check_token() == ["STARTSB"]  # Shell_variables the Token section lacks
    tar = s.zip_sbx()
    assert tar.parent == folder
    s.upload_sandbox(loc=(tmp_path / "store").as_uri())
    assert not folder.exists()  # remove_when_done


def test_one_url_for_the_check_the_removal_and_the_copy(tmp_path: Path, repos: Repos) -> None:
    """The seed checked and deleted under its fixed base while copying to `loc`."""
    s = Sandbox(_cfg(tmp_path, repos), overwrite="refuse")
    s.build_sandbox()
    target = (tmp_path / "elsewhere").as_uri()
    url = s.upload_sbx(loc=target)
    assert url.startswith(target + "/")
    with pytest.raises(DestinationTakenError):
        s.upload_sbx(loc=target)
    s.delete_gsi_sandbox(url)
    assert not s.sandbox_exists(url)


def test_authorize_checks_the_proxy_for_the_seed_gsiftp_base(
    tmp_path: Path, repos: Repos, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "none"))
    s = Sandbox(_cfg(tmp_path, repos))
    s.build_sandbox()
    with pytest.raises(GridProxyMissingError):
        s.upload_sandbox()  # default base: GRID_LRT's gsiftp:// diskonly/sandbox


def test_seed_mistakes_are_clear_errors(tmp_path: Path, repos: Repos) -> None:
    with pytest.raises(UsageError, match="unknown arguments: colour"):
        Sandbox(colour="blue")
    with pytest.raises(UsageError, match="no sandbox configuration"):
        Sandbox().zip_sbx()
    s = Sandbox(_cfg(tmp_path, repos))
    with pytest.raises(UsageError, match="no sandbox tarball"):
        s.upload_sandbox()
    with pytest.raises(ConfigError, match="RESULTS_DIR"):
        s.get_result_loc()
