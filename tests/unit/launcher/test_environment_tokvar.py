"""tokvar.cfg as the launcher reads it: PyYAML's safe loader with strings for every scalar,
GRID_LRT's Python 2 tags, the line of each key; errors end the token with 29 and name the line.

The dumps are made by real PyYAML (``yaml.dump`` as GRID_LRT ran it, in every style it could
write) and read back through :func:`read_tokvar`, the function ``token_environment`` uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from grid_lrt.launcher.environment import TokvarMapping, read_tokvar
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.shared.errors import ErrorCode

SEED_SHELL_VARIABLES = {
    "_id": "$TOKEN",
    "OBSID": "$OBSID",
    "STARTSB": "$STARTSB",
    "NUMSB": "$NUMSB",
    "times": "$TIMES",
    "_attachments": {"cal.parset": "$PARSET", "srm.txt": "srm.txt"},
}


def _read(tmp_path: Path, text: str) -> TokvarMapping:
    path = tmp_path / "tokvar.cfg"
    path.write_text(text, encoding="utf-8")
    return read_tokvar(path)


TRICKY = {
    "a": "000",
    "b": "yes",
    "c": "null",
    "d": "",
    "e": "x: y",
    "f": "#hash",
    "g": "a #b",
    "h": "it's",
    "i": 'say "hi"',
    "j": "line1\nline2\n\nline4",
    "k": "tab\there",
    "l": " lead",
    "m": "trail ",
    "n": "ünïcode ✓",
    "o": "\x07bell",
    "p": "-dash",
    "q": "[x]",
    "r": "{x}",
    "s": "@at",
    "t": "%p",
    "u": "&a",
    "v": "*b",
    "w": "!t",
    "x": "|p",
    "y": ">q",
    "z": "1.5",
    "aa": "~",
    "bb": "True",
    "cc": "a,b",
    "dd": "?",
    "ee": "-",
    "ff": ":",
    "gg": "a:b",
    "hh": "'",
    "ii": '"',
    "jj": "\\",
    "kk": "0x1F",
    "ll": "=",
    "mm": "<<",
    "gsiftp://host:2811/pnfs/x y": "$URL",
    "000": "key quoted",
    "long plain": " ".join(["word"] * 50),
    "long quoted": "x: " + " ".join(["w"] * 50),
    "long double": "\n".join(["ab cd"] * 12) + "\t",
    "_attachments": {"Pre-Facet-Calibrator-1.parset": "$PARSET", "srm.txt": "srm.txt"},
}
DUMP_OPTIONS = [
    {},
    {"default_flow_style": None},  # PyYAML < 5.1: inner mappings in flow style
    {"default_flow_style": True},
    {"width": 20},
    {"width": 20, "default_flow_style": None},
    {"width": 20, "default_flow_style": True},
    {"allow_unicode": True},
    {"default_style": '"'},
    {"default_style": "'"},
    {"explicit_start": True, "explicit_end": True},
    {"indent": 4},
    {"sort_keys": False},
]


@pytest.mark.parametrize("options", DUMP_OPTIONS, ids=lambda o: repr(o) or "default")
@pytest.mark.parametrize("data", [SEED_SHELL_VARIABLES, TRICKY], ids=["seed", "tricky"])
def test_reads_back_what_pyyaml_dumped(
    tmp_path: Path, data: Dict[str, Any], options: Dict[str, Any]
) -> None:
    text = yaml.dump(data, **options)
    assert yaml.safe_load(text) == data
    assert _read(tmp_path, text) == data


def test_reads_python2_tags_comments_and_blank_lines(tmp_path: Path) -> None:
    text = (
        "# tokvar.cfg written by GRID_LRT under Python 2\n"
        "\n"
        "!!python/unicode 'OBSID': !!python/unicode '$OBSID'   # the observation\n"
        "\n"
        "_attachments:\n"
        "    # the parset\n"
        "    !!python/str 'a.parset': $PARSET\n"
        "\n"
        "    srm.txt: srm.txt\n"
        "empty:\n"
        "nothing: ~\n"
        "flow: {!!python/unicode 'x': !!python/str '$X',\n"
        "  y: $Y}\n"
        "...\n"
    )
    parsed = _read(tmp_path, text)
    assert parsed == {
        "OBSID": "$OBSID",
        "_attachments": {"a.parset": "$PARSET", "srm.txt": "srm.txt"},
        "empty": None,
        "nothing": None,
        "flow": {"x": "$X", "y": "$Y"},
    }
    assert parsed.lines == {"OBSID": 3, "_attachments": 5, "empty": 10, "nothing": 11, "flow": 12}
    assert parsed["_attachments"].lines == {"a.parset": 7, "srm.txt": 9}
    assert parsed["flow"].lines == {"x": 12, "y": 13}


@pytest.mark.parametrize("text", ["", "# only a comment\n\n", "{}\n", "---\n...\n", "~\n"])
def test_empty_documents(tmp_path: Path, text: str) -> None:
    assert _read(tmp_path, text) == {}


def test_every_scalar_is_a_string(tmp_path: Path) -> None:
    """No int, bool, float, date or merge-key resolution (hand-written files read as text)."""
    text = "a: 000\nb: yes\nc: 1.5\nd: True\ne: 2024-01-01\nf: <<\ng: 0x1F\nh: .inf\n7: x\n"
    assert _read(tmp_path, text) == {
        "a": "000",
        "b": "yes",
        "c": "1.5",
        "d": "True",
        "e": "2024-01-01",
        "f": "<<",
        "g": "0x1F",
        "h": ".inf",
        "7": "x",
    }
    assert _read(tmp_path, "a: ~\nb: null\nc: NULL\nd:\ne: ''\n") == {
        "a": None,
        "b": None,
        "c": None,
        "d": None,
        "e": "",
    }


def test_valid_yaml_the_seed_never_wrote_is_read_as_yaml(tmp_path: Path) -> None:
    """Block scalars, complex keys, an indented document, anchors: YAML, read as such."""
    assert _read(tmp_path, "a: |\n  block\n") == {"a": "block\n"}
    assert _read(tmp_path, "? complex\n: value\n") == {"complex": "value"}
    assert _read(tmp_path, "  a: b\n") == {"a": "b"}
    assert _read(tmp_path, "a: &x $A\nb: *x\n") == {"a": "$A", "b": "$A"}
    assert _read(tmp_path, "\ufeffa: b\n") == {"a": "b"}  # a byte-order mark


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: b\n---\nc: d\n", 2, "but found another document"),
        ('a: "bad \\q escape"\n', 1, "found unknown escape character 'q'"),
        ("a: {b: c\n", 2, "(while parsing a flow mapping, line 1)"),
        ("a: b: c\n", 1, "mapping values are not allowed here"),
        ("a: 'x' trailing\n", 1, "expected <block end>, but found '<scalar>'"),
        ("a: &x {b: *x}\n", 1, "found unconstructable recursive node"),
        ("a: !!python/unicode [x]\n", 1, "expected a scalar node, but found sequence"),
        ("a: b\n!!python/name:os.system x: y\n", 2, "could not determine a constructor"),
        ("a: b\n? [c, d]\n: e\n", 2, "a key must be a string, not list"),
        ("a: $A\n\x00\n", 2, "character #x0000 is not allowed"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    with pytest.raises(TokenFailure) as info:
        _read(tmp_path, text)
    assert info.value.code is ErrorCode.SANDBOX_VARIABLES_INVALID
    assert info.value.message.startswith(f"tokvar.cfg, line {line}: ")
    assert words in info.value.message
    assert "yaml.dump" in info.value.hint


def test_unreadable_file_is_code_29(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").write_bytes(b"A: \xff\xfe\n")
    with pytest.raises(TokenFailure) as info:
        read_tokvar(tmp_path / "tokvar.cfg")
    assert info.value.code is ErrorCode.SANDBOX_VARIABLES_INVALID
    assert "tokvar.cfg cannot be read" in info.value.message
