"""Token ids and attachment names as archive file names (issue 9, finding 9): one safe path
component each, reversible with ``unquote`` while short, never two texts on one name."""

from __future__ import annotations

import itertools
from urllib.parse import unquote

import pytest

from grid_lrt.client.archive_names import (
    NAME_LIMIT,
    attachment_file_name,
    dump_file_name,
    safe_name,
)

NASTY = [
    "../../victim/autostart/x",
    "..",
    ".",
    "/etc/passwd",
    "/",
    "a\x00b",
    "\x00",
    "-rf",
    ".bashrc",
    "C:\\Windows\\x",
    "100%",
    "%2F",
    "tÿpe",
    "töpe",
    "日本",
    "\udcff",  # a lone surrogate: JSON allows it
    "x" * 1000,
    "x" * 999,
    "é" * 200,
    "",
    "a b\tc\nd",
    "~",
    "a~b",
]

PLAIN = ["t_L229507_pref_cal1_L229507_SB000", "srm.txt", "attempt1_stdout.log", "x.parset"]


@pytest.mark.parametrize("text", NASTY + PLAIN)
def test_one_safe_component(text: str) -> None:
    name = safe_name(text)
    assert name and name not in (".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert name.isascii() and name.isprintable() and " " not in name
    assert not name.startswith((".", "-"))
    assert len(name) <= NAME_LIMIT


@pytest.mark.parametrize("text", [t for t in NASTY + PLAIN if t and len(t) < 30])
def test_short_names_decode_back(text: str) -> None:
    assert unquote(safe_name(text), errors="surrogatepass") == text


@pytest.mark.parametrize("text", PLAIN)
def test_ordinary_names_stay_as_they_are(text: str) -> None:
    assert safe_name(text) == text
    assert dump_file_name(text) == f"{text}.dump"


def test_no_two_texts_share_a_name() -> None:
    texts = set(NASTY + PLAIN) | {"x" * 1000 + "y", "%" * 60, "%" * 61}
    names = [safe_name(t) for t in texts]
    assert len(set(names)) == len(texts)


def test_long_names_are_cut_on_an_escape_boundary() -> None:
    name = safe_name("é" * 200)
    assert "~" in name and len(name) <= NAME_LIMIT
    head = name.split("~")[0]
    assert unquote(head) == "é" * (len(head) // 6)


def test_dump_and_attachment_files_never_meet() -> None:
    ids = ["t_a", "t_a_attachment_b", "t_a_attachment_b.dump", "t", "a_attachment_"]
    names = ["b", "b.dump", "attachment_b", "_attachment_b.dump", ""]
    files = [dump_file_name(i) for i in ids]
    files += [attachment_file_name(i, n) for i, n in itertools.product(ids, names)]
    assert len(set(files)) == len(files)
    for token_id, name in itertools.product(ids, names):
        head, _, tail = attachment_file_name(token_id, name).partition("_attachment_")
        assert unquote(head) == token_id and (unquote(tail) == name or not name)


def test_whole_file_names_fit_a_file_system() -> None:
    assert len(attachment_file_name("i" * 5000, "n" * 5000).encode()) <= 255


def test_a_partitioned_id_keeps_its_colon_out_of_the_file_name() -> None:
    assert dump_file_name("L654321:t_cal_L654321_SB000") == "L654321%3At_cal_L654321_SB000.dump"
