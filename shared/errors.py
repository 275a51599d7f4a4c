"""Error codes written into a token's ``output`` field, and the exception tree.

``ErrorCode`` keeps every number GRID_LRT documented (``docs/errors.rst``) with exactly its
documented meaning, because users and their scripts read these numbers. Codes the launcher
needs for its own failures sit in unused numbers of the right decade:

* ``-2``, ``0``-``4``: job environment and sandbox
* ``1x``: software environment on the worker
* ``2x``: getting data onto the node (download, staging)
* ``3x``: getting results off the node (upload)
* ``9x``: the pipeline itself

Codes stay below 126: 126/127 belong to the shell and 128+N means "killed by signal N"
(the launcher exits ``128 + signum`` when the batch system stops it).

The README's error table is checked against this enum by ``tests/unit/test_errors.py``.
"""

from __future__ import annotations

import enum
from typing import ClassVar, Dict, Tuple

__all__ = [
    "ConfigError",
    "ErrorCode",
    "LrtError",
    "UsageError",
]


class ErrorCode(enum.IntEnum):
    """A documented failure code; the value is what lands in the token's ``output``."""

    # The member order is the README table order.
    SANDBOX_EMPTY = -2
    OK = 0
    ENV_NOT_SET = 1
    PARSET_MISSING = 3
    JOBDIR_MISSING = 4
    ATTEMPTS_EXHAUSTED = 5
    PIPELINE_MISSING = 6
    TOKEN_REFUSED = 8
    SOFTDRIVE_MISSING = 10
    LOFAR_ENV_MISSING = 11
    INIT_ENV_MISSING = 12
    TRANSFER_TOOL_MISSING = 13
    LAUNCHER_INTERNAL = 14
    NO_DOWNLOAD_FILE = 20
    DOWNLOAD_FAILED = 21
    DATA_NOT_STAGED = 22
    CALIBRATION_MISSING = 23
    CHECKSUM_MISMATCH = 24
    SANDBOX_DOWNLOAD_FAILED = 25
    SANDBOX_UNSAFE = 26
    DATA_LOST = 27
    SANDBOX_CHECKSUM_MISMATCH = 28
    SANDBOX_VARIABLES_INVALID = 29
    NO_UPLOAD_FILES = 30
    UPLOAD_FAILED = 31
    UPLOAD_POOLS_FULL = 32
    UPLOAD_EXISTS = 33
    UPLOAD_NO_PARENT = 34
    UPLOAD_CHECKSUM_MISMATCH = 35
    PIPELINE_NO_STDOUT = 90
    PIPELINE_WALLTIME = 91
    PIPELINE_KILLED_OOM = 92
    FILES_INCOMPLETE = 96
    DPPP_MEMORY = 97
    BAD_ALLOC = 98
    PIPELINE_FAILED = 99

    @property
    def description(self) -> str:
        """One line, as shown in the README table and in ``lrt`` output."""
        return _INFO[self][0]

    @property
    def retryable(self) -> bool:
        """True when running the same token again may succeed (an infrastructure failure)."""
        return _INFO[self][1]

    @property
    def documented_by_grid_lrt(self) -> bool:
        """True for the codes GRID_LRT documented; False for codes grid-lrt added."""
        return self in _SEED_CODES

    @classmethod
    def describe(cls, value: object) -> str:
        """Describe any ``output`` value, including codes that are not members."""
        try:
            return cls(int(value)).description  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return "not a grid-lrt error code"


