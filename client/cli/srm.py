"""``lrt srm ...``: SURL lists — convert link forms, split into chunks, check file states."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Callable, Dict

from grid_lrt.shared import surl
from grid_lrt.shared.errors import UsageError

from ..staging.chunking import slice_dicts
from ..staging.surllist import SurlList
from .globalopts import json_option
from .output import print_json, print_table

__all__ = ["load_links", "register"]

log = logging.getLogger(__name__)

_CONVERTERS: Dict[str, Callable[[str], str]] = {
    "srm": surl.to_srm,
    "gsiftp": surl.to_gsiftp,
    "https": surl.to_https,
    "gfal": surl.to_gfal,
}

_EPILOG = """\
examples:
  lrt srm convert srm.txt --to gsiftp > gsiftp.txt
  lrt srm split srm.txt --size 10 --out chunks/   # chunks/srm_SB000.txt ...
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

    convert = verbs.add_parser(
        "convert",
        help="print the links in another form, in input order",
        description="Print every link of FILE in another form (for another transfer tool), "
        "in input order, one per line.",
        epilog="examples:\n  lrt srm convert srm.txt --to gsiftp > gsiftp.txt\n"
        "  lrt srm convert srm.txt --to https | head -1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("file", metavar="FILE", type=Path)
    convert.add_argument(
        "--to",
        required=True,
        choices=sorted(_CONVERTERS),
        help="gsiftp (globus-url-copy), https (wget), gfal (gfal2/SRM), srm",
    )
    convert.set_defaults(func=cmd_convert)

    split = verbs.add_parser(
        "split",
        help="write one list per chunk of SIZE subbands",
        description="Write one SURL list per chunk of SIZE subbands, FILE_SB<first>.txt, "
        "into --out (default: FILE's name + _chunks, in the current folder). Existing chunk "
        "files are not overwritten without --force.",
        epilog="examples:\n  lrt srm split srm.txt --size 10              # srm_chunks/\n"
        "  lrt srm split srm.txt --size 10 --out chunks/ --force",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    split.add_argument("file", metavar="FILE", type=Path)
    split.add_argument("--size", type=int, default=10, help="subbands per chunk (default 10)")
    split.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for the chunk files, made if missing (default: FILE's name + _chunks)",
    )
    split.add_argument("--force", action="store_true", help="overwrite existing chunk files")
    json_option(split, "print the chunks as JSON, write nothing")
    split.set_defaults(func=cmd_split)

    try:
        from .srmcheck import add_check
    except ImportError:  # pragma: no cover - the check needs the staging backends
        return
    add_check(verbs)


def load_links(path: Path) -> SurlList:
    """The SURL list of ``path``; how many duplicate lines were dropped goes to stderr."""
    links = SurlList.from_file(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):  # pragma: no cover - from_file read it just now
        return links
    given = sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))
    if given > len(links):
        log.warning(
            "%s: %d duplicate lines dropped (%d links, %d different)",
            path,
            given - len(links),
            given,
            len(links),
        )
    return links


def cmd_convert(args: argparse.Namespace) -> int:
    links = load_links(args.file)
    convert = _CONVERTERS[args.to]
    for link in links:
        print(convert(link))
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    if args.size < 1:
        raise UsageError(f"--size must be at least 1, not {args.size}")
    links = load_links(args.file)
    chunks = sorted(slice_dicts(links.sbn_dict(), args.size).items(), key=lambda kv: int(kv[0]))
    if args.json:
        print_json({key: list(value) for key, value in chunks})
        return 0
    out: Path = args.out if args.out is not None else Path(f"{args.file.stem}_chunks")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder", hint="give a folder")
    targets = [(out / f"{args.file.stem}_SB{key}.txt", value) for key, value in chunks]
    present = [str(target) for target, _ in targets if target.exists()]
    if present and not args.force:
        raise UsageError(
            f"{len(present)} chunk files exist already, e.g. {present[0]}",
            hint="give another --out folder, or --force to overwrite them",
        )
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for target, value in targets:
        target.write_text("".join(f"{link}\n" for link in value), encoding="utf-8")
        rows.append([str(target), len(value)])
    print_table(["file", "links"], rows)
    return 0
