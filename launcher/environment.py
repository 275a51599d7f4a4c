"""Export a token to the pipeline's environment, the way the sandbox asks for it.

Two mappings exist, with opposite directions (both may be present; v1 is applied last):

* v0 ``tokvar.cfg`` in the job folder (from the sandbox; GRID_LRT's ``yaml.dump`` of the
  config's ``Shell_variables``)::

      OBSID: $OBSID                 # token field -> environment variable
      _id: $TOKEN
      _attachments:
        Pre-Facet-Calibrator-1.parset: $PARSET   # saved as a file, PARSET=its name
        srm.txt: srm.txt                         # saved as a file only

* v1 ``token["config.json"]["variables"]``::

      {"_token_keys": {"$OBSID": "OBSID"}, "_attachments": {"$PARSET": "my.parset"}}

``tokvar.cfg`` is read with PyYAML's safe loader (pure Python on the worker: the launcher
zipapp bundles PyYAML without its C accelerator), restricted so that it reads back exactly
what ``yaml.dump`` wrote of a mapping of strings: every scalar is a string (``000``, ``yes``,
``1.5`` stay text; only ``~``, ``null`` and an empty value are None), the string tags of
GRID_LRT's Python 2 dumps (``!!python/unicode``, ``!!python/str``) are read as ``!!str``,
keys must be strings and appear once. Messages name the file and the line.

Values come from the token already in hand (no extra database round trip per key, unlike
GRID_LRT v1.0). A missing token field exports ``""`` with a warning (as GRID_LRT did); None
exports ``""``; dicts and lists are exported as JSON; other values as ``str(value)``.
``TOKEN`` (the token id), ``TOKEN_TYPE`` and ``JOBDIR`` are always set, last.

Attachments are saved under their own name in the job folder (replacing a file of that name,
e.g. a placeholder from the sandbox). A name that is not one plain file name (empty, ``.``,
``..``, or containing ``/`` or NUL) is **refused** with code 26 ``SANDBOX_UNSAFE`` rather than
rewritten, because the pipeline finds the file by that name. A missing attachment is reported
by ``fetch_attachment`` (the run loop raises 20 ``NO_DOWNLOAD_FILE``).

An unreadable or invalid mapping (``tokvar.cfg`` or ``config.json``), or a token value that
cannot be exported (a NUL character), ends the token with 29 ``SANDBOX_VARIABLES_INVALID``
(not GRID_LRT's -2, which says "sandbox downloaded but size 0 kB"); the message names the
file and line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional

import yaml
from yaml.constructor import ConstructorError
from yaml.reader import ReaderError

from grid_lrt.shared.errors import ErrorCode

from .failure import TokenFailure

__all__ = ["TOKVAR_FILE", "TokvarMapping", "export_value", "read_tokvar", "token_environment"]

log = logging.getLogger(__name__)

#: The v0 mapping file in the sandbox.
TOKVAR_FILE = "tokvar.cfg"
_ATTACHMENTS = "_attachments"
_V1_FIELDS = "_token_keys"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INVALID = ErrorCode.SANDBOX_VARIABLES_INVALID


def export_value(value: Any) -> str:
    """The string a token value becomes in the environment.

    None → ``""``; str as is; dict/list → JSON; anything else → ``str(value)``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Exporter:
    """Collects the variables and saves attachments (each fetched once)."""

    def __init__(
        self, token: Mapping[str, Any], jobdir: Path, fetch: Callable[[str], bytes]
    ) -> None:
        self.token = token
        self.jobdir = jobdir
        self.fetch = fetch
        self.env: Dict[str, str] = {}
        self.saved: Dict[str, str] = {}

    def field(self, field: str, var: str, where: str) -> None:
        if field in self.token:
            value = export_value(self.token[field])
        else:
            log.warning(
                "%s: token %s has no field %r; exporting %s as an empty string",
                where,
                self.token.get("_id", "?"),
                field,
                var,
            )
            value = ""
        if "\x00" in value:
            raise TokenFailure(
                _INVALID,
                f"{where}: token field {field!r} holds a NUL character and cannot be "
                f"exported as {var}",
            )
        self.env[var] = value

    def attachment(self, name: str, var: Optional[str], where: str) -> None:
        if not isinstance(name, str) or not _plain_file_name(name):
            raise TokenFailure(
                ErrorCode.SANDBOX_UNSAFE,
                f"{where}: attachment name {name!r} is not a plain file name "
                "(it would be saved outside the job folder)",
                hint="name attachments without '/' or '..'",
            )
        if name not in self.saved:
            self._save(name, self.fetch(name), where)
            self.saved[name] = name
        if var is not None:
            self.env[var] = name

    def _save(self, name: str, data: bytes, where: str) -> None:
        target = self.jobdir / name
        if target.is_dir() and not target.is_symlink():
            raise TokenFailure(
                ErrorCode.SANDBOX_UNSAFE,
                f"{where}: attachment {name!r} cannot be saved: the job folder has a folder "
                "of that name",
            )
        fd, tmp = tempfile.mkstemp(dir=str(self.jobdir), prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(target)  # replaces a file or link of that name, never follows it
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.debug("saved attachment %s (%d bytes)", name, len(data))


def _plain_file_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\x00" not in name


def _var_name(text: Any, where: str) -> str:
    """``$VAR``, ``${VAR}`` or ``VAR`` → ``VAR``; anything else → TokenFailure (29)."""
    raw = text.strip() if isinstance(text, str) else ""
    name = raw[1:] if raw.startswith("$") else raw
    if name.startswith("{") and name.endswith("}"):
        name = name[1:-1]
    if not _NAME.match(name):
        raise TokenFailure(
            _INVALID,
            f"{where}: {text!r} is not an environment variable name ($NAME)",
            hint="variable names are letters, digits and '_', not starting with a digit",
        )
    return name


class TokvarMapping(Dict[str, Any]):
    """A mapping read from ``tokvar.cfg`` that also knows the line of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: Dict[str, int] = {}
        """Key → the 1-based line it is on."""


class _TokvarLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with strings for every scalar and GRID_LRT's Python 2 tags."""


_NULL_TAG = "tag:yaml.org,2002:null"
_TokvarLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag == _NULL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_str(loader: _TokvarLoader, node: yaml.ScalarNode) -> str:
    """``!!python/unicode 'x'`` and ``!!python/str 'x'`` → ``"x"`` (as ``!!str``)."""
    return str(loader.construct_scalar(node))


for _tag in ("python/unicode", "python/str"):
    _TokvarLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct_str)


