"""``lrt-launcher``: the worker-node launcher (claims and runs tokens; see issue #4)."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

__all__ = ["main", "run"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lrt-launcher",
        description="Worker-node launcher: lock a todo token, fetch sandbox and data, run the "
        "pipeline, upload results and record the outcome in the token.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    run_parser = verbs.add_parser("run", help="process tokens of TYPE until none is left")
    run_parser.add_argument("type", metavar="TYPE")
    parser.parse_args(list(argv) if argv is not None else None)
    print("error: the launcher's run loop is not part of this release yet", file=sys.stderr)
    return 2


def run(argv: Optional[List[str]] = None) -> None:
    raise SystemExit(main(argv))


if __name__ == "__main__":
    run()
