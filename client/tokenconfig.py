"""The seed's YAML token configuration (``apiVersion: 0`` files with a ``Token:`` section).

::

    apiVersion: 0
    Token:                 # fields of every token (free user fields allowed)
      status: queued
      PIPELINE_STEP: pref_cal1
      RESULTS_DIR: gsiftp://...
    Sandbox: {...}         # sandbox build instructions (used by ``lrt sandbox``)
    Shell_variables: {...} # token key -> $ENVVAR, written into the sandbox as tokvar.cfg

Read with ``yaml.safe_load``. Errors name the file, the line and the key, and say how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import yaml

from grid_lrt.shared.errors import ConfigError
from grid_lrt.shared.schema import DEFAULTS

from .tokendocs import find_non_finite

__all__ = ["TokenConfig", "load_token_config", "parse_yaml"]

_SECTIONS = ("apiVersion", "Token", "Sandbox", "Shell_variables")
_SANDBOX_KEYS = ("name", "loc", "loc2", "type", "git", "git_scripts", "remove_when_done")
_INT_FIELDS = ("lock", "done", "scrub_count")


@dataclass
class TokenConfig:
    """A parsed token configuration file."""

    path: Optional[Path] = None
    token: Dict[str, Any] = field(default_factory=dict)
    sandbox: Dict[str, Any] = field(default_factory=dict)
    shell_variables: Dict[str, Any] = field(default_factory=dict)
    api_version: int = 0


def _key_lines(node: yaml.Node) -> Dict[str, int]:
    """1-based line of each key of a YAML mapping node."""
    lines: Dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            lines[str(key_node.value)] = key_node.start_mark.line + 1
    return lines


def _child(node: yaml.Node, key: str) -> Optional[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if key_node.value == key:
                return value  # type: ignore[no-any-return]
    return None


def parse_yaml(path: Path, text: str) -> Tuple[Any, Optional[yaml.Node]]:
    """``text`` (the content of ``path``) as data and as its node tree (for key lines).

    Raises:
        ConfigError: invalid YAML, naming the file, line and column.
    """
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{path}{where}: invalid YAML: {problem}",
            hint="check indentation and quoting around that line",
        ) from None


def load_token_config(source: Union[str, Path]) -> TokenConfig:
    """Read and check a token configuration file.

    Raises:
        ConfigError: unreadable file, invalid YAML, unknown section or sandbox key, a reserved
            field with a wrong type, a NaN or infinite number (JSON has none), or an ``_id``
            (ids come from the token set, never from the configuration: one ``_id`` for every
            token would collide).
    """
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read token configuration {path}: {exc.strerror}") from None
    data, root = parse_yaml(path, text)
    if data is None:
        raise ConfigError(f"{path} is empty", hint="it needs at least a 'Token:' section")
    if not isinstance(data, dict) or root is None:
        raise ConfigError(f"{path}: the top level must be a mapping with a 'Token:' section")
    lines = _key_lines(root)
    _check_known(path, data, _SECTIONS, lines, "section")
    token, token_lines = _section(path, data, root, "Token", lines)
    _check_token_fields(path, token, token_lines)
    sandbox, sandbox_lines = _section(path, data, root, "Sandbox", lines)
    _check_known(path, sandbox, _SANDBOX_KEYS, sandbox_lines, "Sandbox key")
    shell, _ = _section(path, data, root, "Shell_variables", lines)
    api = data.get("apiVersion", 0)
    if api not in (0, 0.0, None):
        raise ConfigError(
            f"{path}, line {lines.get('apiVersion', '?')}: apiVersion {api!r} is not supported "
            "by this reader",
            hint="this is the v0 YAML format (apiVersion: 0)",
        )
    return TokenConfig(path=path, token=token, sandbox=sandbox, shell_variables=shell)


def _section(
    path: Path, data: Mapping[str, Any], root: yaml.Node, name: str, lines: Mapping[str, int]
) -> Tuple[Dict[str, Any], Dict[str, int]]:
    """A top-level section (empty if absent) and the lines of its keys."""
    section = data.get(name) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}, line {lines.get(name, '?')}: '{name}' must be a mapping")
    return dict(section), _key_lines(_child(root, name) or root)


def _check_known(
    path: Path,
    mapping: Mapping[Any, Any],
    known: Sequence[str],
    lines: Mapping[str, int],
    what: str,
) -> None:
    for key in mapping:
        if key not in known:
            raise ConfigError(
                f"{path}, line {lines.get(str(key), '?')}: unknown {what} {key!r}",
                hint=f"known {what}s: {', '.join(known)}",
            )


def _check_token_fields(path: Path, token: Mapping[str, Any], lines: Mapping[str, int]) -> None:
    for key, value in token.items():
        line = lines.get(str(key), "?")
        if not isinstance(key, str):
            raise ConfigError(f"{path}, line {line}: token field names must be strings: {key!r}")
        if key == "_id":
            raise ConfigError(
                f"{path}, line {line}: '_id' cannot be set in a token configuration",
                hint="ids are made per token (t_<type>_<append>); remove the _id line",
            )
        if key in _INT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(
                f"{path}, line {line}: token field {key!r} must be an integer, got {value!r}",
                hint=f"new tokens normally have {key}: {DEFAULTS[key]}",
            )
        if key == "times" and not isinstance(value, dict):
            raise ConfigError(f"{path}, line {line}: token field 'times' must be a mapping")
        found = find_non_finite(value, key)
        if found:
            raise ConfigError(
                f"{path}, line {line}: token field {found[0]!r} is {found[1]}: not a finite number",
                hint="JSON (and so CouchDB) has no NaN or infinity; give a number, a quoted "
                "string ('nan'), or leave the field out",
            )
