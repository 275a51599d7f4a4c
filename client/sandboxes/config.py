"""The ``Sandbox:`` and ``Shell_variables:`` sections of a seed YAML file, checked.

::

    Sandbox:
      name: pref_cal1                 # the tarball is pref_cal1.tar.gz
      loc: SKSP/prefactor             # folder under the upload base (optional)
      git:                            # the base repository: master.sh, bin/, ... (required)
        location: https://github.com/apmechev/GRID_Sandbox.git
        branch: prefactor             # optional: the remote's default branch
      git_scripts:                    # more repositories, each into its own folder
        prefactor: {git_url: https://github.com/lofar-astron/prefactor.git, commit: 30c5d1e}
        tcollector: {git_url: https://github.com/apmechev/tcollector.git, branch: master}
      remove_when_done: true          # the seed façade removes its build folder after upload
    Shell_variables:                  # written into the sandbox as tokvar.cfg
      _id: $TOKEN
      OBSID: $OBSID

:func:`~grid_lrt.client.tokenconfig.load_token_config` reads the file and rejects unknown
sections and ``Sandbox`` keys; this module checks the values, with the same
``<file>, line <n>: ...`` messages (:class:`~grid_lrt.shared.errors.ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import yaml

from grid_lrt.shared.errors import ConfigError

from ..tokenconfig import TokenConfig, load_token_config

__all__ = ["BASE", "GitSource", "SandboxConfig", "load_sandbox_config", "sandbox_config"]

#: The key of the base repository in :attr:`SandboxConfig.sources` and in the recorded commits:
#: it is cloned into the sandbox's top folder.
BASE = "."
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_RESERVED = frozenset({".git", ".sandbox", "tokvar.cfg", "__pycache__"})


@dataclass(frozen=True)
class GitSource:
    """One repository of the sandbox: where it goes (``folder``), where it comes from."""

    folder: str
    url: str
    branch: Optional[str] = None
    commit: Optional[str] = None


@dataclass(frozen=True)
class SandboxConfig:
    """What to build: the checked ``Sandbox`` section plus ``Shell_variables`` and ``Token``."""

    name: str
    base: GitSource
    scripts: Tuple[GitSource, ...] = ()
    loc: str = ""
    remove_when_done: bool = False
    shell_variables: Dict[str, Any] = field(default_factory=dict)
    token: Dict[str, Any] = field(default_factory=dict)
    path: Optional[Path] = None

    @property
    def sources(self) -> Tuple[GitSource, ...]:
        """The base repository first, then the ``git_scripts`` in file order."""
        return (self.base, *self.scripts)

    @property
    def tarball_name(self) -> str:
        return f"{self.name}.tar.gz"


def _lines(path: Optional[Path], *keys: str) -> Dict[str, int]:
    """1-based line of each key of the mapping at ``keys`` in the YAML file (empty if unknown)."""
    if path is None:
        return {}
    try:
        node: Any = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return {}
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return {}
        node = next((v for k, v in node.value if k.value == key), None)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


class _Where:
    """Builds ``<file>, line <n>: ...`` ConfigErrors for the keys of one mapping."""

    def __init__(self, path: Optional[Path], *keys: str) -> None:
        self.path = path
        self.keys = keys
        self.lines = _lines(path, *keys)

    def error(self, key: str, message: str, hint: str = "") -> ConfigError:
        file = str(self.path) if self.path is not None else "sandbox configuration"
        line = self.lines.get(key)
        if line is None and self.keys:
            line = _lines(self.path, *self.keys[:-1]).get(self.keys[-1])
        where = f"{file}, line {line}" if line is not None else file
        return ConfigError(f"{where}: {message}", hint=hint)


def _text(where: _Where, mapping: Mapping[str, Any], key: str, what: str) -> Optional[str]:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # commit: 30c5d1e is a string, commit: 3050123 an int
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"{what} must be a non-empty string, got {value!r}")
    if value.strip().startswith("-"):
        raise where.error(key, f"{what} {value!r} must not start with '-'")
    return value.strip()


def _source(where: _Where, folder: str, spec: Any, url_key: str) -> GitSource:
    if not isinstance(spec, dict):
        raise where.error(folder, f"'{folder}' must be a mapping with {url_key}, branch, commit")
    inner = _Where(where.path, *where.keys, folder)
    for key in spec:
        if key not in (url_key, "branch", "commit"):
            raise inner.error(
                str(key), f"unknown key {key!r}", hint=f"known keys: {url_key}, branch, commit"
            )
    url = _text(inner, spec, url_key, url_key)
    if url is None:
        raise where.error(folder, f"'{folder}' needs {url_key}: the repository to clone")
    return GitSource(
        folder=folder,
        url=url,
        branch=_text(inner, spec, "branch", "branch"),
        commit=_text(inner, spec, "commit", "commit"),
    )


def sandbox_config(config: TokenConfig) -> SandboxConfig:
    """Check the ``Sandbox`` section of a read token configuration.

    Raises:
        ConfigError: No ``Sandbox`` section, no ``name`` or ``git.location``, a name that is
            not a plain file name, a ``git_scripts`` folder that is not a plain folder name
            (or ``tokvar.cfg``), a branch or commit that is not a string.
    """
    top = _Where(config.path)
    if not config.sandbox:
        raise top.error(
            "Sandbox",
            "no 'Sandbox:' section: nothing says how to build the sandbox",
            hint="add Sandbox: {name: ..., git: {location: ..., branch: ...}}",
        )
    sbx = config.sandbox
    where = _Where(config.path, "Sandbox")
    name = _text(where, sbx, "name", "Sandbox name")
    if name is None or not _NAME.match(name) or name in _RESERVED:
        raise where.error(
            "name",
            f"Sandbox name {sbx.get('name')!r} is not a plain file name",
            hint="use letters, digits and . _ + - (the tarball is <name>.tar.gz)",
        )
    if "git" not in sbx or sbx["git"] is None:
        raise where.error(
            "name",
            "no github repository for the sandbox: 'Sandbox' has no 'git' key",
            hint="add git: {location: <repository URL>, branch: <branch>}",
        )
    base = _source(where, "git", sbx["git"], "location")
    base = GitSource(BASE, base.url, base.branch, base.commit)
    scripts_spec = sbx.get("git_scripts") or {}
    if not isinstance(scripts_spec, dict):
        raise where.error("git_scripts", "'git_scripts' must map folder names to repositories")
    scripts = []
    inner = _Where(config.path, "Sandbox", "git_scripts")
    for key, spec in scripts_spec.items():
        folder = str(key)
        if not _NAME.match(folder) or folder in _RESERVED:
            raise inner.error(
                folder,
                f"git_scripts folder {folder!r} is not a plain folder name",
                hint="use letters, digits and . _ + -, and none of: " + ", ".join(_RESERVED),
            )
        scripts.append(_source(inner, folder, spec, "git_url"))
    loc = sbx.get("loc") or ""
    if not isinstance(loc, str) or ".." in loc.split("/"):
        raise where.error("loc", f"loc {loc!r} must be a relative folder without '..'")
    remove = sbx.get("remove_when_done", False)
    if not isinstance(remove, bool):
        raise where.error("remove_when_done", f"remove_when_done must be true or false: {remove!r}")
    shell = dict(config.shell_variables)
    for key in shell:
        if not isinstance(key, str):
            raise _Where(config.path, "Shell_variables").error(
                str(key), f"Shell_variables keys must be strings: {key!r}"
            )
    return SandboxConfig(
        name=name,
        base=base,
        scripts=tuple(scripts),
        loc=loc.strip("/"),
        remove_when_done=remove,
        shell_variables=shell,
        token=dict(config.token),
        path=config.path,
    )


def load_sandbox_config(source: Union[str, Path, TokenConfig, SandboxConfig]) -> SandboxConfig:
    """A :class:`SandboxConfig` from a YAML file (or an already read configuration).

    Raises:
        ConfigError: See :func:`~grid_lrt.client.tokenconfig.load_token_config` and
            :func:`sandbox_config`.
    """
    if isinstance(source, SandboxConfig):
        return source
    if isinstance(source, TokenConfig):
        return sandbox_config(source)
    return sandbox_config(load_token_config(source))
