"""A parser for the small YAML subset of GRID_LRT's ``tokvar.cfg`` (the worker has no PyYAML).

``tokvar.cfg`` is ``yaml.dump`` of the seed's ``Shell_variables``: a flat mapping with one
nested mapping (``_attachments``). What is understood:

* block mappings, nested by indentation (spaces only), and flow mappings ``{a: b, c: 'd'}``
  (PyYAML < 5.1 wrote innermost mappings that way), also over several lines;
* plain, single-quoted and double-quoted scalars (all escapes), keys and values, folded over
  several lines as PyYAML wraps long ones;
* comments, blank lines, ``---`` / ``...`` document markers, and the tags PyYAML puts on
  strings (``!!str``, ``!!python/str``, ``!!python/unicode``).

Every scalar is returned as a ``str``, except ``~``/``null``/an empty value, which are None.
(There is no int/bool resolution: ``yaml.dump`` quotes every string that would resolve to
something else, so dumps of string mappings load back exactly.) Sequences, anchors, block
scalars (``|``, ``>``) and complex keys are refused with :class:`MiniYamlError`, which names
the file and line.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from grid_lrt.shared.errors import ConfigError

__all__ = ["MiniYamlError", "YamlMapping", "loads"]

_STRING_TAGS = ("!!python/unicode", "!!python/str", "!!str")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_ESCAPES = {
    "0": "\x00",
    "a": "\x07",
    "b": "\x08",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_PLAIN_KEY_END = re.compile(r":(?=\s|$)")


class MiniYamlError(ConfigError):
    """The text is not in the supported YAML subset; the message names file and line."""

    def __init__(self, message: str, *, source: str, line: int) -> None:
        super().__init__(
            f"{source}, line {line}: {message}",
            hint="the file must be a YAML mapping as yaml.dump writes it (no lists or anchors)",
        )
        self.source = source
        self.line = line


class YamlMapping(Dict[str, Any]):
    """A ``dict`` that also knows the line of each key (``lines[key]``, 1-based)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: Dict[str, int] = {}


