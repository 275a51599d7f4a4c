"""``shared/locality.py``: the locality words, and reading ``user.status`` the one way.

The contexts here are small stand-ins for a gfal2 context (``read_user_status`` takes the
context and the error class as arguments); real gfal2 reads the same attribute in
tests/integration/test_gfal.py (the client and the launcher on the same files) and
tests/integration/test_storage.py.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import pytest

from grid_lrt.shared.locality import USER_STATUS, Locality, UserStatus, read_user_status


class GError(Exception):
    """Shaped like gfal2's: ``message`` and ``code``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Context:
    """Answers ``getxattr`` from ``values`` (a str, or a GError to raise)."""

    def __init__(self, values: Dict[str, object]) -> None:
        self.values = values
        self.asked: List[str] = []

    def getxattr(self, url: str, name: str) -> object:
        self.asked.append(name)
        value = self.values[url]
        if isinstance(value, BaseException):
            raise value
        return value


def test_the_words_and_what_they_mean() -> None:
    assert [s.value for s in Locality] == [
        "ONLINE",
        "NEARLINE",
        "ONLINE_AND_NEARLINE",
        "UNAVAILABLE",
        "LOST",
        "ERROR",
    ]
    assert {s for s in Locality if s.on_disk} == {Locality.ONLINE, Locality.ONLINE_AND_NEARLINE}
    assert {s for s in Locality if s.gone} == {Locality.LOST, Locality.UNAVAILABLE}
    assert {s for s in Locality if s.only_on_tape} == {Locality.NEARLINE}
    assert Locality.NEARLINE == "NEARLINE"  # a str: the storage's words compare equal


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("ONLINE", Locality.ONLINE),
        ("LOST", Locality.LOST),
        ("online", None),  # exact: callers decide about case
        ("TAPE", None),
        ("", None),
        (None, None),
    ],
)
def test_of(word: Optional[str], expected: Optional[Locality]) -> None:
    assert Locality.of(word) is expected


def test_read_user_status_strips_the_value_and_checks_nothing() -> None:
    ctx = Context({"a": " NEARLINE\n", "b": "WEIRD", "c": ""})
    assert read_user_status(ctx, "a", GError) == UserStatus("NEARLINE")
    assert read_user_status(ctx, "b", GError) == UserStatus("WEIRD", None)
    assert read_user_status(ctx, "c", GError).value == ""
    assert ctx.asked == [USER_STATUS] * 3 == ["user.status"] * 3


@pytest.mark.parametrize("word", ["LOST", "UNAVAILABLE"])
def test_a_locality_reported_as_an_error_is_a_value(word: str) -> None:
    error = GError(f"Error on HEAD: file locality reported as {word} (ENOENT)", 2)
    status = read_user_status(Context({"u": error}), "u", GError)
    assert status == UserStatus(word, error)


def test_other_errors_propagate() -> None:
    error = GError("No such file or directory", 2)
    with pytest.raises(GError) as info:
        read_user_status(Context({"u": error}), "u", GError)
    assert info.value is error
    with pytest.raises(KeyError):  # not the error class given: not ours to look at
        read_user_status(Context({}), "missing", GError)


def test_file_state_is_the_same_class() -> None:
    """``FileState`` (client, seed API) is this enum. Not a worker test: the client is 3.11."""
    from grid_lrt.client.staging.base import FileState

    assert FileState is Locality
    assert FileState("NEARLINE") is Locality.NEARLINE
