"""The options every ``lrt`` command takes, before or after its noun and verb.

``-v``/``-q``, ``--json`` and ``--config FILE`` are declared on every parser of the tree
(:class:`LrtParser` adds them to itself), so ``lrt -v tokens status X`` and
``lrt tokens status X -v`` are the same command. Below the top, their defaults are
``SUPPRESS``: argparse copies a subparser's defaults over what the top parser read, and a
suppressed default is never copied, so an option given before the verb survives.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, List, Tuple

from grid_lrt.shared.errors import UsageError

__all__ = [
    "CREATES_CONFIG",
    "LrtFormatter",
    "LrtParser",
    "check_json",
    "command_name",
    "json_option",
    "picasrc_from",
    "version_text",
    "walk",
]

#: Set on the namespace by commands that print a JSON document with ``--json``.
JSON_CAPABLE = "json_capable"
#: Set on the namespace by commands that create the ``--config`` file (it need not exist).
CREATES_CONFIG = "creates_config"

_JSON_HELP = "print the result as one JSON document on stdout (commands that have a result)"


def version_text() -> str:
    try:
        version = metadata.version("grid-lrt")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        version = "unknown"
    return f"lrt (grid-lrt) {version}"


class LrtFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the layout of descriptions and examples, but wraps a long unindented line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if len(indent + line) > width and not line[:1].isspace():
                lines.append(
                    textwrap.fill(
                        line,
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                        break_on_hyphens=False,
                    )
                )
            else:
                lines.append(indent + line)
        return "\n".join(lines)


class LrtParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` with the global options; its subparsers are ``LrtParser`` too."""

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:
        plain = (None, argparse.HelpFormatter, argparse.RawDescriptionHelpFormatter)
        if kwargs.get("formatter_class") in plain:
            kwargs["formatter_class"] = LrtFormatter
        super().__init__(*args, **kwargs)
        default = argparse.SUPPRESS
        group = self.add_argument_group("global options (before or after the verb)")
        if top:
            group.add_argument("--version", action="version", version=version_text())
        group.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=0 if top else default,
            help="more detail on stderr (-vv: debug, with tracebacks)",
        )
        group.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            default=False if top else default,
            help="only errors on stderr",
        )
        group.add_argument(
            "--json", action="store_true", default=False if top else default, help=_JSON_HELP
        )
        group.add_argument(
            "--config",
            dest="config_file",
            type=Path,
            metavar="FILE",
            default=None if top else default,
            help="PiCaS settings (url=, database=, user=, password= lines, like ~/.picasrc) "
            "to use instead of ~/.picasrc: sets PICASRC for the command (after `tokens "
            "create`, --config is its token configuration: give this one before the verb)",
        )


def json_option(parser: argparse.ArgumentParser, help_text: str = "print JSON") -> None:
    """Mark ``parser``'s command as printing JSON with ``--json``, with its own help text."""
    parser.set_defaults(**{JSON_CAPABLE: True})
    for action in parser._actions:
        if action.dest == "json":
            action.help = help_text


def command_name(args: argparse.Namespace) -> str:
    """``lrt NOUN VERB`` of the parsed command."""
    words = [getattr(args, key, None) for key in ("noun", "verb")]
    return " ".join(["lrt", *[w for w in words if w]])


def check_json(args: argparse.Namespace) -> None:
    """Raise when ``--json`` was given to a command that prints no JSON.

    Raises:
        UsageError: the command has no JSON output.
    """
    if args.json and not getattr(args, JSON_CAPABLE, False):
        raise UsageError(
            f"`{command_name(args)}` prints no JSON document",
            hint="drop --json; `lrt NOUN VERB --help` shows --json where a command has it",
        )


@contextmanager
def picasrc_from(config: Any, must_exist: bool = True) -> Iterator[None]:
    """With ``--config FILE``, ``PICASRC=FILE`` while the command runs (restored after).

    Args:
        config: FILE, or None (no ``--config``).
        must_exist: False for a command that creates FILE (``lrt config init``).

    Raises:
        UsageError: FILE is not a readable file (and ``must_exist``).
    """
    if config is None:
        yield
        return
    path = Path(config).expanduser()
    if must_exist and not path.is_file():
        raise UsageError(
            f"--config {config}: no such file",
            hint="give a file of url=, database=, user=, password= lines (like ~/.picasrc)",
        )
    old = os.environ.get("PICASRC")
    os.environ["PICASRC"] = str(path.absolute())
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PICASRC", None)
        else:
            os.environ["PICASRC"] = old


def walk(
    parser: argparse.ArgumentParser, words: List[str]
) -> Iterator[Tuple[List[str], argparse.ArgumentParser]]:
    """``(words, parser)`` for ``parser`` and every subparser below it (for the tests)."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, [*words, name])
