"""Logging set-up for the entry points (``lrt``, ``lrt-launcher``); library code never calls it.

Idempotent: the handler is found by name and replaced, so tests can call it repeatedly.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["setup_logging"]

_HANDLER_NAME = "grid-lrt-stderr"


def setup_logging(verbosity: int = 0, *, with_host: bool = False) -> None:
    """Log to stderr: warnings by default, INFO with ``-v``, DEBUG with ``-vv``."""
    level = logging.WARNING - 10 * max(0, min(verbosity, 2))
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    host = "%(hostname)s " if with_host else ""
    fmt = (
        f"%(asctime)s {host}%(levelname)s %(name)s: %(message)s"
        if verbosity
        else "%(levelname)s: %(message)s"
    )
    if with_host:
        import socket

        hostname = socket.gethostname()

        def add_host(record: logging.LogRecord) -> bool:
            record.hostname = hostname
            return True

        handler.addFilter(add_host)
    handler.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%dT%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter stays down unless -vv.
    for noisy in ("urllib3", "gfal2", "requests"):
        logging.getLogger(noisy).setLevel(
            [logging.ERROR, logging.WARNING, logging.DEBUG][min(verbosity, 2)]
        )
