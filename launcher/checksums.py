"""Streaming file checksums and the ``algo:hex`` notation tokens use.

Storages report adler32 in different spellings (``a1b2c3``, ``00A1B2C3``): compare with
:func:`same_checksum`, never with ``==``. Files are read in chunks, so a 10 GB measurement set
costs no memory.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Tuple, Union

from grid_lrt.shared.errors import LrtError

__all__ = [
    "ALGORITHMS",
    "ChecksumFormatError",
    "adler32_file",
    "file_checksum",
    "normalize_checksum",
    "parse_checksum",
    "same_checksum",
]

#: The algorithms :func:`file_checksum` computes.
ALGORITHMS = ("adler32", "md5", "sha256")

_CHUNK = 1 << 20
_HEX_DIGITS = frozenset("0123456789abcdef")
_HEX_LENGTH = {"adler32": 8, "md5": 32, "sha256": 64}

PathLike = Union[str, Path]


class ChecksumFormatError(LrtError):
    """A checksum string or algorithm name that cannot be understood."""


def _algorithm(name: str) -> str:
    algo = name.strip().lower()
    if algo not in ALGORITHMS:
        raise ChecksumFormatError(
            f"unknown checksum algorithm {name!r}",
            hint=f"use one of: {', '.join(ALGORITHMS)}",
        )
    return algo


def adler32_file(path: PathLike) -> str:
    """The adler32 of a file: 8 lower-case hex digits, zero padded (like gfal2 and dCache).

    Raises:
        OSError: The file cannot be read.
    """
    value = 1
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def file_checksum(path: PathLike, algorithm: str = "adler32") -> str:
    """The checksum of a file as lower-case hex.

    Args:
        path: The local file.
        algorithm: ``adler32``, ``md5`` or ``sha256`` (any case).

    Raises:
        ChecksumFormatError: Unknown algorithm.
        OSError: The file cannot be read.
    """
    algo = _algorithm(algorithm)
    if algo == "adler32":
        return adler32_file(path)
    digest = hashlib.new(algo)
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_checksum(text: str) -> Tuple[str, str]:
    """Split ``"adler32:0a1b2c3d"`` into ``("adler32", "0a1b2c3d")``.

    The algorithm is lower-cased, the value is lower-cased and, for adler32, zero padded to
    8 digits. A bare hex value without ``algo:`` is refused (the algorithm must be explicit).

    Raises:
        ChecksumFormatError: Missing ``:``, unknown algorithm, or a value that is not hex of
            the right length.
    """
    if not isinstance(text, str) or ":" not in text:
        raise ChecksumFormatError(
            f"checksum {text!r} is not of the form ALGORITHM:HEX",
            hint="write it like adler32:0a1b2c3d, md5:<32 hex> or sha256:<64 hex>",
        )
    name, _, value = text.partition(":")
    algo = _algorithm(name)
    hexval = value.strip().lower()
    if hexval.startswith("0x"):
        hexval = hexval[2:]
    limit = _HEX_LENGTH[algo]
    ok_length = 0 < len(hexval) <= limit if algo == "adler32" else len(hexval) == limit
    if not hexval or not set(hexval) <= _HEX_DIGITS or not ok_length:
        raise ChecksumFormatError(
            f"checksum {text!r}: {value!r} is not a {algo} value",
            hint=f"{algo} is {limit} hexadecimal digits",
        )
    return algo, normalize_checksum(hexval, algo)


def normalize_checksum(value: str, algorithm: str = "adler32") -> str:
    """Lower-case ``value``; adler32 is also zero padded: ``A1B2C3`` -> ``00a1b2c3``."""
    hexval = value.strip().lower()
    if hexval.startswith("0x"):
        hexval = hexval[2:]
    if algorithm.strip().lower() == "adler32" and 0 < len(hexval) < 8:
        hexval = hexval.zfill(8)
    return hexval


def _split(text: str) -> Tuple[str, str]:
    """``"ADLER32: 0A1b"`` -> ``("adler32", "0a1b")``; ``"0a1b"`` -> ``("", "0a1b")``."""
    text = (text or "").strip()
    prefix = ""
    if ":" in text:
        prefix, _, text = text.partition(":")
    value = text.strip().lower()
    if value.startswith("0x"):
        value = value[2:]
    return prefix.strip().lower(), value


def same_checksum(a: str, b: str, algorithm: str = "adler32") -> bool:
    """True when two checksum values are equal, ignoring case (and, for adler32, leading zeros).

    Either side may carry an ``algo:`` prefix (a value without one is taken to be of the other
    side's algorithm, else of ``algorithm``); two different prefixes never match, and empty or
    non-hex values never match anything.
    """
    algo_a, val_a = _split(a)
    algo_b, val_b = _split(b)
    if algo_a and algo_b and algo_a != algo_b:
        return False
    algo = algo_a or algo_b or algorithm.strip().lower()
    if not val_a or not val_b or not set(val_a) <= _HEX_DIGITS or not set(val_b) <= _HEX_DIGITS:
        return False
    if algo == "adler32":
        return int(val_a, 16) == int(val_b, 16)
    return val_a == val_b
