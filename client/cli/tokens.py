"""``lrt tokens ...``: look at and manage the token pool."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
from pathlib import Path
from typing import Any, Dict, List, Tuple

from grid_lrt.shared.errors import ConfigError, UsageError
from grid_lrt.shared.schema import TokenState

from ..progress import while_waiting
from ..tokendocs import dropped_summary, reset_mutator
from ..typeviews import TypeViews
from .archive import register_archive
from .completers import token_type
from .connect import add_connection_options, pool
from .globalopts import json_option
from .output import confirm, not_confirmed, print_json, print_table
from .srm import load_links
from .stale import add_stale_options, reset_stale_command
from .watch import watch

__all__ = ["register"]

log = logging.getLogger(__name__)

#: Bulk changes of more tokens than this ask for confirmation (or need --yes).
CONFIRM_ABOVE = 5

_TYPE_HELP = "token type (the 'type' field of its tokens), e.g. L229507_pref_cal1"
_VIEW_HELP = "a state (todo, locked, done, error, waiting) or a view of _design/TYPE"

_EPILOG = """\
VIEW is a state (todo, locked, done, error, waiting) or the name of a view in
_design/TYPE (made with TokenHandler.add_view).

examples:
  lrt tokens status L229507_pref_cal1
  lrt tokens list L229507_pref_cal1 error
  lrt tokens reset L229507_pref_cal1 error --yes
  lrt tokens reset L229507_pref_cal1 --stale          (launchers that died: lease expired)
  lrt tokens archive L229507_pref_cal1 --dest /project/archive
"""


_STATUS_EPILOG = """\
examples:
  lrt tokens status L229507_pref_cal1          counts per state of one type
  lrt tokens status                            every type of the database
  lrt tokens status L229507_pref_cal1 --watch  redrawn every 5 s until nothing runs
  lrt tokens status L229507_pref_cal1 --json | jq .types.L229507_pref_cal1.todo
