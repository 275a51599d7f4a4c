"""ErrorCode: every documented GRID_LRT code, exact numbers; README table matches the enum."""

from __future__ import annotations

import re

import pytest

from grid_lrt.shared.errors import ErrorCode
from tests.support.paths import ROOT

# The numbers and meanings GRID_LRT documented (docs/errors.rst), which users' scripts read.
SEED = {
    -2: "sandbox downloaded but size 0 kb",
    0: "run ok",
    1: "one of token, picas_usr, picas_db not set",
    3: "parset doesn't exist",
    4: "$jobdir doesn't exist",
    10: "softdrive not found",
    11: "lofar env cannot be found",
    12: "no init_env script",
    20: "no download file present",
    21: "download fails",
    22: "data not staged",
    23: "calibrator solutions do not download/extract",
    30: "no files in uploads folder",
    31: "upload fails",
    32: "upload fails: pools full",
    33: "upload fails: file already exists",
    34: "upload fails: parent folder missing",
    90: "pipeline stdout file cannot be found",
    96: "files not downloaded fully",
    97: "dppp memory error",
    98: "bad_alloc",
    99: "generic pipeline failure",
}


@pytest.mark.parametrize(("number", "meaning"), sorted(SEED.items()))
def test_seed_code_keeps_number_and_meaning(number: int, meaning: str) -> None:
    code = ErrorCode(number)
    assert code.description.lower() == meaning
    assert code.documented_by_grid_lrt


def test_new_codes_sit_in_unused_numbers_of_their_decade() -> None:
    added = [c for c in ErrorCode if not c.documented_by_grid_lrt]
    assert added, "the launcher needs codes of its own"
    for code in added:
        assert code.value not in SEED
        assert 0 < code.value < 126, "126/127 belong to the shell, 128+N to signals"
    assert ErrorCode.TRANSFER_TOOL_MISSING == 13
    assert ErrorCode.CHECKSUM_MISMATCH == 24
    assert ErrorCode.SANDBOX_VARIABLES_INVALID == 29


def test_an_invalid_variable_mapping_has_its_own_code() -> None:
    """-2 means an empty sandbox download (GRID_LRT's words); a bad tokvar.cfg is 29."""
    invalid = ErrorCode.SANDBOX_VARIABLES_INVALID
    assert invalid is not ErrorCode.SANDBOX_EMPTY
    assert "tokvar.cfg" in invalid.description and "config.json" in invalid.description
    assert not invalid.retryable  # the same sandbox and token fail the same way again
    assert not invalid.documented_by_grid_lrt
    assert ErrorCode.SANDBOX_EMPTY.description == "Sandbox downloaded but size 0 kB"


def test_every_member_has_description_and_retryable_flag() -> None:
    for code in ErrorCode:
        assert code.description.strip() and code.description == code.description.strip()
        assert isinstance(code.retryable, bool)
    assert not ErrorCode.OK.retryable
    assert ErrorCode.DOWNLOAD_FAILED.retryable and ErrorCode.UPLOAD_POOLS_FULL.retryable
    assert not ErrorCode.PARSET_MISSING.retryable and not ErrorCode.UPLOAD_EXISTS.retryable


def test_describe_handles_non_members() -> None:
    assert ErrorCode.describe("22") == "Data not staged"
    assert ErrorCode.describe(7) == "not a grid-lrt error code"
    assert ErrorCode.describe("") == "not a grid-lrt error code"


def test_readme_error_table_matches_enum() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(
        r"^\|\s*(-?\d+)\s*\|\s*`(\w+)`\s*\|\s*(.+?)\s*\|\s*(yes|no)\s*\|\s*(yes|no)\s*\|$",
        section,
        flags=re.M,
    )
    table = {
        int(n): (name, desc, retry == "yes", seed == "yes") for n, name, desc, retry, seed in rows
    }
    expected = {
        c.value: (c.name, c.description, c.retryable, c.documented_by_grid_lrt) for c in ErrorCode
    }
    assert table == expected