def _construct_mapping(loader: _TokvarLoader, node: yaml.MappingNode) -> TokvarMapping:
    """A :class:`TokvarMapping` with the key lines; non-string and repeated keys refused."""
    mapping = TokvarMapping()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            kind = "null" if key is None else type(key).__name__
            raise ConstructorError(
                None, None, f"a key must be a string, not {kind}", key_node.start_mark
            )
        if key in mapping:
            raise ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {mapping.lines[key]})",
                key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_TokvarLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)

_TOKVAR_HINT = "tokvar.cfg must be a YAML mapping of token fields to '$VAR', as yaml.dump writes it"


def _yaml_message(err: yaml.YAMLError, text: str, source: str) -> str:
    """``{source}, line N: what`` for PyYAML's error (line of the problem, else the context)."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else "?"
        what = err.problem or err.context or "invalid YAML"
        if err.problem and err.context:
            at = err.context_mark.line + 1 if err.context_mark is not None else line
            what += f" ({err.context}" + (f", line {at})" if at != line else ")")
        return f"{source}, line {line}: {what}"
    if isinstance(err, ReaderError):
        line = text.count("\n", 0, err.position) + 1
        return f"{source}, line {line}: character #x{err.character:04x} is not allowed"
    return f"{source}: {err}"  # pragma: no cover - PyYAML raises only the two above


def _load(text: str, source: str) -> TokvarMapping:
    """Raises: yaml.YAMLError, TokenFailure (a document that is not a mapping)."""
    loader = _TokvarLoader(text)
    try:
        node = loader.get_single_node()
        if node is None or node.tag == _NULL_TAG:  # no document, or an empty one ("---")
            return TokvarMapping()
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise TokenFailure(
                _INVALID,
                f"{source}, line {node.start_mark.line + 1}: expected a mapping (key: value), "
                f"found {kind}",
                hint=_TOKVAR_HINT,
            )
        mapping: TokvarMapping = loader.construct_document(node)
        return mapping
    finally:
        loader.dispose()


def read_tokvar(path: Path) -> TokvarMapping:
    """Read a ``tokvar.cfg`` (one YAML document, a mapping; empty → ``{}``).

    Raises:
        TokenFailure: 29 (``SANDBOX_VARIABLES_INVALID``): the file cannot be read as UTF-8
            text, is not valid YAML, or is not a mapping with string keys; the message names
            the file and the line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TokenFailure(_INVALID, f"{path.name} cannot be read: {err}") from err
    try:
        return _load(text, path.name)
    except yaml.YAMLError as err:
        message = _yaml_message(err, text, path.name)
        raise TokenFailure(_INVALID, message, hint=_TOKVAR_HINT) from err


