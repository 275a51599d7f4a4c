"""``$VAR`` templates of upload destinations, and GRID_LRT's ``$DATE`` stamps.

A destination such as ``davs://host/lofar/$OBSID/${PIPELINE_STEP}_$DATE`` is expanded from
:func:`template_variables`: **the token's own fields** (text, numbers, booleans; by field
name) and **the launcher's variables of** :data:`TEMPLATE_VARIABLES` (``DATE``, ``TOKEN``,
``TOKEN_TYPE``, ``JOBDIR``, ``LRT_ATTEMPT``, ``PICAS_USR``, ``PICAS_DB``), nothing else: not
the launcher's or the job's environment (``$HOME``, a cluster's tokens), and never
:data:`SECRET_VARIABLES` (``PICAS_USR_PWD``), whatever a mapping holds under that name. A
template can otherwise ship a secret out in a URL and store it in ``Results_location``.

An unknown variable is an error naming it, never an empty string or a literal ``$`` in a
path: uploading to ``.../L229507/_2024-01-01`` or ``.../$OBSID/`` would put results where
nobody looks for them. Messages show the template and variable names, never a value.

Example::

    >>> expand("gsiftp://h/$OBSID/${STEP}.tar", {"OBSID": "L1", "STEP": "cal1"})
    'gsiftp://h/L1/cal1.tar'
    >>> date_stamp(datetime(2024, 3, 5, 14, 7), "hour")
    '2024-03-05_14-00'
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, List, Mapping

from grid_lrt.shared.errors import LrtError

__all__ = [
    "DATE_FORMATS",
    "SECRET_VARIABLES",
    "TEMPLATE_VARIABLES",
    "TemplateError",
    "date_stamp",
    "expand",
    "template_variables",
]

#: The launcher's variables a template may use besides the token's fields (``DATE`` is the
#: upload's own: the time at the upload block's ``date_granularity``).
TEMPLATE_VARIABLES = (
    "DATE",
    "TOKEN",
    "TOKEN_TYPE",
    "JOBDIR",
    "LRT_ATTEMPT",
    "PICAS_USR",
    "PICAS_DB",
)
#: Never expanded, whatever holds them.
SECRET_VARIABLES = frozenset({"PICAS_USR_PWD"})

#: ``date_granularity`` -> strftime format (GRID_PiCaS_Launcher ``upload_results.py``);
#: any other value (``day``, missing) gives ``%Y-%m-%d``.
DATE_FORMATS: Mapping[str, str] = {
    "hour": "%Y-%m-%d_%H-00",
    "minute": "%Y-%m-%d_%H-%M",
    "month": "%Y-%m",
    "week": "%Y-W%V",
}
_DEFAULT_DATE_FORMAT = "%Y-%m-%d"

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class TemplateError(LrtError):
    """A template names a variable that is not set, or holds a ``$`` that is no variable.

    Attributes:
        name: The variable's name (empty for a stray ``$``).
    """

    def __init__(self, message: str, *, name: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.name = name


def date_stamp(now: datetime, granularity: str = "") -> str:
    """Format ``now`` at ``granularity`` (``hour``, ``minute``, ``month``, ``week``, else day).

    Args:
        now: The moment to stamp.
        granularity: One of :data:`DATE_FORMATS` (any case); anything else means a day.
    """
    fmt = DATE_FORMATS.get(str(granularity or "").strip().lower(), _DEFAULT_DATE_FORMAT)
    return now.strftime(fmt)


def _field_value(value: Any) -> Any:
    """A token field's text for a template, or None for a value no path can hold."""
    if value is None:
        return ""
    if isinstance(value, (str, bool, int, float)):
        return str(value)
    return None


def template_variables(token: Mapping[str, Any], env: Mapping[str, str]) -> Dict[str, str]:
    """What ``$NAME`` in an upload destination may stand for (module docstring).

    Args:
        token: The token: its fields with a text, number or boolean value (None: ``""``), by
            their names (names that are no variable name, or start with ``_``, are left out).
        env: The pipeline's environment (or any mapping holding the launcher's variables):
            only the names of :data:`TEMPLATE_VARIABLES` are taken from it; they win over
            token fields of the same name.

    Returns:
        Name → value, without :data:`SECRET_VARIABLES`.
    """
    variables: Dict[str, str] = {}
    for name, value in token.items():
        text = _field_value(value)
        if text is not None and _NAME_RE.match(name) and not name.startswith("_"):
            variables[name] = text
    variables.update({name: env[name] for name in TEMPLATE_VARIABLES if name in env})
    for name in SECRET_VARIABLES:
        variables.pop(name, None)
    return variables


def expand(template: str, env: Mapping[str, str], *, what: str = "template") -> str:
    """Replace every ``$NAME`` and ``${NAME}`` in ``template`` by ``env[NAME]``.

    Args:
        template: The text to expand.
        env: The variables (:func:`template_variables`, plus ``DATE``).
        what: How to call the template in error messages (e.g. ``"upload location"``).

    Returns:
        The expanded text; it contains no ``$``.

    Raises:
        TemplateError: A variable is not in ``env`` (or is one of :data:`SECRET_VARIABLES`),
            or a ``$`` is left over (a ``$`` not followed by a name, or one that came in
            through a variable's value). The message names variables, never their values.
    """
    carried: List[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in SECRET_VARIABLES:
            raise TemplateError(
                f"{what} {template!r} uses ${name}: secrets are never expanded",
                name=name,
                hint=f"remove ${name} from the template",
            )
        if name not in env:
            raise TemplateError(
                f"{what} {template!r} uses ${name}, which is neither a field of the token "
                f"nor one of {', '.join(TEMPLATE_VARIABLES)}",
                name=name,
                hint=f"add {name} to the token or remove it from the template",
            )
        value = str(env[name])
        if "$" in value:
            carried.append(name)
        return value

    result = _VAR_RE.sub(substitute, template)
    if carried:
        raise TemplateError(
            f"{what} {template!r}: the value of ${carried[0]} holds a '$'",
            name=carried[0],
            hint="a literal '$' is not allowed in a destination",
        )
    if "$" in result:
        raise TemplateError(
            f"{what} {template!r} holds a '$' that is no variable",
            hint="write variables as $NAME or ${NAME} (letters, digits, _); "
            "a literal '$' is not allowed in a destination",
        )
    return result
