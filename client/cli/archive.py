"""``lrt tokens archive TYPE``: save every token of a type, and with ``--delete`` remove them.

Deleting is the one step that can lose work, so it is careful (issue 9, finding 8):

* it asks first (``--yes`` confirms without a terminal; without either nothing happens:
  "no" at the terminal exits 0, no terminal and no ``--yes`` exits 2);
* it deletes only finished tokens (done, error): todo, waiting and locked tokens are archived
  and kept, because a launcher may still be working on them; ``--all-states`` deletes them too;
* it deletes exactly the revision it archived: a token written in between (a launcher's
  closing write, a reset) is kept and reported, since the archive misses its newest version;
* every token that could not be deleted is reported, and the command then exits 1;
* an existing archive is never replaced: the next free name is used and printed.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Dict

from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.schema import TokenState

from .. import token_archive
from .completers import token_type
from .connect import add_connection_options, pool
from .output import confirm, not_confirmed

__all__ = ["cmd_archive", "register_archive"]

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Save every token of TYPE (its document as YAML, its attachments as files) into
DEST/tokens_TYPE.tar.gz, or DEST/TYPE/ with --no-compress. An existing archive is never
replaced: the next free name (tokens_TYPE.1.tar.gz, TYPE.1/, ...) is used. Ids and attachment
names become safe file names (%XX escapes); the .dump files keep the real ones.

--delete then deletes the finished tokens (done, error) it archived, after asking. Tokens that
are todo, waiting or locked stay (a launcher may be working on them) unless --all-states; a
token written after it was archived stays too, and is reported.
"""


def register_archive(verbs: Any, type_help: str) -> None:
    """Add ``archive`` to the verbs of ``lrt tokens``."""
    arch = verbs.add_parser(
        "archive",
        help="save every token of a type (YAML + attachments); --delete removes finished ones",
        description=_DESCRIPTION,
        epilog="examples:\n"
        "  lrt tokens archive L229507_cal1 --dest /project/archive\n"
        "  lrt tokens archive L229507_cal1 --dest /project/archive --delete --yes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token_type(arch.add_argument("type", metavar="TYPE", help=type_help))
    arch.add_argument("--dest", default=".", help="folder to write into, made if missing (.)")
    arch.add_argument("--no-compress", action="store_true", help="keep a folder, no tar.gz")
    arch.add_argument(
        "--delete",
        action="store_true",
        help="then delete the archived tokens that are done or error (asks first)",
    )
    arch.add_argument(
        "--all-states",
        action="store_true",
        help="with --delete: delete todo, waiting and locked tokens too",
    )
    arch.add_argument("--yes", "-y", action="store_true", help="do not ask before deleting")
    add_connection_options(arch)
    arch.set_defaults(func=cmd_archive)


def _describe(counts: Dict[TokenState, int], states: Any) -> str:
    return ", ".join(f"{s.value} {counts[s]}" for s in sorted(states, key=str) if counts[s])


def _confirm_delete(args: argparse.Namespace, counts: Dict[TokenState, int]) -> bool:
    """Ask before deleting anything; False when not confirmed (nothing done yet)."""
    total = sum(counts.values())
    unfinished = [s for s in TokenState if s not in token_archive.FINISHED]
    if args.all_states:
        busy = _describe(counts, unfinished)
        question = f"archive {total} tokens of type {args.type} and delete all of them" + (
            f", including {busy}?" if busy else "?"
        )
        wanted = total
    else:
        wanted = sum(counts[s] for s in token_archive.FINISHED)
        question = (
            f"archive {total} tokens of type {args.type} and delete the {wanted} finished "
            "ones (done, error)?"
        )
    return not wanted or confirm(question, assume_yes=args.yes)


def cmd_archive(args: argparse.Namespace) -> int:
    dest = Path(args.dest)
    if dest.exists() and not dest.is_dir():
        raise UsageError(
            f"--dest {dest} is a file, not a folder",
            hint="give the folder to archive into (it is made if missing)",
        )
    if args.all_states and not args.delete:
        raise UsageError("--all-states goes with --delete", hint="add --delete, or drop it")
    tokens = pool(args)
    counts = tokens.counts(args.type)
    if not sum(counts.values()):
        print(f"no tokens of type {args.type}; nothing archived")
        return 0
    if args.delete and not _confirm_delete(args, counts):
        return not_confirmed("nothing was archived or deleted")
    out = token_archive.archive_type(
        tokens, args.type, dest, compress=not args.no_compress, total=sum(counts.values())
    )
    print(f"archived {out.count} tokens of type {args.type} to {out.path}")
    if not args.delete:
        return 0
    done = token_archive.delete_archived(tokens, out, all_states=args.all_states)
    print(f"deleted {len(done.deleted)} tokens")
    if done.kept:
        kept: Dict[TokenState, int] = dict.fromkeys(TokenState, 0)
        for state in done.kept.values():
            kept[state] += 1
        print(
            f"kept {len(done.kept)} not finished ({_describe(kept, TokenState)}): "
            "they are in the archive; --all-states deletes them too"
        )
    if done.changed:
        print(f"kept {len(done.changed)} written after they were archived")
        for token_id in done.changed:
            log.error(
                "%s changed after it was archived: kept; run the archive again to save it",
                token_id,
            )
    for token_id, reason in done.failed.items():
        log.error("%s could not be deleted: %s", token_id, reason)
    if done.failed:
        print(f"FAILED to delete {len(done.failed)} tokens")
    return 0 if done.ok else 1
