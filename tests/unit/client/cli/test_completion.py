"""Tab completion of `lrt` through argcomplete's real protocol, in a subprocess as the shell
runs it, and `lrt completion SHELL`; the token types from a server are in
tests/integration/client/cli/test_completion_types.py."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from grid_lrt.client.cli import completers
from grid_lrt.client.cli.globalopts import walk
from grid_lrt.client.cli.main import build_parser
from tests.support.completion import RUN_LRT, complete
from tests.support.paths import ROOT

#: The options every command takes, -h and --help among them.
GLOBAL_OPTIONS = ["--config", "--help", "--json", "--quiet", "--verbose", "-h", "-q", "-v"]


@pytest.fixture
def no_server(tmp_path: Path) -> Dict[str, str]:
    """An environment naming no PiCaS database: an empty HOME, no PICAS_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PICAS", "_ARC"))}
    env["HOME"] = str(tmp_path)
    return env


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("lrt tok", ["tokens"]),
        ("lrt tokens st", ["status"]),
        ("lrt tokens status --wa", ["--watch"]),
        ("lrt -v tokens status --j", ["--json"]),
        ("lrt comp", ["completion"]),
        ("lrt completion ", ["bash", "zsh"]),
        ("lrt stage rel", ["release"]),
        ("lrt tokens status -", [*GLOBAL_OPTIONS, "--db", "--db-partition", "--url", "--watch"]),
        ("lrt submit --backend sl", ["slurm"]),
    ],
)
def test_nouns_verbs_options_and_choices_complete(
    line: str, expected: list[str], no_server: Dict[str, str]
) -> None:
    done = complete(line, no_server)
    assert done.returncode == 0, done.stderr
    assert sorted(done.words) == sorted(expected)
    assert done.stdout == ""  # nothing of the command ran


def test_a_noun_completes_its_verbs(no_server: Dict[str, str]) -> None:
    words = complete("lrt tokens ", no_server).words
    assert {"create", "status", "list", "reset", "delete", "archive"} <= set(words)


def test_a_file_argument_completes_file_names(no_server: Dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "srm_cal1.txt").write_text("srm://x\n", encoding="utf-8")
    line = f"lrt srm check {tmp_path}/srm_c"
    assert complete(line, no_server).words == [f"{tmp_path}/srm_cal1.txt"]


def test_a_type_without_a_database_completes_nothing_quietly(no_server: Dict[str, str]) -> None:
    done = complete("lrt tokens status ", no_server)
    assert done.returncode == 0
    assert done.words == []
    assert "Traceback" not in done.stderr and done.stderr.strip() == ""


def test_every_type_argument_asks_the_server() -> None:
    """Every TYPE of the tree (positional or option) has the token-type completer."""
    found = []
    for words, parser in walk(build_parser(), ["lrt"]):
        for action in parser._actions:
            if action.metavar == "TYPE":
                completer = getattr(action, "completer", None)
                assert completer in (
                    completers.complete_types,
                    completers.complete_types_or_campaigns,
                ), f"{' '.join(words)} {action.dest}"
                found.append(" ".join(words))
    for command in (
        "lrt tokens status",
        "lrt tokens list",
        "lrt tokens reset",
        "lrt tokens delete",
        "lrt tokens archive",
        "lrt report",
        "lrt stage release",
        "lrt stage watch",
        "lrt submit",
    ):
        assert command in found


def test_a_refused_url_completes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(url="http://user:secret@127.0.0.1:9", db="x")
    assert completers.complete_types(prefix="", parsed_args=args) == {}
    out, err = capsys.readouterr()
    assert out == err == ""


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_prints_the_shell_code(shell: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", RUN_LRT, "completion", shell],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "complete" in proc.stdout and "lrt" in proc.stdout
    if shell == "zsh":
        assert "compdef _python_argcomplete lrt" in proc.stdout
    if shell == "bash":
        assert "complete -o nospace -o default -o bashdefault -F _python_argcomplete lrt" in (
            proc.stdout
        )


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_lrt_with_the_printed_code(tmp_path: Path) -> None:
    """The snippet evaluated in a real bash, its function called as bash calls it on TAB."""
    lrt = tmp_path / "lrt"  # the console script, as `pip install` writes it
    lrt.write_text(f"#!{sys.executable}\n{RUN_LRT}\n", encoding="utf-8")
    lrt.chmod(0o755)
    script = (
        'eval "$(lrt completion bash)"\n'
        'COMP_LINE="lrt tokens st"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9\n'
        "_python_argcomplete lrt\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.split() == ["status"]


def test_the_marker_is_where_argcomplete_looks() -> None:
    """argcomplete's global completion reads the first 1024 bytes of the entry point's
    module (the console script lrt = grid_lrt.client.cli.main:run)."""
    head = (ROOT / "client" / "cli" / "main.py").read_bytes()[:1024]
    assert b"PYTHON_ARGCOMPLETE_OK" in head


def test_lrt_does_not_import_argcomplete_unless_completing() -> None:
    code = "import sys, grid_lrt.client.cli.main; print('argcomplete' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("_ARGCOMPLETE")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"


def test_a_server_that_never_answers_completes_nothing_in_time(
    no_server: Dict[str, str],
) -> None:
    """A server that takes the connection and never answers: the deadline, not a hang."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        env = {**no_server, "PICAS_URL": f"http://127.0.0.1:{port}", "PICAS_DB": "x"}
        done = complete("lrt tokens status ", env)
    assert done.returncode == 0 and done.words == []
    assert done.stderr == ""
    assert completers.TIMEOUT <= done.seconds < completers.TIMEOUT + 10