def loads(text: str, *, source: str = "<string>") -> YamlMapping:
    """Parse ``text`` (one YAML document whose top level is a mapping).

    Args:
        text: The YAML text.
        source: The file name used in error messages.

    Returns:
        The mapping (empty for an empty document).

    Raises:
        MiniYamlError: Outside the subset, or not valid YAML; names ``source`` and the line.
    """
    return _Parser(text, source).document()


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source
        self.pos = 0  # index into self.lines

    def error(self, message: str, index: Optional[int] = None) -> MiniYamlError:
        line = (self.pos if index is None else index) + 1
        return MiniYamlError(message, source=self.source, line=line)

    # -- lines -------------------------------------------------------------------------------

    def _indent(self, index: int) -> int:
        line = self.lines[index]
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            raise self.error("tab in indentation (YAML indents with spaces)", index)
        return len(line) - len(stripped)

    @staticmethod
    def _is_blank(line: str) -> bool:
        stripped = line.strip()
        return not stripped or stripped.startswith("#")

    def _next_content(self, start: int) -> Optional[int]:
        """The index of the next line with content (no blank or comment-only line)."""
        index = start
        while index < len(self.lines):
            if self.lines[index].strip() in ("---", "..."):
                return None if self.lines[index].strip() == "..." else index
            if not self._is_blank(self.lines[index]):
                return index
            index += 1
        return None

    # -- document ----------------------------------------------------------------------------

    def document(self) -> YamlMapping:
        first = self._next_content(0)
        if first is not None and self.lines[first].strip() == "---":
            first = self._next_content(first + 1)
        if first is None:
            return YamlMapping()
        self.pos = first
        if self._indent(first) != 0:
            raise self.error("the document must start at column 1", first)
        if self.lines[first].lstrip().startswith("{"):
            value, end = self._flow_block(first, self.lines[first].lstrip())
            if not isinstance(value, YamlMapping):  # pragma: no cover - '{' always maps
                raise self.error("expected a mapping", first)
            self._expect_end(end + 1)
            return value
        mapping = self._block_mapping(0)
        self._expect_end(self.pos)
        return mapping

    def _expect_end(self, index: int) -> None:
        nxt = self._next_content(index)
        if nxt is not None:
            if self.lines[nxt].strip() == "---":
                raise self.error("only one YAML document is supported", nxt)
            raise self.error("unexpected content (check the indentation)", nxt)

    # -- block mappings -----------------------------------------------------------------------

    def _block_mapping(self, indent: int) -> YamlMapping:
        mapping = YamlMapping()
        while True:
            index = self._next_content(self.pos)
            if index is None:
                self.pos = len(self.lines)
                return mapping
            here = self._indent(index)
            if here < indent or self.lines[index].strip() == "---":
                self.pos = index
                return mapping
            if here > indent:
                raise self.error("unexpected indentation", index)
            self.pos = index
            key, rest = self._key(self.lines[index][indent:], index)
            if key in mapping:
                raise self.error(f"duplicate key {key!r}", index)
            mapping.lines[key] = index + 1
            mapping[key] = self._block_value(rest, indent, index)

    def _key(self, text: str, index: int) -> Tuple[str, str]:
        """Split ``key: rest``; returns the key and the text after ``:``."""
        if text.startswith(("- ", "-\t")) or text == "-":
            raise self.error("sequences ('- item') are not supported", index)
        if text.startswith(("? ", "?\t")) or text == "?":
            raise self.error("complex keys ('? key') are not supported", index)
        if text[:1] and text[:1] in "&*|>[{%@`":
            raise self.error(f"unsupported YAML syntax {text[:1]!r}", index)
        text = _strip_tag(text)
        if text[:1] in ("'", '"'):
            key, end = _quoted(text, 0, self, index)
            after = text[end:]
            stripped = after.lstrip(" ")
            if not stripped.startswith(":") or (stripped[1:2] not in ("", " ", "\t")):
                raise self.error(f"expected ':' after the key {key!r}", index)
            return key, stripped[1:]
        match = _PLAIN_KEY_END.search(text)
        if match is None:
            raise self.error("expected 'key: value'", index)
        key = text[: match.start()].rstrip()
        if not key or " #" in key:
            raise self.error("expected 'key: value'", index)
        return key, text[match.end() :]

    def _block_value(self, rest: str, indent: int, index: int) -> Any:
        rest = rest.strip(" \t")
        rest = _strip_tag(rest)
        if not rest or rest.startswith("#"):
            nxt = self._next_content(index + 1)
            if nxt is not None and self._indent(nxt) > indent:
                if self.lines[nxt].lstrip().startswith("- "):
                    raise self.error("sequences ('- item') are not supported", nxt)
                self.pos = nxt
                return self._block_mapping(self._indent(nxt))
            self.pos = index + 1
            return None
        if rest[0] in "{[":
            if rest[0] == "[":
                raise self.error("sequences ('[...]') are not supported", index)
            value, end = self._flow_block(index, rest)
            self.pos = end + 1
            return value
        if rest[0] in "&*!|>":
            raise self.error(f"unsupported YAML syntax {rest[0]!r}", index)
        if rest[0] in ("'", '"'):
            return self._multiline_quoted(rest, index)
        return self._multiline_plain(rest, indent, index)

    def _multiline_quoted(self, rest: str, index: int) -> str:
        quote = rest[0]
        end_index = index
        text = rest
        while _closing_quote(text, 0) < 0:
            end_index += 1
            if end_index >= len(self.lines):
                raise self.error(f"unterminated {quote}quoted{quote} string", index)
            text += "\n" + self.lines[end_index]
        value, end = _quoted(text, 0, self, index)
        tail = text[end:].strip()
        if tail and not tail.startswith("#"):
            raise self.error("unexpected text after the quoted string", end_index)
        self.pos = end_index + 1
        return value

    def _multiline_plain(self, rest: str, indent: int, index: int) -> Optional[str]:
        pieces = [_strip_comment(rest)]
        nxt = index + 1
        while nxt < len(self.lines):
            line = self.lines[nxt]
            if line.strip() and (self._indent(nxt) <= indent or line.lstrip().startswith("#")):
                break
            pieces.append(_strip_comment(line.strip()))
            nxt += 1
        while len(pieces) > 1 and not pieces[-1]:
            pieces.pop()
        self.pos = index + len(pieces)
        for number, piece in enumerate(pieces):
            if ": " in piece or piece.endswith(":"):
                raise self.error(
                    "': ' inside a plain value (wrong indentation, or the value needs quotes)",
                    index + number,
                )
        text = _fold(pieces)
        return None if text in _NULLS else text

    # -- flow mappings ------------------------------------------------------------------------

    def _flow_block(self, index: int, first: str) -> Tuple[Any, int]:
        """Parse a flow collection starting with ``first`` on line ``index`` (may span lines)."""
        text = first
        end_index = index
        while True:
            flow = _Flow(text, self, index)
            try:
                value = flow.value()
                break
            except _Incomplete:
                end_index += 1
                if end_index >= len(self.lines):
                    raise self.error("unterminated flow mapping '{...}'", index) from None
                text += "\n" + self.lines[end_index]
        flow.skip_space()
        if flow.i < len(text):
            raise self.error("unexpected text after the flow mapping", end_index)
        return value, end_index


