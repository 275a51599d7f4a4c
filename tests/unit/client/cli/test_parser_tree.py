"""Every command of `lrt`, walked through the parser tree: it explains itself with an
example, and takes the global options after its verb."""

from __future__ import annotations

import argparse

import pytest

from grid_lrt.client.cli.globalopts import walk
from grid_lrt.client.cli.main import build_parser

COMMANDS = [(" ".join(["lrt", *words]), parser) for words, parser in walk(build_parser(), [])]


def test_the_tree_has_every_noun() -> None:
    names = {name for name, _ in COMMANDS}
    for noun in ("tokens", "srm", "stage", "dev", "db", "demo", "launcher", "sandbox", "submit"):
        assert f"lrt {noun}" in names
    assert {"lrt server start", "lrt server stop", "lrt server status"} <= names
    assert len(COMMANDS) > 30


@pytest.mark.parametrize(("name", "parser"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_has_a_description_and_an_example(
    name: str, parser: argparse.ArgumentParser
) -> None:
    assert parser.description, f"{name} has no description"
    text = f"{parser.description}\n{parser.epilog or ''}"
    assert "example" in text, f"{name} shows no example"
    assert "lrt " in text.split("example", 1)[1], f"{name}: its example is no lrt command"


@pytest.mark.parametrize(("name", "parser"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_takes_the_global_options(name: str, parser: argparse.ArgumentParser) -> None:
    options = parser._option_string_actions
    for option in ("-v", "--verbose", "-q", "--quiet", "--json", "--config"):
        assert option in options, f"{name} does not take {option}"
    if name != "lrt tokens create":  # there --config is the token configuration
        assert options["--config"].dest == "config_file"


@pytest.mark.parametrize(
    "argv",
    [
        ["tokens", "status", "-v"],
        ["tokens", "list", "T", "todo", "-vv", "--json"],
        ["srm", "convert", "f", "--to", "srm", "-q"],
        ["stage", "status", "1", "--json", "-v"],
        ["dev", "lta-simulator", "--port", "8", "-v"],
        ["launcher", "build", "-o", "x.pyz", "--config", "rc"],
        ["server", "status", "--dir", "d", "--json"],
    ],
)
def test_global_options_after_the_verb_parse(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.verbose or args.quiet or args.json or args.config_file


def test_options_before_the_verb_survive_the_subparsers() -> None:
    args = build_parser().parse_args(["-v", "--json", "--config", "rc", "tokens", "status"])
    assert args.verbose == 1 and args.json and str(args.config_file) == "rc"
    assert not build_parser().parse_args(["tokens", "status"]).json
