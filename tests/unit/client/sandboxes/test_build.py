"""build_sandbox with real git repositories: reproducible, commits recorded, clear errors."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
import yaml

from grid_lrt.client.sandboxes import GitError, build_sandbox
from grid_lrt.client.sandboxes.tarball import member_names
from grid_lrt.launcher.tokvar import read_tokvar
from grid_lrt.shared.errors import ConfigError
from tests.support.gitkit import Repos, commit, git, write_config


def _config(tmp_path: Path, repos: Repos, **kwargs: object) -> Path:
    scripts = {"prefactor": {"git_url": repos.scripts_url, "branch": "master"}}
    return write_config(tmp_path / "sbx.cfg", repos.base_url, scripts=scripts, **kwargs)  # type: ignore[arg-type]


def test_build_twice_gives_the_same_bytes(tmp_path: Path, repos: Repos) -> None:
    cfg = _config(tmp_path, repos)
    first = build_sandbox(cfg, tmp_path / "one")
    for path in repos.base.rglob("*"):  # touching the sources changes nothing
        if ".git" not in path.parts:
            os.utime(path, (1_650_000_000, 1_650_000_000))
    second = build_sandbox(cfg, tmp_path / "two")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert (first.sha256, first.adler32, first.size) == (second.sha256, second.adler32, second.size)
    assert first.path == (tmp_path / "one" / "test_sbx.tar.gz")


def test_commits_recorded_and_content_clean(tmp_path: Path, repos: Repos) -> None:
    cwd = Path.cwd()
    build = build_sandbox(_config(tmp_path, repos), tmp_path / "out")
    assert Path.cwd() == cwd
    assert build.commits == {
        ".": git(repos.base, "rev-parse", "HEAD"),
        "prefactor": git(repos.scripts, "rev-parse", "HEAD"),
    }
    assert build.base_commit == build.commits["."]
    assert build.checksum == f"sha256:{build.sha256}"
    names = member_names(build.path)
    assert "master.sh" in names and "prefactor/run.py" in names and "tokvar.cfg" in names
    assert not [n for n in names if ".git" in n.split("/") or "__pycache__" in n]
    assert not [n for n in names if n.endswith(".pyc")]
    manifest = json.loads((tmp_path / "out" / "test_sbx.sandbox.json").read_text())
    assert manifest["sha256"] == build.sha256 and manifest["checksum"] == build.checksum
    assert manifest["sources"]["."]["sha"] == build.commits["."]
    assert manifest["sources"]["prefactor"]["branch"] == "master"
    assert "test_sbx.sandbox.json" not in names
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "test_sbx.sandbox.json",
        "test_sbx.tar.gz",
    ]


def test_tokvar_cfg_is_the_shell_variables_and_the_launcher_reads_it(
    tmp_path: Path, repos: Repos
) -> None:
    build = build_sandbox(_config(tmp_path, repos), tmp_path / "out")
    with tarfile.open(build.path, "r:gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    text = (tmp_path / "x" / "tokvar.cfg").read_text()
    assert yaml.safe_load(text) == {
        "_id": "$TOKEN",
        "OBSID": "$OBSID",
        "_attachments": {"srm.txt": "srm.txt"},
    }
    mapping = read_tokvar(tmp_path / "x" / "tokvar.cfg")
    assert mapping["OBSID"] == "$OBSID"
    assert (tmp_path / "x" / "master.sh").stat().st_mode & 0o111


def test_a_pinned_commit_is_checked_out(tmp_path: Path, repos: Repos) -> None:
    old = git(repos.scripts, "rev-parse", "HEAD")
    commit(repos.scripts, {"run.py": "print('v2')\n"}, "second")
    scripts = {"prefactor": {"git_url": repos.scripts_url, "commit": old[:7]}}
    cfg = write_config(tmp_path / "pin.cfg", repos.base_url, scripts=scripts)
    build = build_sandbox(cfg, tmp_path / "out")
    assert build.commits["prefactor"] == old
    with tarfile.open(build.path, "r:gz") as tar:
        member = tar.extractfile("prefactor/run.py")
        assert member is not None and member.read() == b"print('v1')\n"


def test_new_commit_changes_the_tarball(tmp_path: Path, repos: Repos) -> None:
    cfg = _config(tmp_path, repos)
    first = build_sandbox(cfg, tmp_path / "one")
    commit(repos.base, {"master.sh": "#!/bin/bash\necho v2\n"}, "v2")
    second = build_sandbox(cfg, tmp_path / "two")
    assert first.sha256 != second.sha256
    assert first.commits["."] != second.commits["."]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"branch": "nosuch"}, r"git_scripts repository 'prefactor' .*nosuch"),
        (
            {"commit": "deadbeef"},
            r"commit 'deadbeef' not found in git_scripts repository 'prefactor'",
        ),
        ({"url": "missing"}, r"git clone of git_scripts repository 'prefactor' \(file://.*missing"),
    ],
)
def test_bad_branch_commit_or_url_names_the_repository(
    tmp_path: Path, repos: Repos, spec: dict[str, str], message: str
) -> None:
    url = (tmp_path / "missing").as_uri() if spec.pop("url", None) else repos.scripts_url
    scripts = {"prefactor": {"git_url": url, **spec}}
    cfg = write_config(tmp_path / "bad.cfg", repos.base_url, scripts=scripts)
    with pytest.raises(GitError, match=message) as caught:
        build_sandbox(cfg, tmp_path / "out")
    assert caught.value.repository == "prefactor"
    assert caught.value.hint
    assert not (tmp_path / "out" / "test_sbx.tar.gz").exists()


def test_bad_base_branch_names_the_base_repository(tmp_path: Path, repos: Repos) -> None:
    cfg = write_config(tmp_path / "bad.cfg", repos.base_url, branch="nosuch")
    with pytest.raises(GitError, match=r"the base repository .*Remote branch nosuch not found"):
        build_sandbox(cfg, tmp_path / "out")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Token: {}\n", r"no 'Sandbox:' section"),
        ("Sandbox:\n  name: x\n", r"line 2: no github repository"),
        ("Sandbox:\n  name: a/b\n  git: {location: x}\n", r"line 2: Sandbox name 'a/b'"),
        ("Sandbox:\n  name: x\n  git: {branch: main}\n", r"line 3: 'git' needs location"),
        (
            "Sandbox:\n  name: x\n  git: {location: u}\n  git_scripts:\n    ../up: {git_url: u}\n",
            r"line 5: git_scripts folder '../up'",
        ),
        (
            "Sandbox:\n  name: x\n  git: {location: u}\n  git_scripts:\n    p:\n      url: u\n",
            r"line 6: unknown key 'url'",
        ),
        ("Sandbox:\n  name: x\n  git: {location: u, branch: --upload-pack=x}\n", r"must not start"),
    ],
)
def test_config_errors_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "c.cfg"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message) as caught:
        build_sandbox(path, tmp_path / "out")
    assert str(path) in caught.value.message
