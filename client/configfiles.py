"""Writing the login node's credentials files (``lrt config init``): ``~/.picasrc`` (the
PiCaS server, database, user and password) and ``~/.stagingrc`` (the StageIT API token).

A file is private from its first byte: its text goes into a temporary file next to it,
created with ``O_CREAT | O_EXCL`` and mode 0600, which is then renamed over the target, so no
other user can ever open it and a reader sees the old file or the whole new one. An existing
file is replaced only when asked (``force``). Each value must stay one line and read back as
written (the readers strip spaces around a value), else it is refused before anything is
written; a refusal never shows a secret.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from grid_lrt.shared.errors import UsageError

from .configview import MASK, shown_path

__all__ = ["CredentialsFile", "picasrc_file", "refuse_existing", "stagingrc_file", "write_private"]

_PICASRC_HEADER = "# PiCaS settings of grid-lrt (lrt config init); keep it private: chmod 600"
_STAGINGRC_HEADER = "# LTA staging credentials of grid-lrt (lrt config init); keep it private"


@dataclass(frozen=True)
class CredentialsFile:
    """The ``key=value`` lines of one credentials file, each marked secret or not."""

    path: Path
    header: str
    #: ``(key, value, secret)``, in file order.
    lines: Tuple[Tuple[str, str, bool], ...]

    def text(self) -> str:
        """The file's text (with the secrets)."""
        return "".join(f"{line}\n" for line in [self.header, *self._lines(masked=False)])

    def shown(self) -> List[str]:
        """The ``key=value`` lines with every secret as ``***``, for the screen."""
        return self._lines(masked=True)

    def _lines(self, masked: bool) -> List[str]:
        return [f"{k}={MASK if secret and masked else v}" for k, v, secret in self.lines]


def _checked(key: str, value: str, secret: bool) -> str:
    """``value`` once it fits on a line of the file as it is.

    Raises:
        UsageError: it holds a line break, or (a secret) starts or ends with a space.
    """
    what = "the value" if secret else repr(value)
    if "\n" in value or "\r" in value:
        raise UsageError(f"{key}: {what} holds a line break", hint="give it on one line")
    if secret and value != value.strip():
        raise UsageError(
            f"{key}: the value starts or ends with a space or tab, which the file cannot hold "
            "(its reader strips them)",
            hint="give it without the surrounding white space",
        )
    return value if secret else value.strip()


def _file(
    path: Path, header: str, items: Sequence[Tuple[str, Optional[str], bool]]
) -> CredentialsFile:
    lines = tuple((k, _checked(k, v, secret), secret) for k, v, secret in items if v)
    return CredentialsFile(path, header, lines)


def picasrc_file(
    path: Path, url: str, database: str, user: str, password: Optional[str]
) -> CredentialsFile:
    """``url=``, ``database=``, ``user=`` and (when given) ``password=`` lines for ``path``.

    Raises:
        UsageError: a value cannot be written as it is (see :func:`_checked`).
    """
    items = [
        ("url", url, False),
        ("database", database, False),
        ("user", user, False),
        ("password", password, True),
    ]
    return _file(path, _PICASRC_HEADER, items)


def stagingrc_file(path: Path, token: str, host: Optional[str] = None) -> CredentialsFile:
    """``api_token=`` and (when given) ``hostname=`` lines for ``path``.

    Raises:
        UsageError: a value cannot be written as it is.
    """
    return _file(path, _STAGINGRC_HEADER, [("api_token", token, True), ("hostname", host, False)])


def refuse_existing(paths: Sequence[Path], force: bool) -> None:
    """Raise for the first of ``paths`` that exists, unless ``force``.

    Raises:
        UsageError: a file exists (named, with ``--force`` as the way to replace it).
    """
    if force:
        return
    for path in paths:
        if path.exists() or path.is_symlink():
            raise UsageError(
                f"{shown_path(path)} exists; not overwritten",
                hint="look at it with `lrt config show`; --force replaces it",
            )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600: a new private file next to it, renamed over
    it (an existing file is replaced whole; check with :func:`refuse_existing` first).

    Raises:
        UsageError: the folder does not exist or cannot be written.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
    except OSError as exc:
        raise UsageError(
            f"cannot write {shown_path(path)}: {exc.strerror}",
            hint="check that its folder exists and is yours",
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # exactly 0600, whatever the umask
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