class _Incomplete(Exception):
    """The flow collection continues on the next line."""


class _Flow:
    """Recursive descent over one flow collection (its lines joined with newlines)."""

    def __init__(self, text: str, parser: _Parser, index: int) -> None:
        self.text = text
        self.i = 0
        self.parser = parser
        self.index = index

    def error(self, message: str) -> MiniYamlError:
        return self.parser.error(f"{message} (in the flow mapping)", self.index)

    def _peek(self) -> str:
        if self.i >= len(self.text):
            raise _Incomplete
        return self.text[self.i]

    def skip_space(self) -> None:
        """Skip blanks, line breaks and comments."""
        while self.i < len(self.text):
            char = self.text[self.i]
            if char == "#" and (self.i == 0 or self.text[self.i - 1] in " \t\n"):
                newline = self.text.find("\n", self.i)
                self.i = len(self.text) if newline < 0 else newline
            elif char in " \t\n":
                self.i += 1
            else:
                return

    def value(self) -> Any:
        self.skip_space()
        char = self._peek()
        if char == "{":
            return self._mapping()
        if char == "[":
            raise self.error("sequences ('[...]') are not supported")
        if char in "&*|>":
            raise self.error(f"unsupported YAML syntax {char!r}")
        if char == "!":
            rest = _strip_tag(self.text[self.i :])
            if rest == self.text[self.i :]:
                raise self.error("unsupported tag")
            self.i = len(self.text) - len(rest)
            return self.value()
        if char in ("'", '"'):
            if _closing_quote(self.text, self.i) < 0:
                raise _Incomplete
            text, self.i = _quoted(self.text, self.i, self.parser, self.index)
            return text
        text = self._plain()
        return None if text in _NULLS else text

    def _plain(self) -> str:
        start = self.i
        while True:
            char = self._peek()
            if char in ",{}[]":
                break
            if char == ":" and self.text[self.i + 1 : self.i + 2] in ("", " ", "\t", "\n"):
                if self.i + 1 >= len(self.text):
                    raise _Incomplete
                break
            if char == ":" and self.text[self.i + 1 : self.i + 2] in (",", "}", "]"):
                break
            if char == "#" and self.i > start and self.text[self.i - 1] in " \t\n":
                break
            self.i += 1
        return _fold([line.strip() for line in self.text[start : self.i].split("\n")])

    def _mapping(self) -> YamlMapping:
        mapping = YamlMapping()
        self.i += 1  # '{'
        while True:
            self.skip_space()
            if self._peek() == "}":
                self.i += 1
                return mapping
            if self._peek() in ("'", '"'):
                if _closing_quote(self.text, self.i) < 0:
                    raise _Incomplete
                key, self.i = _quoted(self.text, self.i, self.parser, self.index)
            else:
                key = self._plain()
                if not key:
                    raise self.error("empty key")
            self.skip_space()
            value: Any = None
            if self._peek() == ":":
                self.i += 1
                self.skip_space()
                if self._peek() not in ",}":
                    value = self.value()
            if key in mapping:
                raise self.error(f"duplicate key {key!r}")
            mapping[key] = value
            mapping.lines[key] = self.index + 1
            self.skip_space()
            if self._peek() == ",":
                self.i += 1
            elif self._peek() != "}":
                raise self.error(f"expected ',' or '}}' after {key!r}")


