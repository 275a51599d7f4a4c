"""Bad-input corpus of GRID_LRT's API (issue 9): each call must raise our error with a
message that names the problem and holds no secret, and change no document of the seeded
database (tests/corpus/client_kit.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, Type

import pytest

from grid_lrt.client.staging.srmlist import srmlist
from grid_lrt.client.token import TokenHandler, TokenSet
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ConfigError, LrtError, UsageError
from tests.corpus.client_kit import FILES, SECRET, TYPE


@dataclass(frozen=True)
class ApiCase:
    """``call(folder)`` must raise ``error`` whose message holds ``message``."""

    name: str
    call: Callable[[Path], object]
    error: Type[LrtError]
    message: str


def _write(folder: Path, name: str) -> str:
    path = folder / name
    path.write_text(FILES[name], encoding="utf-8")
    return str(path)


API_CASES: Sequence[ApiCase] = [
    ApiCase(
        "create-token-nan",
        lambda d: TokenHandler(TYPE).create_token(keys={"w": math.nan}, append="n"),
        UsageError,
        "token field 'w' is nan: not a finite number",
    ),
    ApiCase(
        "create-token-of-another-type",
        lambda d: TokenHandler("a").create_token(append="b_x"),
        UsageError,
        "already used by tokens of another type, e.g. t_a_b_x (type 'a_b')",
    ),
    ApiCase(
        "get-missing-attachment",
        lambda d: TokenHandler(TYPE).get_attachment(f"t_{TYPE}_e0", "no.txt", str(d / "x")),
        UsageError,
        f"token 't_{TYPE}_e0' has no attachment 'no.txt'",
    ),
    ApiCase(
        "reset-unknown-view",
        lambda d: TokenHandler(TYPE).reset_tokens("nosuchview"),
        UsageError,
        "view 'nosuchview' does not exist",
    ),
    ApiCase(
        "del-unknown-view",
        lambda d: TokenHandler(TYPE).del_view("nosuchview"),
        UsageError,
        "view 'nosuchview' does not exist",
    ),
    ApiCase(
        "tokenset-bad-config",
        lambda d: TokenSet(TokenHandler(TYPE), tok_config=_write(d, "unknown_section.cfg")),
        ConfigError,
        "unknown section 'Sandbx'",
    ),
    ApiCase(
        "tokenset-nan-config",
        lambda d: TokenSet(TokenHandler(TYPE), tok_config=_write(d, "nan.cfg")),
        ConfigError,
        "token field 'weight' is nan",
    ),
    ApiCase(
        "srmlist-not-a-link",
        lambda d: srmlist.from_file(_write(d, "notalink.srm")),
        LrtError,
        "line 2",
    ),
    ApiCase(
        "tokenhandler-bad-url",
        lambda d: TokenHandler(TYPE, srv="http://[::1", uname="u", pwd=SECRET, dbn="x"),
        UsageError,
        "srv is not a valid server URL",
    ),
    ApiCase(
        "archive-a-missing-token",
        lambda d: TokenHandler(TYPE).archive_a_token("t_none"),
        UsageError,
        "token 't_none' does not exist",
    ),
    ApiCase(
        "archive-into-a-file",
        lambda d: TokenHandler(TYPE).archive_tokens(dest=_write(d, "afile")),
        UsageError,
        "is a file, not a folder",
    ),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c.name for c in API_CASES])
def test_api_case(
    case: ApiCase, client_db: CouchDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # GRID_LRT's archive functions write into the current folder
    with pytest.raises(case.error) as info:
        case.call(tmp_path)
    assert case.message in str(info.value)
    assert SECRET not in str(info.value) + info.value.hint
