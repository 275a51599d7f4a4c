"""Real git repositories for the sandbox tests: made with ``git init`` and commits in tmp_path.

:func:`git_env` gives git an identity and an empty HOME (CI runs as root without a
``~/.gitconfig``); repositories are cloned through ``file://`` URLs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Optional

import pytest
import yaml

__all__ = [
    "MASTER_SH",
    "Repos",
    "commit",
    "git",
    "git_env",
    "make_repo",
    "make_repos",
    "repos",
    "write_config",
]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def git_env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Sandbox Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "sandbox@test.invalid")


def commit(repo: Path, files: Dict[str, str], message: str, executable: Iterable[str] = ()) -> str:
    """Write ``files`` (path -> text) into ``repo``, commit them all; return the sha."""
    for name, text in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for name in executable:
        (repo / name).chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(
    path: Path,
    files: Dict[str, str],
    *,
    branch: str = "main",
    executable: Iterable[str] = (),
) -> str:
    """A new repository at ``path`` with one commit of ``files``; returns its file:// URL."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    commit(path, files, "first", executable)
    return path.as_uri()


def write_config(
    path: Path,
    base_url: str,
    *,
    branch: Optional[str] = "main",
    scripts: Optional[Dict[str, Dict[str, str]]] = None,
    shell: Optional[Dict[str, object]] = None,
    name: str = "test_sbx",
    loc: str = "SKSP/test",
    remove_when_done: bool = False,
    token: Optional[Dict[str, object]] = None,
) -> Path:
    """A seed YAML configuration (apiVersion 0: Token, Sandbox, Shell_variables)."""
    git_spec: Dict[str, str] = {"location": base_url}
    if branch:
        git_spec["branch"] = branch
    data = {
        "apiVersion": 0,
        "Token": token if token is not None else {"status": "queued", "OBSID": "L123"},
        "Sandbox": {
            "name": name,
            "loc": loc,
            "git": git_spec,
            "git_scripts": scripts or {},
            "remove_when_done": remove_when_done,
        },
        "Shell_variables": shell
        if shell is not None
        else {"_id": "$TOKEN", "OBSID": "$OBSID", "_attachments": {"srm.txt": "srm.txt"}},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


MASTER_SH = '#!/bin/bash\necho "sandbox pipeline for $OBSID"\n'


@dataclass
class Repos:
    base: Path
    base_url: str
    scripts: Path
    scripts_url: str


def make_repos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repos:
    """``base`` (master.sh, bin/functions.sh, a stray __pycache__) and ``scripts`` repos."""
    git_env(monkeypatch, tmp_path / "git-home")
    base = tmp_path / "repos" / "base"
    base_url = make_repo(
        base,
        {
            "master.sh": MASTER_SH,
            "bin/functions.sh": 'say() { echo "$@"; }\n',
            "pkg/mod.py": "X = 1\n",
            "pkg/__pycache__/mod.cpython-311.pyc": "compiled",
            "README.md": "the base\n",
        },
        executable=["master.sh"],
    )
    scripts = tmp_path / "repos" / "prefactor"
    scripts_url = make_repo(scripts, {"run.py": "print('v1')\n"}, branch="master")
    return Repos(base, base_url, scripts, scripts_url)


@pytest.fixture
def repos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repos:
    """:func:`make_repos` in the test's tmp_path."""
    return make_repos(tmp_path, monkeypatch)