# -- scalars -----------------------------------------------------------------------------------


def _strip_tag(text: str) -> str:
    for tag in _STRING_TAGS:
        if text.startswith(tag) and text[len(tag) : len(tag) + 1] in (" ", ""):
            return text[len(tag) :].lstrip(" ")
    return text


def _strip_comment(text: str) -> str:
    cut = text.find(" #")
    if text.startswith("#"):
        return ""
    return (text if cut < 0 else text[:cut]).rstrip()


def _fold(pieces: List[str]) -> str:
    """YAML line folding: a line break is a space, each empty line a newline."""
    out = ""
    pending_newlines = 0
    for number, piece in enumerate(pieces):
        if not piece:
            pending_newlines += 1
            continue
        if number:
            out += "\n" * pending_newlines if pending_newlines else " "
        pending_newlines = 0
        out += piece
    return out


def _fold_quoted(pieces: List[str], quote: str) -> str:
    """Join the lines of a multi-line quoted scalar into one text, folding as YAML does.

    A line break between two lines becomes a space, ``n`` empty lines become ``n`` newlines,
    and in double quotes a line ending in an escaping backslash joins the next line directly.
    """
    out = pieces[0] if len(pieces) == 1 else pieces[0].rstrip(" \t")
    blank = 0
    last = len(pieces) - 1
    for number, line in enumerate(pieces[1:], 1):
        stripped = line.lstrip(" \t") if number == last else line.strip(" \t")
        if not stripped and number != last:
            blank += 1
            continue
        if quote == '"' and _escaped_break(out):
            out = out[:-1] + "\n" * blank + stripped
        elif blank:
            out += "\n" * blank + stripped
        else:
            out += " " + stripped
        blank = 0
    return out


def _escaped_break(text: str) -> bool:
    """True when ``text`` ends with an odd number of backslashes (an escaped line break)."""
    count = len(text) - len(text.rstrip("\\"))
    return count % 2 == 1


def _closing_quote(text: str, start: int) -> int:
    """The index of the quote closing the scalar opened at ``text[start]``, or -1."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    return -1


def _quoted(text: str, start: int, parser: _Parser, index: int) -> Tuple[str, int]:
    """Decode the quoted scalar at ``text[start]`` (it may span lines); returns it and the
    index after its closing quote."""
    quote = text[start]
    end = _closing_quote(text, start)
    if end < 0:
        raise parser.error(f"unterminated {quote}quoted{quote} string", index)
    body = _fold_quoted(text[start + 1 : end].split("\n"), quote)
    if quote == "'":
        return body.replace("''", "'"), end + 1
    return _unescape(body, parser, index), end + 1


def _unescape(body: str, parser: _Parser, index: int) -> str:
    out: List[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = body[i + 1 : i + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX_ESCAPES:
            width = _HEX_ESCAPES[code]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise parser.error(f"bad escape '\\{code}{digits}'", index)
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            raise parser.error(f"unknown escape '\\{code}'", index)
    return "".join(out)
