"""The job description templates of ``jdl/`` and their rendering.

A template names its variables ``@{name}`` (``@@`` is a literal ``@``): not ``$``, which the
shell, HTCondor (``$(ProcId)``) and JDL all use. :func:`render` fails with one error naming
*every* variable the values lack, and refuses a value that holds a line break (it could add
a directive or a command to the job). Values are inserted as given: the backend quotes them
for the language of its template (:func:`shell_word`, :func:`jdl_string`).
"""

from __future__ import annotations

import re
import shlex
import string
from importlib import resources
from typing import Dict, List, Mapping

from grid_lrt.shared.errors import ConfigError, UsageError

__all__ = [
    "BOOTSTRAP",
    "TEMPLATES",
    "TemplateError",
    "jdl_string",
    "read_template",
    "render",
    "shell_word",
    "variables_of",
]

#: Template file of each backend (``local`` needs none: it starts processes itself).
TEMPLATES = {
    "slurm": "slurm.sh",
    "condor": "condor.sub",
    "glite": "glite.jdl",
    "dirac": "dirac.jdl",
}
#: The pilot bootstrap of the sandbox-shipping backends (condor, dirac, glite).
BOOTSTRAP = "bootstrap.sh"


class TemplateError(ConfigError):
    """A template cannot be rendered with the values given."""


class _Template(string.Template):
    delimiter = "@"
    # Braced names only: a bare "@" (an e-mail address) is left alone.
    pattern = r"""
        @(?:
          (?P<escaped>@) |
          \{(?P<braced>[a-z_][a-z0-9_]*)\} |
          (?P<named>(?!)) |
          (?P<invalid>(?!))
        )
    """  # type: ignore[assignment]


def read_template(name: str) -> str:
    """The text of ``jdl/<name>``."""
    try:
        return (resources.files("grid_lrt.jdl") / name).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise UsageError(f"no job description template {name!r} in jdl/") from None


def variables_of(text: str) -> List[str]:
    """The variable names a template uses, in order of first use."""
    return list(dict.fromkeys(_Template(text).get_identifiers()))


def render(name: str, values: Mapping[str, object], *, text: str = "") -> str:
    """``jdl/<name>`` (or ``text``) with every ``@{variable}`` replaced.

    Raises:
        TemplateError: variables without a value (all of them named), or a value with a
            line break.
    """
    source = text or read_template(name)
    missing = [v for v in variables_of(source) if v not in values]
    if missing:
        raise TemplateError(
            f"job description {name}: no value for {', '.join(missing)}",
            hint="every @{variable} of the template needs a value; see jdl/README.md",
        )
    shown: Dict[str, str] = {}
    for key, value in values.items():
        text_value = str(value)
        many_lines = "\n" in text_value.strip("\n") or "\r" in text_value
        if many_lines and not key.endswith(("_directives", "_commands", "_attributes")):
            raise TemplateError(f"job description {name}: {key} holds a line break")
        shown[key] = text_value
    return _Template(source).substitute(shown)


_SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+\Z")


def shell_word(value: str) -> str:
    """``value`` as one shell word (quoted only when it must be)."""
    return value if _SAFE_WORD.match(value) else shlex.quote(value)


def jdl_string(value: str) -> str:
    """``value`` for inside a JDL (ClassAd) string literal: backslash and quote escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
