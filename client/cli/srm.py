"""``lrt srm ...``: SURL lists — convert link forms, split into chunks, check file states."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, Dict

from grid_lrt.shared import surl
from grid_lrt.shared.errors import UsageError

from ..staging.chunking import slice_dicts
from ..staging.surllist import SurlList
from .globalopts import json_option
from .output import print_json, print_table

__all__ = ["register"]

_CONVERTERS: Dict[str, Callable[[str], str]] = {
    "srm": surl.to_srm,
    "gsiftp": surl.to_gsiftp,
    "https": surl.to_https,
    "gfal": surl.to_gfal,
}

_EPILOG = """\
examples:
  lrt srm convert srm.txt --to gsiftp > gsiftp.txt
  lrt srm split srm.txt --size 10 --out chunks/
  lrt srm check srm.txt                 # ONLINE / NEARLINE per file, percent staged
"""


def register(subparsers: Any) -> None:
    srm = subparsers.add_parser(
        "srm",
        help="SURL lists: convert link forms, split by subband, check staging states",
        description="Work with SURL lists (one srm:// link per line, one OBSID, one LTA site).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = srm.add_subparsers(dest="verb", metavar="VERB", required=True)

    convert = verbs.add_parser("convert", help="print the links in another form, in input order")
    convert.add_argument("file", metavar="FILE", type=Path)
    convert.add_argument(
        "--to",
        required=True,
        choices=sorted(_CONVERTERS),
        help="gsiftp (globus-url-copy), https (wget), gfal (gfal2/SRM), srm",
    )
    convert.set_defaults(func=cmd_convert)

    split = verbs.add_parser("split", help="write one list per chunk of SIZE subbands")
    split.add_argument("file", metavar="FILE", type=Path)
    split.add_argument("--size", type=int, default=10, help="subbands per chunk (default 10)")
    split.add_argument("--out", type=Path, default=Path(), help="folder for the chunk files")
    json_option(split, "print the chunks as JSON, write nothing")
    split.set_defaults(func=cmd_split)

    try:
        from .srmcheck import add_check
    except ImportError:  # pragma: no cover - the check needs the staging backends
        return
    add_check(verbs)


def cmd_convert(args: argparse.Namespace) -> int:
    links = SurlList.from_file(args.file)
    convert = _CONVERTERS[args.to]
    for link in links:
        print(convert(link))
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    if args.size < 1:
        raise UsageError(f"--size must be at least 1, not {args.size}")
    links = SurlList.from_file(args.file)
    chunks = slice_dicts(links.sbn_dict(), args.size)
    if args.json:
        print_json({key: list(value) for key, value in sorted(chunks.items())})
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for key, value in sorted(chunks.items(), key=lambda kv: int(kv[0])):
        target = args.out / f"{args.file.stem}_SB{key}.txt"
        target.write_text("".join(f"{link}\n" for link in value), encoding="utf-8")
        rows.append([str(target), len(value)])
    print_table(["file", "links"], rows)
    return 0