def _apply_tokvar(exporter: _Exporter, path: Path) -> None:
    """v0: ``field: $VAR`` entries and an ``_attachments: {name: $VAR | name}`` mapping."""
    mapping = read_tokvar(path)
    for key, value in mapping.items():
        where = f"{path.name}, line {mapping.lines[key]}"
        if key == _ATTACHMENTS:
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise TokenFailure(_INVALID, f"{where}: {_ATTACHMENTS} must be a mapping")
            sub_lines: Mapping[str, int] = getattr(value, "lines", {})
            for name, target in value.items():
                sub_where = f"{path.name}, line {sub_lines.get(name, '?')}"
                if not isinstance(target, str) or not target:
                    raise TokenFailure(
                        _INVALID,
                        f"{sub_where}: attachment {name!r} needs '$VAR' or a file name",
                    )
                var = _var_name(target, sub_where) if "$" in target else None
                exporter.attachment(name, var, sub_where)
            continue
        if not isinstance(value, str):
            raise TokenFailure(
                _INVALID,
                f"{where}: token field {key!r} must map to '$VAR', not {type(value).__name__}",
            )
        exporter.field(key, _var_name(value, where), where)


_CONFIG = "token field config.json"


def _config_variables(config: Any) -> Optional[Mapping[str, Any]]:
    """The ``variables`` object of a v1 ``config.json`` (a mapping or a JSON string)."""
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError as err:
            raise TokenFailure(_INVALID, f"{_CONFIG} is not valid JSON: {err}") from err
    if not isinstance(config, Mapping):
        raise TokenFailure(_INVALID, f"{_CONFIG} must be a JSON object")
    variables = config.get("variables")
    if variables is not None and not isinstance(variables, Mapping):
        raise TokenFailure(_INVALID, f"{_CONFIG}: 'variables' must be an object")
    return variables


def _apply_config(exporter: _Exporter, config: Any) -> None:
    """v1: ``config.json`` ``variables`` with ``_token_keys`` and ``_attachments``."""
    variables = _config_variables(config)
    if variables is None:
        return
    for section in variables:
        if section not in (_V1_FIELDS, _ATTACHMENTS):
            log.warning("%s: ignoring unknown section variables.%s", _CONFIG, section)
    for section in (_V1_FIELDS, _ATTACHMENTS):
        entries = variables.get(section) or {}
        if not isinstance(entries, Mapping):
            raise TokenFailure(_INVALID, f"{_CONFIG}: variables.{section} must be an object")
        for var_text, name in entries.items():
            entry = f"{_CONFIG}, variables.{section}.{var_text}"
            var = _var_name(var_text, entry)
            if not isinstance(name, str) or not name:
                raise TokenFailure(_INVALID, f"{entry}: expected a field or attachment name")
            if section == _V1_FIELDS:
                exporter.field(name, var, entry)
            else:
                exporter.attachment(name, var, entry)


def token_environment(
    token: Mapping[str, Any], jobdir: Path, *, fetch_attachment: Callable[[str], bytes]
) -> Dict[str, str]:
    """The variables to add to the pipeline's environment; saves attachments into ``jobdir``.

    Args:
        token: The token document (already read; its fields are the values).
        jobdir: The job folder: ``tokvar.cfg`` is read from it (if the sandbox has one) and
            attachments are written into it.
        fetch_attachment: Returns an attachment's bytes by name; raises (e.g. TokenFailure 20)
            when the token has no such attachment. Called at most once per name.

    Returns:
        Variable name → value, including ``TOKEN``, ``TOKEN_TYPE`` and ``JOBDIR``.

    Raises:
        TokenFailure: 29 (``SANDBOX_VARIABLES_INVALID``) for an unreadable or invalid
            mapping or a value that cannot be exported, 26 (``SANDBOX_UNSAFE``) for an
            attachment name that is not a plain file name; whatever ``fetch_attachment``
            raises.
    """
    exporter = _Exporter(token, jobdir, fetch_attachment)
    tokvar = jobdir / TOKVAR_FILE
    if tokvar.exists() or tokvar.is_symlink():
        _apply_tokvar(exporter, tokvar)
    if token.get("config.json") is not None:
        _apply_config(exporter, token["config.json"])
    exporter.env["TOKEN"] = str(token.get("_id", ""))
    exporter.env["TOKEN_TYPE"] = export_value(token.get("type"))
    exporter.env["JOBDIR"] = str(jobdir)
    log.debug("token environment: %s", ", ".join(sorted(exporter.env)))
    return exporter.env
