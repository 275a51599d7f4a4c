"""YAML token configuration: safe_load, and errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid_lrt.client.tokenconfig import load_token_config
from grid_lrt.shared.errors import ConfigError
from tests.support.paths import SAMPLE

SAMPLE_CONFIG = SAMPLE / "tutorial.cfg"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tok.cfg"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_config_loads() -> None:
    config = load_token_config(SAMPLE_CONFIG)
    assert config.token["status"] == "queued" and config.token["times"] == {}
    assert config.shell_variables["_attachments"] == {"srm.txt": "srm.txt"}


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "Token:\n  x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match=r"tok.cfg, line 2.*invalid YAML"):
        load_token_config(path)


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Token:\n  status: queued\n   bad: indent\n")
    with pytest.raises(ConfigError, match=r"tok.cfg, line 3, column \d+: invalid YAML"):
        load_token_config(path)


def test_unknown_section_names_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: 0\nToken:\n  a: 1\nTokens:\n  b: 2\n")
    with pytest.raises(ConfigError, match=r"tok.cfg, line 4: unknown section 'Tokens'") as info:
        load_token_config(path)
    assert "Token" in info.value.hint


def test_unknown_sandbox_key(tmp_path: Path) -> None:
    path = write(tmp_path, "Token: {}\nSandbox:\n  name: x\n  gti: {}\n")
    with pytest.raises(ConfigError, match=r"line 4: unknown Sandbox key 'gti'"):
        load_token_config(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Token:\n  _id: same_for_all\n", r"line 2: '_id' cannot be set"),
        ("Token:\n  lock: yes\n", r"line 2: token field 'lock' must be an integer"),
        ("Token:\n  scrub_count: '0'\n", r"line 2: token field 'scrub_count' must be an integer"),
        ("Token:\n  times: 5\n", r"line 2: token field 'times' must be a mapping"),
        ("Token: [1, 2]\n", r"'Token' must be a mapping"),
        ("", r"is empty"),
        ("apiVersion: 1\nToken: {}\n", r"line 1: apiVersion 1 is not supported"),
    ],
)
def test_bad_token_section(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_token_config(write(tmp_path, body))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read token configuration"):
        load_token_config(tmp_path / "nope.cfg")


@pytest.mark.parametrize(
    ("body", "field", "shown"),
    [
        ("  x: .nan\n", "x", "nan"),
        ("  big: .inf\n", "big", "inf"),
        ("  small: -.inf\n", "small", "-inf"),
        ("  nested: {a: [1, 2, .nan]}\n", "nested.a[2]", "nan"),
    ],
)
def test_non_finite_numbers_are_refused_naming_the_field(
    tmp_path: Path, body: str, field: str, shown: str
) -> None:
    path = write(tmp_path, "Token:\n  ok: 1.5\n" + body)
    with pytest.raises(ConfigError) as info:
        load_token_config(path)
    message = str(info.value)
    assert "tok.cfg, line 3" in message and repr(field) in message and shown in message
    assert "JSON" in info.value.hint