# (description, retryable). Descriptions of the seed codes are GRID_LRT's, word for word
# where GRID_LRT had words.
_INFO: Dict[ErrorCode, Tuple[str, bool]] = {
    ErrorCode.SANDBOX_EMPTY: ("Sandbox downloaded but size 0 kB", True),
    ErrorCode.OK: ("Run OK", False),
    ErrorCode.ENV_NOT_SET: ("One of TOKEN, PICAS_USR, PICAS_DB not set", False),
    ErrorCode.PARSET_MISSING: ("Parset doesn't exist", False),
    ErrorCode.JOBDIR_MISSING: ("$JOBDIR doesn't exist", True),
    ErrorCode.ATTEMPTS_EXHAUSTED: (
        "Gave up: runs of this token were lost or interrupted more than max_scrub times",
        False,
    ),
    ErrorCode.PIPELINE_MISSING: ("Pipeline not found (no master.sh, no command)", False),
    ErrorCode.TOKEN_REFUSED: (
        "Token refused by the launcher's trust policy (its command, or a variable that "
        "changes how programs load)",
        False,
    ),
    ErrorCode.SOFTDRIVE_MISSING: ("Softdrive not found", True),
    ErrorCode.LOFAR_ENV_MISSING: ("LOFAR env cannot be found", True),
    ErrorCode.INIT_ENV_MISSING: ("No init_env script", True),
    ErrorCode.TRANSFER_TOOL_MISSING: ("Transfer tool missing on the worker", True),
    ErrorCode.LAUNCHER_INTERNAL: ("Launcher internal error (traceback in launcher_status)", True),
    ErrorCode.NO_DOWNLOAD_FILE: ("No download file present", False),
    ErrorCode.DOWNLOAD_FAILED: ("Download fails", True),
    ErrorCode.DATA_NOT_STAGED: ("Data not staged", True),
    ErrorCode.CALIBRATION_MISSING: ("Calibrator solutions do not download/extract", True),
    ErrorCode.CHECKSUM_MISMATCH: ("Downloaded file checksum mismatch", True),
    ErrorCode.SANDBOX_DOWNLOAD_FAILED: ("Sandbox download fails", True),
    ErrorCode.SANDBOX_UNSAFE: ("Sandbox refused: unsafe member path or link", False),
    ErrorCode.DATA_LOST: ("Input data lost or unavailable at the storage", False),
    ErrorCode.SANDBOX_CHECKSUM_MISMATCH: ("Sandbox checksum mismatch", True),
    ErrorCode.SANDBOX_VARIABLES_INVALID: (
        "Sandbox variable mapping (tokvar.cfg / config.json) invalid",
        False,
    ),
    ErrorCode.NO_UPLOAD_FILES: ("No files in uploads folder", False),
    ErrorCode.UPLOAD_FAILED: ("Upload fails", True),
    ErrorCode.UPLOAD_POOLS_FULL: ("Upload fails: pools full", True),
    ErrorCode.UPLOAD_EXISTS: ("Upload fails: file already exists", False),
    ErrorCode.UPLOAD_NO_PARENT: ("Upload fails: parent folder missing", False),
    ErrorCode.UPLOAD_CHECKSUM_MISMATCH: ("Uploaded file checksum mismatch", True),
    ErrorCode.PIPELINE_NO_STDOUT: ("Pipeline stdout file cannot be found", False),
    ErrorCode.PIPELINE_WALLTIME: ("Pipeline killed: wall-time limit reached", True),
    ErrorCode.PIPELINE_KILLED_OOM: ("Pipeline killed: out of memory", True),
    ErrorCode.FILES_INCOMPLETE: ("Files not downloaded fully", True),
    ErrorCode.DPPP_MEMORY: ("DPPP memory error", True),
    ErrorCode.BAD_ALLOC: ("bad_alloc", True),
    ErrorCode.PIPELINE_FAILED: ("Generic pipeline failure", False),
}

_SEED_CODES = frozenset(
    {-2, 0, 1, 3, 4, 10, 11, 12, 20, 21, 22, 23, 30, 31, 32, 33, 34, 90, 96, 97, 98, 99}
)


class LrtError(Exception):
    """Base of every error grid-lrt raises on purpose.

    ``str(err)`` is a complete sentence for a person; ``hint`` says what to do about it.
    The CLI prints both and exits with ``exit_status``, never with a traceback.
    """

    exit_status: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(LrtError):
    """The user asked for something that cannot be done as asked (bad argument, bad name)."""

    exit_status = 2


class ConfigError(LrtError):
    """A configuration or input file is wrong; the message names the file, line and key."""

    exit_status = 2
