"""What a launcher run with ``--no-token-commands`` refuses from a token (code 8).

Whoever can write tokens can run code on the workers (README, "Trust model"). A launcher
whose operator wants tokens to be data, and the sandbox to be the only code, starts with
``--no-token-commands`` (``LRT_TOKEN_COMMANDS=0``). Then it refuses, with 8
``TOKEN_REFUSED``:

* a token's own ``command`` (run by ``sh -c`` or as an argv): only ``master.sh`` runs;
* a variable mapping (``tokvar.cfg`` or the token's ``config.json``) that sets a name which
  changes how programs load or what a shell runs before the script: :func:`loader_name`,
  the names in :data:`LOADER_NAMES` and every name starting with one of
  :data:`LOADER_PREFIXES` (``LD_PRELOAD`` would run a token's library inside a trusted
  ``master.sh``, ``BASH_ENV`` a token's script before it, ``PATH`` a token's ``python3``).

Without the switch (the default) both work as before; the README argues why.
"""

from __future__ import annotations

from typing import Any, Mapping

from grid_lrt.shared.errors import ErrorCode

from .failure import TokenFailure

__all__ = ["LOADER_NAMES", "LOADER_PREFIXES", "loader_name", "refuse_command", "refuse_loader"]

#: Names that choose which code runs: the shells' start-up files and options, the search
#: paths of programs and of the interpreters pipelines use, the C library's loadable modules.
LOADER_NAMES = frozenset(
    {
        "PATH",
        "ENV",
        "BASH_ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "IFS",
        "CDPATH",
        "GLOBIGNORE",
        "HOME",
        "CLASSPATH",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "GCONV_PATH",
        "GLIBC_TUNABLES",
        "LOCPATH",
        "NLSPATH",
        "HOSTALIASES",
        "OPENSSL_CONF",
        "OPENSSL_MODULES",
        "OPENSSL_ENGINES",
        "TCLLIBPATH",
        "R_PROFILE",
        "R_PROFILE_USER",
        "R_ENVIRON",
        "R_ENVIRON_USER",
        "R_LIBS",
        "R_LIBS_USER",
        "R_LIBS_SITE",
        "JULIA_LOAD_PATH",
        "JULIA_DEPOT_PATH",
    }
)
#: Whole families: the dynamic linker (``LD_PRELOAD``, ``LD_LIBRARY_PATH``, ``LD_AUDIT``...),
#: Python (``PYTHONPATH``, ``PYTHONSTARTUP``, ``PYTHONHOME``...), Perl (``PERL5LIB``,
#: ``PERL5OPT``), Ruby, Node.js, Lua, bash's exported functions, git, glibc's malloc.
LOADER_PREFIXES = (
    "LD_",
    "DYLD_",
    "PYTHON",
    "PERL",
    "RUBY",
    "NODE_",
    "LUA_",
    "BASH_FUNC_",
    "GIT_",
    "MALLOC_",
)

_SWITCH = "this launcher runs with --no-token-commands (LRT_TOKEN_COMMANDS=0)"


def loader_name(name: str) -> bool:
    """True when setting ``name`` can change which code a program loads or runs."""
    return name in LOADER_NAMES or name.startswith(LOADER_PREFIXES)


def refuse_loader(name: str, where: str) -> None:
    """Raise 8 ``TOKEN_REFUSED`` when ``name`` is a :func:`loader_name` (``where`` is the entry)."""
    if loader_name(name):
        raise TokenFailure(
            ErrorCode.TOKEN_REFUSED,
            f"{where}: the token may not set {name}, which changes how programs load: {_SWITCH}",
            hint="map the token field to another variable name; the launcher's operator "
            "decides PATH, LD_* and the like",
        )


def refuse_command(token: Mapping[str, Any]) -> None:
    """Raise 8 ``TOKEN_REFUSED`` when the token brings its own ``command``."""
    command = token.get("command")
    absent = command is None or command == [] or (isinstance(command, str) and not command.strip())
    if not absent:
        raise TokenFailure(
            ErrorCode.TOKEN_REFUSED,
            f"token {token.get('_id', '?')} has its own 'command', and {_SWITCH}: "
            "only the sandbox's master.sh runs",
            hint="drop the token's 'command' and ship the pipeline as master.sh in the "
            "sandbox (SBXloc), or run a launcher that accepts token commands",
        )
