"""Token → environment: tokvar.cfg (v0), config.json (v1), attachments as files.

How tokvar.cfg itself is read (PyYAML's safe loader, strings only, GRID_LRT's dumps) is in
test_environment_tokvar.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from grid_lrt.launcher.environment import export_value, token_environment
from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.shared.errors import ErrorCode

TOKEN: Dict[str, Any] = {
    "_id": "L229507_SB000",
    "type": "pref_cal1",
    "OBSID": "L229507",
    "STARTSB": "000",
    "NUMSB": 10,
    "times": {"todo": 1},
    "lock": 0,
    "flags": ["a", "b"],
    "none": None,
    "ok": True,
    "_attachments": {"srm.txt": {"stub": True}, "cal.parset": {"stub": True}},
}
ATTACHMENTS = {"srm.txt": b"srm://a\nsrm://b\n", "cal.parset": b"msin=x\n", "x y.txt": b"sp"}


class Fetcher:
    """Serves attachments from a dict and counts the calls."""

    def __init__(self, data: Dict[str, bytes]) -> None:
        self.data = data
        self.calls: List[str] = []

    def __call__(self, name: str) -> bytes:
        self.calls.append(name)
        if name not in self.data:
            raise TokenFailure(ErrorCode.NO_DOWNLOAD_FILE, f"no attachment {name!r}")
        return self.data[name]


def _env(token: Dict[str, Any], jobdir: Path, fetch: Fetcher) -> Dict[str, str]:
    return token_environment(token, jobdir, fetch_attachment=fetch)


def _tokvar(jobdir: Path, mapping: Dict[str, Any], **dump_options: Any) -> None:
    (jobdir / "tokvar.cfg").write_text(yaml.dump(mapping, **dump_options))


SEED_SHELL_VARIABLES = {
    "_id": "$TOKEN",
    "OBSID": "$OBSID",
    "STARTSB": "$STARTSB",
    "NUMSB": "$NUMSB",
    "times": "$TIMES",
    "_attachments": {"cal.parset": "$PARSET", "srm.txt": "srm.txt"},
}


@pytest.mark.parametrize("flow", [False, None, True])
def test_tokvar_as_grid_lrt_wrote_it(tmp_path: Path, flow: Any) -> None:
    _tokvar(tmp_path, SEED_SHELL_VARIABLES, default_flow_style=flow)
    fetch = Fetcher(ATTACHMENTS)
    env = _env(TOKEN, tmp_path, fetch)
    assert env == {
        "TOKEN": "L229507_SB000",
        "TOKEN_TYPE": "pref_cal1",
        "JOBDIR": str(tmp_path),
        "OBSID": "L229507",
        "STARTSB": "000",
        "NUMSB": "10",
        "TIMES": '{"todo": 1}',
        "PARSET": "cal.parset",
    }
    assert (tmp_path / "srm.txt").read_bytes() == ATTACHMENTS["srm.txt"]
    assert (tmp_path / "cal.parset").read_bytes() == ATTACHMENTS["cal.parset"]
    assert sorted(fetch.calls) == ["cal.parset", "srm.txt"]
    assert not list(tmp_path.glob(".*.part"))


def test_tokvar_missing_key_is_empty_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "tokvar.cfg").write_text("# from the sandbox\nCAL_OBSID: '$CAL_OBSID'\n")
    with caplog.at_level(logging.WARNING, logger="grid_lrt.launcher.environment"):
        env = _env(TOKEN, tmp_path, Fetcher({}))
    assert env["CAL_OBSID"] == ""
    assert "CAL_OBSID" in caplog.text and "tokvar.cfg, line 2" in caplog.text


def test_values_exported(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").write_text(
        "flags: $FLAGS\nnone: $NONE\nok: ${OK}\nlock: LOCK  # '$' is optional\n"
    )
    env = _env(TOKEN, tmp_path, Fetcher({}))
    assert json.loads(env["FLAGS"]) == ["a", "b"]
    assert env["NONE"] == ""
    assert env["OK"] == "True"
    assert env["LOCK"] == "0"
    assert export_value({"k": [1, 2]}) == '{"k": [1, 2]}'
    assert export_value(1.5) == "1.5"


def test_no_mapping_at_all(tmp_path: Path) -> None:
    fetch = Fetcher(ATTACHMENTS)
    env = _env({"_id": "t1", "type": "x"}, tmp_path, fetch)
    assert env == {"TOKEN": "t1", "TOKEN_TYPE": "x", "JOBDIR": str(tmp_path)}
    assert fetch.calls == []


def test_fixed_variables_win(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").write_text("OBSID: $JOBDIR\n")
    env = _env(TOKEN, tmp_path, Fetcher({}))
    assert env["JOBDIR"] == str(tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("OBSID: $OBSID\n  bad: indent\n", 2, "mapping values are not allowed here"),
        ("OBSID: $OBSID\n- item\n", 2, "but found '-' (while parsing a block mapping, line 1)"),
        ("OBSID: '$OBSID\n", 2, "end of stream (while scanning a quoted scalar, line 1)"),
        ("OBSID: $OBSID\nOBSID: $OTHER\n", 2, "duplicate key 'OBSID' (first on line 1)"),
        ("a: $A\nb: *anchor\n", 2, "found undefined alias 'anchor'"),
        ("OBSID: [$A, $B]\n", 1, "must map to '$VAR', not list"),
        ("\tOBSID: $A\n", 1, "found character '\\t' that cannot start any token"),
        ("just text\n", 1, "expected a mapping (key: value), found a single value"),
        ("- OBSID\n- $OBSID\n", 1, "expected a mapping (key: value), found a list"),
        ("a: $A\n~: $B\n", 2, "a key must be a string, not null"),
        ("a: $A\nb: \x07\n", 2, "character #x0007 is not allowed"),
        ("OBSID: !!int 5\n", 1, "must map to '$VAR', not int"),
        ("x: !!python/object/apply:os.system [ls]\n", 1, "could not determine a constructor"),
        ("OBSID: $1BAD\n", 1, "not an environment variable name"),
        ("OBSID: 'has space'\n", 1, "not an environment variable name"),
        ("OBSID:\n  nested: $X\n", 1, "must map to '$VAR'"),
        ("_attachments: $X\n", 1, "_attachments must be a mapping"),
        ("_attachments:\n  a.txt: ''\n", 2, "needs '$VAR' or a file name"),
        ("_attachments: {srm.txt: $A,\n  b.txt: ''}\n", 2, "needs '$VAR' or a file name"),
    ],
)
def test_bad_tokvar_is_code_29_with_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    (tmp_path / "tokvar.cfg").write_text(text)
    with pytest.raises(TokenFailure) as info:
        _env(TOKEN, tmp_path, Fetcher(ATTACHMENTS))
    assert info.value.code is ErrorCode.SANDBOX_VARIABLES_INVALID
    assert info.value.message.startswith(f"tokvar.cfg, line {line}: ")
    assert words in info.value.message


def test_unreadable_tokvar(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").mkdir()
    with pytest.raises(TokenFailure) as info:
        _env(TOKEN, tmp_path, Fetcher({}))
    assert info.value.code is ErrorCode.SANDBOX_VARIABLES_INVALID
    assert "tokvar.cfg cannot be read" in info.value.message
    (tmp_path / "tokvar.cfg").rmdir()
    (tmp_path / "tokvar.cfg").write_bytes(b"A: \xff\xfe\n")
    with pytest.raises(TokenFailure, match="cannot be read") as info:
        _env(TOKEN, tmp_path, Fetcher({}))
    assert info.value.code is ErrorCode.SANDBOX_VARIABLES_INVALID


def test_v1_config_json(tmp_path: Path) -> None:
    token = dict(TOKEN)
    token["config.json"] = {
        "variables": {
            "_token_keys": {"$OBSID": "OBSID", "$SB": "STARTSB", "$GONE": "not_there"},
            "_attachments": {"$PARSET": "cal.parset", "$SRMFILE": "srm.txt"},
        },
        "sandbox": {"git": {"url": "https://example.invalid/x.git"}},
    }
    fetch = Fetcher(ATTACHMENTS)
    env = _env(token, tmp_path, fetch)
    assert env["OBSID"] == "L229507"
    assert env["SB"] == "000"
    assert env["GONE"] == ""
    assert env["PARSET"] == "cal.parset"
    assert env["SRMFILE"] == "srm.txt"
    assert (tmp_path / "srm.txt").read_bytes() == ATTACHMENTS["srm.txt"]


def test_v1_config_as_json_string_and_v0_together(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").write_text(
        "OBSID: $OBSID\n_attachments: {srm.txt: $SRM, cal.parset: $PARSET}\n"
    )
    token = dict(TOKEN)
    token["config.json"] = json.dumps(
        {"variables": {"_token_keys": {"$OBSID": "STARTSB"}, "_attachments": {"$S": "srm.txt"}}}
    )
    fetch = Fetcher(ATTACHMENTS)
    env = _env(token, tmp_path, fetch)
    assert env["OBSID"] == "000"  # v1 is applied after v0
    assert env["SRM"] == env["S"] == "srm.txt"
    assert sorted(fetch.calls) == ["cal.parset", "srm.txt"]  # each attachment fetched once


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "must be a JSON object"),
        ({"variables": [1]}, "'variables' must be an object"),
        ({"variables": {"_token_keys": ["$A"]}}, "variables._token_keys must be an object"),
        ({"variables": {"_token_keys": {"$A B": "x"}}}, "not an environment variable name"),
        ({"variables": {"_attachments": {"$A": 5}}}, "expected a field or attachment name"),
    ],
)
def test_bad_v1_config(tmp_path: Path, config: Any, words: str) -> None:
    token = dict(TOKEN, **{"config.json": config})
    with pytest.raises(TokenFailure) as info:
        _env(token, tmp_path, Fetcher(ATTACHMENTS))
    assert info.value.code is ErrorCode.SANDBOX_VARIABLES_INVALID
    assert "config.json" in info.value.message
    assert words in info.value.message


def test_v1_without_variables_is_fine(tmp_path: Path) -> None:
    token = dict(TOKEN, **{"config.json": {"container": {}}})
    assert _env(token, tmp_path, Fetcher({}))["TOKEN"] == "L229507_SB000"


@pytest.mark.parametrize("name", ["../escape.txt", "sub/file.txt", "..", ".", "/etc/passwd"])
def test_attachment_names_cannot_leave_the_job_folder(tmp_path: Path, name: str) -> None:
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    token = dict(TOKEN, **{"config.json": {"variables": {"_attachments": {"$X": name}}}})
    fetch = Fetcher({name: b"evil"})
    with pytest.raises(TokenFailure) as info:
        _env(token, jobdir, fetch)
    assert info.value.code is ErrorCode.SANDBOX_UNSAFE
    assert fetch.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job"]


def test_attachment_replaces_a_link_without_following_it(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (jobdir / "srm.txt").symlink_to(victim)
    (jobdir / "tokvar.cfg").write_text("_attachments:\n  srm.txt: srm.txt\n  x y.txt: $XY\n")
    env = _env(TOKEN, jobdir, Fetcher(ATTACHMENTS))
    assert victim.read_text() == "keep"
    assert not (jobdir / "srm.txt").is_symlink()
    assert (jobdir / "srm.txt").read_bytes() == ATTACHMENTS["srm.txt"]
    assert env["XY"] == "x y.txt"
    assert (jobdir / "x y.txt").stat().st_mode & 0o777 == 0o644


def test_attachment_over_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "srm.txt").mkdir()
    (tmp_path / "tokvar.cfg").write_text("_attachments:\n  srm.txt: srm.txt\n")
    with pytest.raises(TokenFailure) as info:
        _env(TOKEN, tmp_path, Fetcher(ATTACHMENTS))
    assert info.value.code is ErrorCode.SANDBOX_UNSAFE


def test_missing_attachment_propagates_the_fetchers_failure(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").write_text("_attachments:\n  other.parset: $PARSET\n")
    with pytest.raises(TokenFailure) as info:
        _env(TOKEN, tmp_path, Fetcher(ATTACHMENTS))
    assert info.value.code is ErrorCode.NO_DOWNLOAD_FILE


def test_nul_in_a_value_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tokvar.cfg").write_text("bad: $BAD\n")
    with pytest.raises(TokenFailure, match="NUL") as info:
        _env(dict(TOKEN, bad="a\x00b"), tmp_path, Fetcher({}))
    assert info.value.code is ErrorCode.SANDBOX_VARIABLES_INVALID
