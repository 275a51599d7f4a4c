"""The options of ``lrt dev stageit-simulator``, apart from the simulator: ``lrt`` declares
them at every start, and importing the simulator would load graphql-core each time."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lrt dev stageit-simulator``."""
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds per request step")
    parser.add_argument(
        "--stagingrc", type=Path, help="write the token file here (default: in a temp folder)"
    )
    parser.add_argument("--door", help="WebDAV door URL for convert2webdav (default: made up)")
    parser.add_argument(
        "--archive",
        type=Path,
        metavar="DIR",
        help="a tape folder: staged files go from DIR/tape to DIR/disk, which pilots read "
        "with LRT_DATA_DOOR=file://DIR/disk",
    )
