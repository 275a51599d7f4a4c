"""Tab completion of token types: the TYPE arguments of ``lrt`` ask the server.

argcomplete (``lrt completion bash|zsh``) completes the parser tree as it is: nouns, verbs,
options, choices, and file names for every other argument. A TYPE argument gets
:func:`complete_types` through :func:`token_type`: the token types of the database the command
would use (``--url``/``--db``, the global ``--config FILE``, ``PICAS_*``, ``~/.picasrc``, as
``connect.py`` reads them), from one ``CouchTokenPool.types()`` within :data:`TIMEOUT` seconds.

A completion never fails loudly: no database named, a malformed URL, an unreachable or slow
server, a refused login all complete nothing, and nothing is printed (no log line, no
traceback, so never a setting). argcomplete itself is imported only by ``main`` and
``lrt completion``, not here.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import threading
from typing import Any, Callable, Dict, Iterator, Optional, TypeVar

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState

from .connect import credentials
from .globalopts import picasrc_from

__all__ = [
    "TIMEOUT",
    "complete_types",
    "complete_types_or_campaigns",
    "token_type",
    "token_type_or_campaign",
]

#: Seconds a completion waits for the server, all requests together.
TIMEOUT = 3.0

_T = TypeVar("_T")


def token_type(action: argparse.Action) -> argparse.Action:
    """``action`` (a TYPE argument), completed with the token types of the database."""
    action.completer = complete_types  # type: ignore[attr-defined]
    return action


def token_type_or_campaign(action: argparse.Action) -> argparse.Action:
    """``action`` (TYPE or a campaign file), completed with the token types and YAML files."""
    action.completer = complete_types_or_campaigns  # type: ignore[attr-defined]
    return action


def complete_types(
    *, prefix: str, parsed_args: Optional[argparse.Namespace] = None, **_: Any
) -> Dict[str, str]:
    """The token types starting with ``prefix``, each with its counts (zsh shows them).

    The argcomplete completer protocol: called with ``prefix``, ``action``, ``parser`` and
    ``parsed_args`` (what the command line holds so far: ``--url``, ``--db``, ``--config``).
    """
    args = parsed_args if parsed_args is not None else argparse.Namespace()
    with _quiet():
        try:
            pool = _pool(args)
        except Exception:  # noqa: BLE001 - no database named, a bad URL: nothing to offer
            return {}
        types = _within(TIMEOUT, pool.types)
    if types is None:
        return {}
    return {
        name: _described(counts)
        for name, counts in sorted(types.items())
        if name.startswith(prefix)
    }


def complete_types_or_campaigns(*, prefix: str, **kwargs: Any) -> Dict[str, str]:
    """:func:`complete_types`, and the campaign files (``*.yaml``, ``*.yml``) and folders."""
    from argcomplete.completers import FilesCompleter

    found = complete_types(prefix=prefix, **kwargs)
    for name in FilesCompleter(("yaml", "yml"))(prefix=prefix):
        found.setdefault(name, "folder" if name.endswith("/") else "campaign file")
    return found


def _pool(args: argparse.Namespace) -> CouchTokenPool:
    """The pool the command would use, its requests bounded by :data:`TIMEOUT`, no retries
    (nothing is sent yet)."""
    with picasrc_from(getattr(args, "config_file", None)):
        creds = credentials(args)
    db = CouchDB(
        creds.url,
        creds.database,
        user=creds.user or None,
        password=creds.password,
        timeout=(TIMEOUT, TIMEOUT),
        doc_timeout=(TIMEOUT, TIMEOUT),
        retries=0,
    )
    return CouchTokenPool(db)


def _described(counts: Dict[TokenState, int]) -> str:
    total = sum(counts.values())
    return f"{total} tokens, {counts.get(TokenState.TODO, 0)} todo"


def _within(seconds: float, work: Callable[[], _T]) -> Optional[_T]:
    """``work()``, or None when it fails or takes longer than ``seconds``.

    The work runs in a daemon thread, abandoned at the deadline: the socket timeouts bound
    each request, this bounds them all (argcomplete exits the process right after).
    """
    result: Dict[str, _T] = {}

    def run() -> None:
        with contextlib.suppress(Exception):  # a completion offers nothing rather than fail
            result["value"] = work()

    thread = threading.Thread(target=run, name="lrt-complete-types", daemon=True)
    thread.start()
    thread.join(seconds)
    return result.get("value")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No log records while completing: a warning would land in the middle of the prompt."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
