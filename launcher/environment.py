"""Export a token to the pipeline's environment, the way the sandbox asks for it.

Two mappings exist, with opposite directions (both may be present; v1 is applied last):

* v0 ``tokvar.cfg`` in the job folder (from the sandbox; GRID_LRT's ``yaml.dump`` of the
  config's ``Shell_variables``)::

      OBSID: $OBSID                 # token field -> environment variable
      _id: $TOKEN
      _attachments:
        Pre-Facet-Calibrator-1.parset: $PARSET   # saved as a file, PARSET=its name
        srm.txt: srm.txt                         # saved as a file only

* v1 ``token["config.json"]["variables"]``::

      {"_token_keys": {"$OBSID": "OBSID"}, "_attachments": {"$PARSET": "my.parset"}}

``tokvar.cfg`` is read by :mod:`.tokvar` (PyYAML's safe loader, strings only, GRID_LRT's
Python 2 dumps); messages name the file and the line.

Values come from the token already in hand (no extra database round trip per key, unlike
GRID_LRT v1.0). A missing token field exports ``""`` with a warning (as GRID_LRT did); None
exports ``""``; dicts and lists are exported as JSON; other values as ``str(value)``.
``TOKEN`` (the token id), ``TOKEN_TYPE`` and ``JOBDIR`` are always set, last.

Attachments are saved under their own name in the job folder (replacing a file of that name,
e.g. a placeholder from the sandbox). A name that is not one plain file name (empty, ``.``,
``..``, or containing ``/`` or NUL) is **refused** with code 26 ``SANDBOX_UNSAFE`` rather than
rewritten, because the pipeline finds the file by that name. A missing attachment is reported
by ``fetch_attachment`` (the run loop raises 20 ``NO_DOWNLOAD_FILE``).

An unreadable or invalid mapping (``tokvar.cfg`` or ``config.json``), or a token value that
cannot be exported (a NUL character), ends the token with 29 ``SANDBOX_VARIABLES_INVALID``
(not GRID_LRT's -2, which says "sandbox downloaded but size 0 kB"); the message names the
file and line. An attachment that cannot be written (a full disk) is 21 ``DOWNLOAD_FAILED``.

With ``token_commands=False`` (the launcher's ``--no-token-commands``) a token's ``command``
and a mapping that sets a loader variable (``LD_PRELOAD``, ``PATH``, ``BASH_ENV``...) are
refused with 8 ``TOKEN_REFUSED`` (:mod:`.trust`).

:func:`pipeline_environment` is the whole environment the pipeline gets: the launcher's own
(without ``PICAS_USR_PWD``), the token's variables, then the launcher's ``TOKEN``,
``PICAS_USR``, ``PICAS_DB``, ``PICAS_URL`` (no ``user:password@``) and ``LRT_ATTEMPT``;
``PICAS_USR_PWD`` only with ``--export-credentials``. The seed's ``master.sh`` checks
``TOKEN``, ``PICAS_USR`` and ``PICAS_DB`` (its code 1), never the password.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from grid_lrt.shared.errors import ErrorCode

from .failure import TokenFailure
from .tokvar import TOKVAR_FILE, TokvarMapping, read_tokvar
from .trust import refuse_command, refuse_loader

if TYPE_CHECKING:  # pragma: no cover
    from .config import LauncherConfig

__all__ = [
    "SECRET_VARIABLES",
    "TOKVAR_FILE",
    "TokvarMapping",
    "export_value",
    "pipeline_environment",
    "read_tokvar",
    "token_environment",
]

log = logging.getLogger(__name__)

#: Never taken over from the launcher's own environment into the pipeline's.
SECRET_VARIABLES = frozenset({"PICAS_USR_PWD"})
_ATTACHMENTS = "_attachments"
_V1_FIELDS = "_token_keys"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INVALID = ErrorCode.SANDBOX_VARIABLES_INVALID


def export_value(value: Any) -> str:
    """The string a token value becomes in the environment.

    None → ``""``; str as is; dict/list → JSON; anything else → ``str(value)``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Exporter:
    """Collects the variables and saves attachments (each fetched once)."""

    def __init__(
        self,
        token: Mapping[str, Any],
        jobdir: Path,
        fetch: Callable[[str], bytes],
        *,
        any_name: bool,
    ) -> None:
        self.token = token
        self.jobdir = jobdir
        self.fetch = fetch
        self.any_name = any_name
        self.env: Dict[str, str] = {}
        self.saved: Dict[str, str] = {}

    def _set(self, var: str, value: str, where: str) -> None:
        if not self.any_name:
            refuse_loader(var, where)
        self.env[var] = value

    def field(self, field: str, var: str, where: str) -> None:
        if field in self.token:
            value = export_value(self.token[field])
        else:
            log.warning(
                "%s: token %s has no field %r; exporting %s as an empty string",
                where,
                self.token.get("_id", "?"),
                field,
                var,
            )
            value = ""
        if "\x00" in value:
            raise TokenFailure(
                _INVALID,
                f"{where}: token field {field!r} holds a NUL character and cannot be "
                f"exported as {var}",
            )
        self._set(var, value, where)

    def attachment(self, name: str, var: Optional[str], where: str) -> None:
        if not isinstance(name, str) or not _plain_file_name(name):
            raise TokenFailure(
                ErrorCode.SANDBOX_UNSAFE,
                f"{where}: attachment name {name!r} is not a plain file name "
                "(it would be saved outside the job folder)",
                hint="name attachments without '/' or '..'",
            )
        if var is not None and not self.any_name:
            refuse_loader(var, where)
        if name not in self.saved:
            self._save(name, self.fetch(name), where)
            self.saved[name] = name
        if var is not None:
            self.env[var] = name

    def _save(self, name: str, data: bytes, where: str) -> None:
        target = self.jobdir / name
        if target.is_dir() and not target.is_symlink():
            raise TokenFailure(
                ErrorCode.SANDBOX_UNSAFE,
                f"{where}: attachment {name!r} cannot be saved: the job folder has a folder "
                "of that name",
            )
        tmp = ""
        try:
            fd, tmp = tempfile.mkstemp(dir=str(self.jobdir), prefix=f".{name}.", suffix=".part")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(target)  # replaces a file or link of that name, never follows it
        except OSError as exc:
            raise TokenFailure(
                ErrorCode.DOWNLOAD_FAILED,
                f"{where}: attachment {name!r} cannot be saved in the job folder: "
                f"{exc.strerror or exc}",
                hint="check the free space and permissions of the launcher's work folder",
            ) from exc
        finally:
            if tmp:
                Path(tmp).unlink(missing_ok=True)
        log.debug("saved attachment %s (%d bytes)", name, len(data))


