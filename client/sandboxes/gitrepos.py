"""Cloning one repository of a sandbox at a branch and/or commit, with the ``git`` command.

git runs as a subprocess with an argument list (never a shell), with no terminal prompt
(``GIT_TERMINAL_PROMPT=0``: a private repository fails instead of waiting for a password)
and stdin closed. A failure is a :class:`~.errors.GitError` naming the repository (its folder
in the sandbox and its URL, without credentials) with git's own message.

What is checked out:

* ``branch`` only: the tip of that branch (a shallow clone, ``--depth 1``);
* ``commit`` (with or without ``branch``): that commit (a full clone of the branch, or of the
  default branch, then ``checkout --detach``); a short sha works when it is unambiguous;
* neither: the tip of the remote's default branch.

:func:`clone` returns the full sha of what was checked out, which the build records.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from grid_lrt.shared.redact import redact, redact_url

from .errors import GitError

__all__ = ["GIT_TIMEOUT", "clone", "git_available"]

log = logging.getLogger(__name__)

#: Seconds one git command may take (a clone of a big repository over a slow link).
GIT_TIMEOUT = 900.0
_STDERR_LINES = 6


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", SSH_ASKPASS="", LC_ALL="C")
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def _said(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    return redact(" | ".join(lines[-_STDERR_LINES:])) or "(git printed nothing)"


def _what(folder: str, url: str) -> str:
    label = "the base repository" if folder == "." else f"git_scripts repository {folder!r}"
    return f"{label} ({redact_url(url)})"


def _run(args: Sequence[str], *, folder: str, url: str, cwd: Optional[Path], timeout: float) -> str:
    command: List[str] = ["git", "-c", "advice.detachedHead=false", *args]
    log.debug("git %s", " ".join(redact(a) for a in args))
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GitError(
            "the git command is not installed: cannot clone " + _what(folder, url),
            repository=folder,
            hint="install git (Debian: apt-get install git)",
        ) from None
    except subprocess.TimeoutExpired:
        raise GitError(
            f"git {args[0]} of {_what(folder, url)} took more than {timeout:.0f} s",
            repository=folder,
            hint="check the network and the repository's size",
        ) from None
    if done.returncode != 0:
        raise GitError(
            f"git {args[0]} of {_what(folder, url)} failed: {_said(done.stderr)}",
            repository=folder,
            stderr=done.stderr,
            hint=_hint(args[0], done.stderr),
        )
    return done.stdout


def _hint(verb: str, stderr: str) -> str:
    text = stderr.lower()
    if "remote branch" in text and "not found" in text:
        return "the branch does not exist in that repository: check 'branch' in the config"
    if verb == "rev-parse":
        return "the commit is not in that repository (or not on the branch given)"
    if "authentication" in text or "could not read username" in text:
        return "the repository needs a login: use a public URL or set up ssh keys"
    if verb == "clone":
        return "check the repository URL in the config (git_url / git.location)"
    return ""


def git_available() -> bool:
    """True when a ``git`` command can be run."""
    try:
        subprocess.run(
            ["git", "--version"], capture_output=True, check=True, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def clone(
    url: str,
    dest: Path,
    *,
    branch: Optional[str] = None,
    commit: Optional[str] = None,
    folder: str = ".",
    timeout: float = GIT_TIMEOUT,
) -> str:
    """Clone ``url`` into ``dest`` (which must not exist, or be empty) and check out
    ``branch``/``commit``; return the full sha of the commit checked out.

    Args:
        url: What ``git clone`` accepts: ``https://``, ``ssh://``, ``git@host:path``,
            ``file://``, a local path.
        dest: The folder to create.
        branch: The branch (or tag) to clone; None: the remote's default branch.
        commit: The commit to check out (full or unambiguous short sha, or a tag).
        folder: The repository's name in messages (its folder in the sandbox; ``.``: base).
        timeout: Seconds per git command.

    Raises:
        GitError: git is missing, the URL cannot be cloned, the branch or commit does not
            exist, or a command timed out.
    """
    for value, what in ((branch, "branch"), (commit, "commit")):
        if value is not None and (not value or value.startswith("-")):
            raise GitError(
                f"{what} {value!r} of {_what(folder, url)} is not a valid name",
                repository=folder,
            )
    args = ["clone", "--quiet", "--no-recurse-submodules"]
    if branch:
        args += ["--branch", branch]
    if not commit:
        args += ["--depth", "1"]
    _run(
        [*args, "--", url, str(dest)],
        folder=folder,
        url=url,
        cwd=None,
        timeout=timeout,
    )
    if commit:
        try:
            found = _run(
                ["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                folder=folder,
                url=url,
                cwd=dest,
                timeout=timeout,
            ).strip()
        except GitError as exc:
            on = f"branch {branch!r}" if branch else "its default branch"
            raise GitError(
                f"commit {commit!r} not found in {_what(folder, url)} (cloned {on})",
                repository=folder,
                stderr=exc.stderr,
                hint="give a commit of that branch (a full sha, or an unambiguous short one), "
                "or set 'branch' to the branch that has it",
            ) from None
        _run(
            ["checkout", "--quiet", "--detach", found],
            folder=folder,
            url=url,
            cwd=dest,
            timeout=timeout,
        )
    head = _run(["rev-parse", "HEAD"], folder=folder, url=url, cwd=dest, timeout=timeout)
    sha = head.strip()
    log.info("%s at %s", _what(folder, url), sha[:12])
    return sha