"""


def register(subparsers: Any) -> None:
    tokens = subparsers.add_parser(
        "tokens",
        help="create and manage tokens (create, status, list, reset, delete, archive)",
        description="Look at and manage the tokens of one type in the PiCaS database.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = tokens.add_subparsers(dest="verb", metavar="VERB", required=True)

    create = verbs.add_parser(
        "create",
        help="one token per chunk of subbands of a SURL list",
        description="Create one token per chunk of SIZE subbands of a SURL list, each with its "
        "chunk attached as srm.txt and the fields of a YAML token configuration. Re-running "
        "creates no duplicates: existing tokens are reported and left untouched.",
        epilog="example:\n"
        "  lrt tokens create L229507_cal1 --srm srm.txt --config pref_cal1.cfg --size 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        # its --config is the token configuration; the global one goes before the verb
        conflict_handler="resolve",
    )
    token_type(create.add_argument("type", metavar="TYPE", help=_TYPE_HELP))
    create.add_argument("--srm", required=True, metavar="FILE", help="SURL list, one link per line")
    create.add_argument(
        "--config",
        metavar="YAML",
        help="token configuration (Token: section); here --config is this file, so give "
        "a PiCaS settings file before the verb: lrt --config FILE tokens create ...",
    )
    create.add_argument("--size", type=int, default=10, help="subbands per token (default 10)")
    create.add_argument("--key-name", default="STARTSB", help="field holding the first subband")
    create.add_argument(
        "--hold",
        action="store_true",
        help="held until staged: the tokens wait (not todo) until "
        "`lrt stage release` finds all their files online",
    )
    add_connection_options(create)
    create.set_defaults(func=cmd_create)

    status = verbs.add_parser(
        "status",
        help="token counts per state",
        description="Count the tokens of TYPE per state (todo, locked, done, error, waiting), "
        "or of every type in the database. --json prints one shape for both: "
        '{"database": NAME, "types": {TYPE: {"todo": N, ..., "total": N}}}.',
        epilog=_STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token_type(
        status.add_argument("type", nargs="?", metavar="TYPE", help="token type (omit: every type)")
    )
    status.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=5.0,
        metavar="SECONDS",
        help="redraw the table every SECONDS (default 5) until no token is todo, locked or "
        "waiting (or Ctrl-C)",
    )
    status.add_argument(
        "--db-partition",
        metavar="OBSID",
        help="count one partition of a partitioned database only (`lrt db create --partitioned`)",
    )
    json_option(status, "print JSON")
    add_connection_options(status)
    status.set_defaults(func=cmd_status)

    listing = verbs.add_parser(
        "list",
        help="ids of the tokens in a state or view",
        description="Print the ids of the tokens of TYPE in VIEW, one per line.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token_type(listing.add_argument("type", metavar="TYPE", help=_TYPE_HELP))
    listing.add_argument("view", metavar="VIEW", help=_VIEW_HELP)
    json_option(listing, "print JSON")
    add_connection_options(listing)
    listing.set_defaults(func=cmd_list)

    for verb, func, text in (
        ("reset", cmd_reset, "put the tokens of a state/view back to todo (scrub_count + 1)"),
        ("delete", cmd_delete, "delete the tokens of a state/view (a real delete)"),
    ):
        sub = verbs.add_parser(
            verb,
            help=text,
            description=text[0].upper() + text[1:] + ".",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        token_type(sub.add_argument("type", metavar="TYPE", help=_TYPE_HELP))
        sub.add_argument(
            "view", metavar="VIEW", help=_VIEW_HELP, nargs="?" if verb == "reset" else None
        )
        sub.add_argument(
            "--key",
            nargs=2,
            metavar=("FIELD", "VALUE"),
            help="only tokens whose FIELD equals VALUE (compared as text)",
        )
        sub.add_argument(
            "--yes",
            "-y",
            action="store_true",
            help=f"do not ask before changing more than {CONFIRM_ABOVE} tokens",
        )
        sub.add_argument("--dry-run", action="store_true", help="show what would change")
        if verb == "reset":
            sub.add_argument(
                "--del-attach",
                action="store_true",
                help="also drop what launchers attached (attempt<N>_stdout/stderr.log, "
                "*.png/*.fits plots); srm.txt, parsets and other inputs stay",
            )
            add_stale_options(sub)
        add_connection_options(sub)
        sub.set_defaults(func=func)

    register_archive(verbs, _TYPE_HELP)


def _counts_rows(counts: Dict[TokenState, int]) -> List[List[Any]]:
    rows: List[List[Any]] = [[state.value, counts[state]] for state in TokenState]
    rows.append(["total", sum(counts.values())])
    return rows


def cmd_create(args: argparse.Namespace) -> int:
    from ..staging.chunking import slice_dicts
    from ..tokenconfig import TokenConfig, load_token_config
    from ..tokendocs import chunk_tokens, create_tokens

    if args.size < 1:
        raise UsageError(f"--size must be at least 1, not {args.size}")
    links = load_links(Path(args.srm))
    if not len(links):
        raise UsageError(f"{args.srm} holds no SURLs", hint="one srm:// link per line")
    config = load_token_config(args.config) if args.config else TokenConfig()
    fields = dict(config.token)
    if fields.pop("type", args.type) != args.type:
        raise ConfigError(
            f"{config.path}: the Token section's type differs from TYPE {args.type!r}",
            hint="remove 'type' from the Token section; TYPE sets it",
        )
    docs = chunk_tokens(
        args.type,
        slice_dicts(links.sbn_dict(), args.size),
        fields,
        id_append=links.obsid or "L000000",
        key_name=args.key_name,
        file_upload="srm.txt",
        hold="staging" if args.hold else "",
    )
    result = create_tokens(pool(args), docs)
    print(f"{args.type}: " + result.summary("created"))
    for token_id in result.existing:
        log.info("already existed: %s", token_id)
    return 0


def _per_type(counts: Dict[TokenState, int]) -> Dict[str, int]:
    return {**{s.value: counts[s] for s in TokenState}, "total": sum(counts.values())}


def cmd_status(args: argparse.Namespace) -> int:
    tokens = pool(args)
    if args.watch is not None:
        if args.json:
            raise UsageError("--watch draws a table; --json prints one answer", hint="give one")
        if args.watch <= 0:
            raise UsageError("--watch SECONDS must be more than 0")

        def render() -> Tuple[str, bool]:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                counts = _status_once(args, tokens)
            busy = (TokenState.TODO, TokenState.LOCKED, TokenState.WAITING)
            return buffer.getvalue(), not any(c[s] for c in counts.values() for s in busy)

        watch(render, interval=args.watch)
        return 0
    _status_once(args, tokens)
    return 0


def _status_once(args: argparse.Namespace, tokens: Any) -> Dict[str, Dict[TokenState, int]]:
    """Print the counts once (table or JSON); the counts per type."""
    waiting = f"counting (the server builds its index after a bulk load: {tokens.name})"
    types: Dict[str, Dict[TokenState, int]] = while_waiting(
        waiting,
        (lambda: {args.type: tokens.counts(args.type)}) if args.type else tokens.types,
    )
    if args.type and not sum(types[args.type].values()):
        log.warning(
            "no tokens of type %s in database %s; `lrt tokens status` lists the types it holds",
            args.type,
            tokens.name,
        )
    if args.json:
        # one shape for one type and for all of them (README: "Command line")
        print_json({"database": tokens.name, "types": {t: _per_type(c) for t, c in types.items()}})
        return types
    if args.type:
        print_table(["state", "tokens"], _counts_rows(types[args.type]))
        return types
    if not types:
        log.warning("no tokens in database %s", tokens.name)
    headers = ["type", *[s.value for s in TokenState], "total"]
    print_table(
        headers, [[t, *[c[s] for s in TokenState], sum(c.values())] for t, c in types.items()]
    )
    return types


def cmd_list(args: argparse.Namespace) -> int:
    ids = TypeViews(pool(args), args.type).ids(args.view)
    if args.json:
        print_json({"type": args.type, "view": args.view, "ids": ids})
    else:
        for token_id in ids:
            print(token_id)
    log.info("%d tokens in %s/%s", len(ids), args.type, args.view)
    return 0


def _nothing_to_do(args: argparse.Namespace, in_view: int, verb: str) -> str:
    """Why no token is changed: none in the view, or --key matched none of those there."""
    if args.key and in_view:
        field, value = args.key
        return (
            f"--key {field} {value} matched none of the {in_view} tokens of type "
            f"{args.type} in {args.view}; nothing to {verb}"
        )
    return f"no tokens of type {args.type} in {args.view}; nothing to {verb}"


def _bulk(args: argparse.Namespace, verb: str) -> int:
    tokens = pool(args)
    if verb == "reset" and (args.stale or args.view is None):
        return reset_stale_command(args, tokens)
    ids = TypeViews(tokens, args.type).ids(args.view)
    in_view = len(ids)
    which = f"tokens of type {args.type} in {args.view}"
    if args.key:
        field, value = args.key
        ids = [d["_id"] for d in tokens.docs(ids) if str(d.get(field)) == value]
        which += f" with {field} = {value}"
    if args.dry_run:
        for token_id in ids:
            print(token_id)
        print(f"would {verb} {len(ids)} {which}")
        return 0
    if not ids:
        print(_nothing_to_do(args, in_view, verb))
        return 0
    if len(ids) > CONFIRM_ABOVE and not confirm(f"{verb} {len(ids)} {which}?", assume_yes=args.yes):
        return not_confirmed(f"{verb} of {len(ids)} tokens cancelled")
    dropped: Dict[str, List[str]] = {}
    if verb == "reset":
        result = tokens.update(ids, reset_mutator(args.del_attach, dropped))
    else:
        result = tokens.delete(ids)
    summary = result.summary("reset" if verb == "reset" else "deleted")
    if verb == "reset" and args.del_attach:
        summary += "; " + dropped_summary(dropped, result.changed)
        for token_id in result.changed:
            log.info("%s: dropped %s", token_id, ", ".join(dropped.get(token_id, [])) or "nothing")
    print(f"{args.type}/{args.view}: {summary}")
    for token_id, reason in result.failed.items():
        log.error("%s: %s", token_id, reason)
    return 0 if result.ok else 1


def cmd_reset(args: argparse.Namespace) -> int:
    return _bulk(args, "reset")


def cmd_delete(args: argparse.Namespace) -> int:
    return _bulk(args, "delete")