def _plain_file_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\x00" not in name


def _var_name(text: Any, where: str) -> str:
    """``$VAR``, ``${VAR}`` or ``VAR`` → ``VAR``; anything else → TokenFailure (29)."""
    raw = text.strip() if isinstance(text, str) else ""
    name = raw[1:] if raw.startswith("$") else raw
    if name.startswith("{") and name.endswith("}"):
        name = name[1:-1]
    if not _NAME.match(name):
        raise TokenFailure(
            _INVALID,
            f"{where}: {text!r} is not an environment variable name ($NAME)",
            hint="variable names are letters, digits and '_', not starting with a digit",
        )
    return name


def _apply_tokvar(exporter: _Exporter, path: Path) -> None:
    """v0: ``field: $VAR`` entries and an ``_attachments: {name: $VAR | name}`` mapping."""
    mapping = read_tokvar(path)
    for key, value in mapping.items():
        where = f"{path.name}, line {mapping.lines[key]}"
        if key == _ATTACHMENTS:
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise TokenFailure(_INVALID, f"{where}: {_ATTACHMENTS} must be a mapping")
            sub_lines: Mapping[str, int] = getattr(value, "lines", {})
            for name, target in value.items():
                sub_where = f"{path.name}, line {sub_lines.get(name, '?')}"
                if not isinstance(target, str) or not target:
                    raise TokenFailure(
                        _INVALID,
                        f"{sub_where}: attachment {name!r} needs '$VAR' or a file name",
                    )
                var = _var_name(target, sub_where) if "$" in target else None
                exporter.attachment(name, var, sub_where)
            continue
        if not isinstance(value, str):
            raise TokenFailure(
                _INVALID,
                f"{where}: token field {key!r} must map to '$VAR', not {type(value).__name__}",
            )
        exporter.field(key, _var_name(value, where), where)


_CONFIG = "token field config.json"


def _config_variables(config: Any) -> Optional[Mapping[str, Any]]:
    """The ``variables`` object of a v1 ``config.json`` (a mapping or a JSON string)."""
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError as err:
            raise TokenFailure(_INVALID, f"{_CONFIG} is not valid JSON: {err}") from err
    if not isinstance(config, Mapping):
        raise TokenFailure(_INVALID, f"{_CONFIG} must be a JSON object")
    variables = config.get("variables")
    if variables is not None and not isinstance(variables, Mapping):
        raise TokenFailure(_INVALID, f"{_CONFIG}: 'variables' must be an object")
    return variables


