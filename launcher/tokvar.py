"""Reading ``tokvar.cfg``, the v0 variable mapping a sandbox ships (GRID_LRT's ``yaml.dump``
of the config's ``Shell_variables``).

The file is read with PyYAML's safe loader (pure Python on the worker: the launcher zipapp
bundles PyYAML without its C accelerator), restricted so that it reads back exactly what
``yaml.dump`` wrote of a mapping of strings: every scalar is a string (``000``, ``yes``,
``1.5`` stay text; only ``~``, ``null`` and an empty value are None), the string tags of
GRID_LRT's Python 2 dumps (``!!python/unicode``, ``!!python/str``) are read as ``!!str``,
keys must be strings and appear once. Messages name the file and the line. What the mapping
means (token field → variable) is applied by :mod:`.environment`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml
from yaml.constructor import ConstructorError
from yaml.reader import ReaderError

from grid_lrt.shared.errors import ErrorCode

from .failure import TokenFailure

__all__ = ["TOKVAR_FILE", "TokvarMapping", "read_tokvar"]

#: The v0 mapping file in the sandbox.
TOKVAR_FILE = "tokvar.cfg"
_INVALID = ErrorCode.SANDBOX_VARIABLES_INVALID


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
