"""``$VAR`` templates of upload destinations, and GRID_LRT's ``$DATE`` stamps.

A destination such as ``davs://host/lofar/$OBSID/${PIPELINE_STEP}_$DATE`` is expanded from the
pipeline's environment (the token's keys are exported there). An unknown variable is an error
naming it, never an empty string or a literal ``$`` in a path: uploading to
``.../L229507/_2024-01-01`` or ``.../$OBSID/`` would put results where nobody looks for them.

Example::

    >>> expand("gsiftp://h/$OBSID/${STEP}.tar", {"OBSID": "L1", "STEP": "cal1"})
    'gsiftp://h/L1/cal1.tar'
    >>> date_stamp(datetime(2024, 3, 5, 14, 7), "hour")
    '2024-03-05_14-00'
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Mapping

from grid_lrt.shared.errors import LrtError

__all__ = ["DATE_FORMATS", "TemplateError", "date_stamp", "expand"]

#: ``date_granularity`` -> strftime format (GRID_PiCaS_Launcher ``upload_results.py``);
#: any other value (``day``, missing) gives ``%Y-%m-%d``.
DATE_FORMATS: Mapping[str, str] = {
    "hour": "%Y-%m-%d_%H-00",
    "minute": "%Y-%m-%d_%H-%M",
    "month": "%Y-%m",
    "week": "%Y-W%V",
}
_DEFAULT_DATE_FORMAT = "%Y-%m-%d"

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


def expand(template: str, env: Mapping[str, str], *, what: str = "template") -> str:
    """Replace every ``$NAME`` and ``${NAME}`` in ``template`` by ``env[NAME]``.

    Args:
        template: The text to expand.
        env: The variables (e.g. the pipeline environment plus ``DATE``).
        what: How to call the template in error messages (e.g. ``"upload location"``).

    Returns:
        The expanded text; it contains no ``$``.

    Raises:
        TemplateError: A variable is not in ``env``, or a ``$`` is left over (a ``$`` not
            followed by a name, or one that came in through a variable's value).
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise TemplateError(
                f"{what} {template!r} uses ${name}, which is not set",
                name=name,
                hint=f"add {name} to the token (its keys are exported to the pipeline) "
                "or remove it from the template",
            )
        return str(env[name])

    result = _VAR_RE.sub(substitute, template)
    if "$" in result:
        raise TemplateError(
            f"{what} {template!r} expands to {result!r}, which still holds a '$'",
            hint="write variables as $NAME or ${NAME} (letters, digits, _); "
            "a literal '$' is not allowed in a destination",
        )
    return result
