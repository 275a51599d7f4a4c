"""Streaming checksums and the ``algo:hex`` notation (grid_lrt.launcher.checksums)."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import pytest

from grid_lrt.launcher.checksums import (
    ChecksumFormatError,
    adler32_file,
    file_checksum,
    normalize_checksum,
    parse_checksum,
    same_checksum,
)
from grid_lrt.shared.errors import LrtError


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """2.5 MiB of random bytes: more than two read chunks."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(5 * (1 << 19)))
    return path


def test_adler32_file_matches_zlib_over_several_chunks(big_file: Path) -> None:
    data = big_file.read_bytes()
    assert adler32_file(big_file) == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
    assert adler32_file(str(big_file)) == adler32_file(big_file)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "00000001"), (b"a", "00620062"), (b"hello\n", "084b021f")],
)
def test_adler32_file_is_zero_padded_lower_case(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    assert adler32_file(path) == expected


@pytest.mark.parametrize(
    ("algorithm", "reference"),
    [("md5", hashlib.md5), ("sha256", hashlib.sha256), ("SHA256", hashlib.sha256)],
)
def test_file_checksum_matches_hashlib(big_file: Path, algorithm: str, reference: object) -> None:
    expected = reference(big_file.read_bytes()).hexdigest()  # type: ignore[operator]
    assert file_checksum(big_file, algorithm) == expected


def test_file_checksum_adler32_is_the_default(big_file: Path) -> None:
    assert file_checksum(big_file) == adler32_file(big_file)
    assert file_checksum(big_file, "ADLER32") == adler32_file(big_file)


def test_file_checksum_unknown_algorithm(big_file: Path) -> None:
    with pytest.raises(ChecksumFormatError, match="crc32") as info:
        file_checksum(big_file, "crc32")
    assert "adler32" in info.value.hint


def test_file_checksum_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_checksum(tmp_path / "nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("adler32:0a1b2c3d", ("adler32", "0a1b2c3d")),
        ("ADLER32:A1B2C3", ("adler32", "00a1b2c3")),
        ("adler32: 0x1 ", ("adler32", "00000001")),
        ("md5:" + "A" * 32, ("md5", "a" * 32)),
        ("sha256:" + "0" * 64, ("sha256", "0" * 64)),
    ],
)
def test_parse_checksum(text: str, expected: tuple) -> None:  # type: ignore[type-arg]
    assert parse_checksum(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0a1b2c3d", "ALGORITHM:HEX"),
        ("", "ALGORITHM:HEX"),
        ("crc32:1234", "unknown checksum algorithm"),
        ("adler32:", "not a adler32 value"),
        ("adler32:xyz", "not a adler32 value"),
        ("adler32:123456789", "not a adler32 value"),
        ("md5:abc", "not a md5 value"),
    ],
)
def test_parse_checksum_refuses_bad_input(text: str, needle: str) -> None:
    with pytest.raises(ChecksumFormatError, match=needle) as info:
        parse_checksum(text)
    assert isinstance(info.value, LrtError)
    assert info.value.hint


def test_parse_checksum_refuses_non_strings() -> None:
    with pytest.raises(ChecksumFormatError):
        parse_checksum(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("a1b2c3", "00a1b2c3"),
        ("00A1B2C3", "a1b2c3"),
        ("adler32:00a1b2c3", "A1B2C3"),
        ("adler32:1", "ADLER32:00000001"),
        ("0x00a1b2c3", "a1b2c3"),
    ],
)
def test_same_checksum_ignores_case_and_leading_zeros(a: str, b: str) -> None:
    assert same_checksum(a, b)
    assert same_checksum(b, a)


@pytest.mark.parametrize(
    ("a", "b", "algorithm"),
    [
        ("a1b2c3", "a1b2c4", "adler32"),
        ("", "00000000", "adler32"),
        ("", "", "adler32"),
        ("adler32:a1b2c3", "md5:a1b2c3", "adler32"),
        ("zz", "zz", "adler32"),
        ("0abc", "abc", "md5"),  # leading zeros count for digests
    ],
)
def test_same_checksum_differences(a: str, b: str, algorithm: str) -> None:
    assert not same_checksum(a, b, algorithm)


def test_same_checksum_takes_the_algorithm_from_a_prefix() -> None:
    assert same_checksum("md5:" + "ab" * 16, "AB" * 16)
    assert not same_checksum("md5:0" + "a" * 31, "a" * 31)


def test_normalize_checksum() -> None:
    assert normalize_checksum("A1B2C3") == "00a1b2c3"
    assert normalize_checksum(" 0XA1 ") == "000000a1"
    assert normalize_checksum("ABC", "md5") == "abc"
    assert normalize_checksum("") == ""
