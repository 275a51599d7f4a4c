"""``lrt sandbox build|upload``: the sandbox tarball from a seed YAML file, and publishing it."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.redact import redact_url

from ..progress import while_waiting
from ..sandboxes import (
    OverwritePolicy,
    SandboxBuild,
    build_sandbox,
    destination_url,
    load_sandbox_config,
    read_manifest,
    record_in_tokens,
    upload_tarball,
)
from ..sandboxes.tarball import checksums_of
from .completers import token_type
from .connect import add_connection_options, pool
from .globalopts import json_option
from .output import print_json

__all__ = ["register"]

_BUILD = """\
Build <name>.tar.gz from the Sandbox: section of a token configuration (the seed's YAML):
clone Sandbox.git (the base: master.sh, bin/ ...) and each git_scripts repository into its
folder at the branch/commit given, write Shell_variables as tokvar.cfg, and pack it all into a
reproducible tarball (the same commits and variables give the same bytes; no .git). The
manifest <name>.sandbox.json beside it records the commit of every repository.

example:
  lrt sandbox build pref_cal1.cfg -o build/
"""

_UPLOAD = """\
Build the sandbox (or take --tarball FILE), upload it to <URL>/<Sandbox.loc>/<file name>,
read it back (size, and sha256 or adler32 where the storage reports one) and, with --tokens
TYPE, write SBXloc (the URL) and SBXchecksum (sha256:<hex>) into every token of TYPE.

--to takes file://, a folder path, https:// or davs:// (WebDAV), gsiftp:// or srm:// (with
gfal2 and a grid proxy), scp://host/path or host:path (ssh). An existing file is refused
unless --replace (overwrite it) or --keep-if-same (keep it when it is the same tarball).

examples:
  lrt sandbox upload pref_cal1.cfg --to davs://webdav.example.org/lofar/sandbox --tokens pref_cal1
  lrt sandbox upload pref_cal1.cfg --tarball build/pref_cal1.tar.gz --to /data/sbx --keep-if-same
"""


def register(subparsers: Any) -> None:
    sandbox = subparsers.add_parser(
        "sandbox",
        help="build and upload the sandbox tarball of a token configuration",
        description="The sandbox: the tarball each worker downloads (the tokens' SBXloc).",
        epilog="examples:\n  lrt sandbox build pref_cal1.cfg -o build/\n"
        "  lrt sandbox upload pref_cal1.cfg --to /data/sbx --tokens pref_cal1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = sandbox.add_subparsers(dest="verb", metavar="VERB", required=True)
    build = verbs.add_parser(
        "build",
        help="build <name>.tar.gz (and its manifest)",
        description=_BUILD,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("config", type=Path, metavar="CONFIG", help="the YAML configuration")
    build.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="folder for the tarball and manifest (default: the current folder)",
    )
    json_option(build, "print the result as JSON")
    build.set_defaults(func=cmd_build)

    upload = verbs.add_parser(
        "upload",
        help="build, upload, verify, and set SBXloc/SBXchecksum in tokens",
        description=_UPLOAD,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upload.add_argument("config", type=Path, metavar="CONFIG", help="the YAML configuration")
    upload.add_argument("--to", required=True, metavar="URL", help="the upload base folder")
    upload.add_argument(
        "--tarball", type=Path, metavar="FILE", help="upload this tarball instead of building"
    )
    upload.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="keep the built tarball and manifest in DIR (default: a temporary folder)",
    )
    token_type(
        upload.add_argument(
            "--tokens", metavar="TYPE", help="write SBXloc and SBXchecksum into every token of TYPE"
        )
    )
    policy = upload.add_mutually_exclusive_group()
    policy.add_argument(
        "--replace",
        "--overwrite",
        dest="policy",
        action="store_const",
        const=OverwritePolicy.REPLACE,
        help="overwrite an existing file",
    )
    policy.add_argument(
        "--keep-if-same",
        dest="policy",
        action="store_const",
        const=OverwritePolicy.KEEP_IF_SAME,
        help="keep an existing file with the same size and checksum (refuse a different one)",
    )
    upload.set_defaults(policy=OverwritePolicy.REFUSE)
    json_option(upload, "print the result as JSON")
    add_connection_options(upload)
    upload.set_defaults(func=cmd_upload)


def _print_build(build: SandboxBuild) -> None:
    print(f"built    {build.path}")
    print(f"size     {build.size} bytes")
    print(f"sha256   {build.sha256}")
    print(f"adler32  {build.adler32}")
    for folder, sha in build.commits.items():
        print(f"commit   {folder:<12} {sha}")
    if build.manifest:
        print(f"manifest {build.manifest}")


def cmd_build(args: argparse.Namespace) -> int:
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"-o {args.output}: not a folder")
    build = build_sandbox(args.config, args.output)
    if args.json:
        print_json(build.as_dict())
    else:
        _print_build(build)
    return 0


def _given_tarball(path: Path, config_path: Path) -> SandboxBuild:
    if not path.is_file():
        raise UsageError(f"--tarball {path}: no such file")
    config = load_sandbox_config(config_path)
    size, sha256, adler32 = checksums_of(path)
    manifest = read_manifest(path)
    commits: Dict[str, str] = {}
    if manifest and manifest.get("sha256") == sha256:
        sources = manifest.get("sources") or {}
        commits = {k: str(v.get("sha")) for k, v in sources.items() if isinstance(v, dict)}
    return SandboxBuild(
        path=path.absolute(),
        name=config.name,
        loc=config.loc,
        sha256=sha256,
        adler32=adler32,
        size=size,
        commits=commits,
    )


def cmd_upload(args: argparse.Namespace) -> int:
    token_pool: Optional[CouchTokenPool] = None
    if args.tokens:
        token_pool = pool(args)  # the server answers before anything is built or sent
        if not token_pool.ids(args.tokens):
            raise UsageError(
                f"no tokens of type {args.tokens!r} in the database",
                hint="check the type (`lrt tokens status` lists them) or create the tokens first",
            )
    with tempfile.TemporaryDirectory(prefix="lrt-sandbox-upload-") as tmp:
        if args.tarball is not None:
            build = _given_tarball(args.tarball, args.config)
        else:
            build = build_sandbox(args.config, args.output or Path(tmp))
        url = destination_url(args.to, build.loc, build.path.name)
        done = while_waiting(
            f"uploading {build.path.name} to {redact_url(url)}",
            lambda: upload_tarball(build.path, url, policy=args.policy),
        )
    result: Dict[str, Any] = {"build": build.as_dict(), "upload": done.as_dict()}
    if token_pool is not None:
        written = record_in_tokens(token_pool, args.tokens, done.url, done.checksum)
        result["tokens"] = {
            "type": args.tokens,
            "changed": len(written.changed),
            "unchanged": len(written.unchanged),
            "failed": dict(written.failed),
        }
        if not written.ok:
            raise UsageError(
                f"SBXloc/SBXchecksum not written into {len(written.failed)} tokens of "
                f"{args.tokens}: " + ", ".join(sorted(written.failed)[:5]),
                hint="run the same command again with --keep-if-same",
            )
    if args.json:
        print_json(result)
        return 0
    if args.tarball is None:
        _print_build(build)
    print(f"{done.action:<8} {redact_url(done.url)}")
    print(f"verified {', '.join(done.verified) or 'nothing (the storage tells no size)'}")
    print(f"checksum {done.checksum}")
    if "tokens" in result:
        t = result["tokens"]
        print(
            f"tokens   {args.tokens}: SBXloc/SBXchecksum set in {t['changed']}, "
            f"{t['unchanged']} already had them"
        )
    return 0