def _apply_config(exporter: _Exporter, config: Any) -> None:
    """v1: ``config.json`` ``variables`` with ``_token_keys`` and ``_attachments``."""
    variables = _config_variables(config)
    if variables is None:
        return
    for section in variables:
        if section not in (_V1_FIELDS, _ATTACHMENTS):
            log.warning("%s: ignoring unknown section variables.%s", _CONFIG, section)
    for section in (_V1_FIELDS, _ATTACHMENTS):
        entries = variables.get(section) or {}
        if not isinstance(entries, Mapping):
            raise TokenFailure(_INVALID, f"{_CONFIG}: variables.{section} must be an object")
        for var_text, name in entries.items():
            entry = f"{_CONFIG}, variables.{section}.{var_text}"
            var = _var_name(var_text, entry)
            if not isinstance(name, str) or not name:
                raise TokenFailure(_INVALID, f"{entry}: expected a field or attachment name")
            if section == _V1_FIELDS:
                exporter.field(name, var, entry)
            else:
                exporter.attachment(name, var, entry)


def token_environment(
    token: Mapping[str, Any],
    jobdir: Path,
    *,
    fetch_attachment: Callable[[str], bytes],
    token_commands: bool = True,
) -> Dict[str, str]:
    """The variables to add to the pipeline's environment; saves attachments into ``jobdir``.

    Args:
        token: The token document (already read; its fields are the values).
        jobdir: The job folder: ``tokvar.cfg`` is read from it (if the sandbox has one) and
            attachments are written into it.
        fetch_attachment: Returns an attachment's bytes by name; raises (e.g. TokenFailure 20)
            when the token has no such attachment. Called at most once per name.
        token_commands: The launcher's ``token_commands`` setting; False refuses the token's
            ``command`` and mappings to loader variables (:mod:`.trust`).

    Returns:
        Variable name → value, including ``TOKEN``, ``TOKEN_TYPE`` and ``JOBDIR``.

    Raises:
        TokenFailure: 29 (``SANDBOX_VARIABLES_INVALID``) for an unreadable or invalid
            mapping or a value that cannot be exported, 26 (``SANDBOX_UNSAFE``) for an
            attachment name that is not a plain file name, 21 for an attachment that cannot
            be written, 8 (``TOKEN_REFUSED``) as above; whatever ``fetch_attachment`` raises.
    """
    if not token_commands:
        refuse_command(token)
    exporter = _Exporter(token, jobdir, fetch_attachment, any_name=token_commands)
    tokvar = jobdir / TOKVAR_FILE
    if tokvar.exists() or tokvar.is_symlink():
        _apply_tokvar(exporter, tokvar)
    if token.get("config.json") is not None:
        _apply_config(exporter, token["config.json"])
    exporter.env["TOKEN"] = str(token.get("_id", ""))
    exporter.env["TOKEN_TYPE"] = export_value(token.get("type"))
    exporter.env["JOBDIR"] = str(jobdir)
    log.debug("token environment: %s", ", ".join(sorted(exporter.env)))
    return exporter.env


def pipeline_environment(
    base: Mapping[str, str],
    extra: Mapping[str, str],
    *,
    token_id: str,
    attempt: int,
    config: LauncherConfig,
) -> Dict[str, str]:
    """The pipeline's whole environment (module docstring).

    Args:
        base: The launcher's own environment (``os.environ``); ``PICAS_USR_PWD`` in it is
            dropped.
        extra: The token's variables (:func:`token_environment`); with
            ``config.token_commands`` off, a loader variable among them is refused.
        token_id: The token's id, as ``TOKEN``.
        attempt: The token's attempt number, as ``LRT_ATTEMPT``.
        config: The launcher's settings: ``database``, ``url``, ``user``, ``password``,
            ``export_credentials``, ``token_commands``.

    Raises:
        TokenFailure: 8 ``TOKEN_REFUSED`` for a loader variable in ``extra`` (see above).
    """
    env = {name: value for name, value in base.items() if name not in SECRET_VARIABLES}
    for name, value in extra.items():
        if not config.token_commands and name not in _LAUNCHER_SET:
            refuse_loader(name, "the token's variables")
        env[name] = value
    env["TOKEN"] = token_id
    env["PICAS_DB"] = config.database
    env["PICAS_URL"] = _bare_url(config.url)
    env["PICAS_USR"] = config.user
    env["LRT_ATTEMPT"] = str(attempt)
    if config.export_credentials:
        env["PICAS_USR_PWD"] = config.password
    else:
        env.pop("PICAS_USR_PWD", None)
    return env


#: What :func:`token_environment` itself adds (never a loader variable).
_LAUNCHER_SET = frozenset({"TOKEN", "TOKEN_TYPE", "JOBDIR"})


def _bare_url(url: str) -> str:
    """``url`` without ``user:password@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
