"""README's "Command line" section against the code: the exit-status table holds exactly the
statuses `lrt` can exit with, and the parts table names real commands."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shlex
from typing import Iterator, Set, Type

from grid_lrt.client import cli
from grid_lrt.client.cli import main as cli_main
from grid_lrt.client.cli.main import build_parser
from grid_lrt.shared.errors import LrtError
from tests.support.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _subclasses(cls: Type[LrtError]) -> Iterator[Type[LrtError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _lrt_error_statuses() -> Set[int]:
    """exit_status of every LrtError an `lrt` command can meet (grid_lrt.client, .shared)."""
    import grid_lrt.client
    import grid_lrt.shared

    for package in (grid_lrt.client, grid_lrt.shared):
        for found in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not found.name.endswith(".__main__"):  # that one runs `lrt`
                importlib.import_module(found.name)
    statuses = {LrtError.exit_status}
    for sub in _subclasses(LrtError):
        if sub.__module__.startswith(("grid_lrt.client", "grid_lrt.shared")):
            statuses.add(sub.exit_status)
    return statuses


def test_exit_status_table_matches_the_code() -> None:
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", _section("Command line"), flags=re.M)
    table = {int(status) for status, _ in rows}
    source = inspect.getsource(cli_main)
    assert "return 130" in source  # Ctrl-C
    assert "return 0" in source  # a closed pipe
    # 0 done, 1 a bug (and the LrtError default), 2 argparse's own, 130 Ctrl-C
    expected = {0, 1, 2, 130} | _lrt_error_statuses()
    assert table == expected
    assert expected == {0, 1, 2, 3, 4, 130}


def test_parts_table_names_real_commands() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| login node |"))
    named = set(re.findall(r"`lrt (\w+)`", row))
    action = next(a for a in build_parser()._actions if a.dest == "noun")
    assert isinstance(action.choices, dict)
    nouns = set(action.choices)
    assert named <= nouns
    assert nouns - named == {"dev", "demo", "db"}  # helpers, not parts


def test_every_cli_module_is_small() -> None:
    for found in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"{cli.__name__}.{found.name}")
        assert len(inspect.getsource(module).splitlines()) < 400, found.name


def _readme_commands() -> Iterator[str]:
    """Every ``lrt ...`` command line of README's bash blocks (continuations joined)."""
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line.startswith("lrt "):
                yield line


def test_every_lrt_command_of_the_readme_parses() -> None:
    """A new user copies them: each one is accepted by the real parser as written."""
    parser = build_parser()
    commands = list(_readme_commands())
    assert len(commands) > 30
    refused = []
    for command in commands:
        words = shlex.split(re.split(r"\s[<>|]\s?", command, maxsplit=1)[0])[1:]
        words = [w for w in words if not w.startswith("$(")]
        try:
            parser.parse_args(words)
        except SystemExit as exc:
            if exc.code != 0:  # --help and --version exit 0
                refused.append(command)
    assert refused == []
