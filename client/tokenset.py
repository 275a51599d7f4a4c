"""``TokenSet``: many tokens of one type at once, from a dict of chunks and a YAML config.

``create_dict_tokens`` writes all tokens, each with its ``srm.txt`` inline, through
``_bulk_docs`` in batches: one request per thousand tokens, not two per token as GRID_LRT did.
Re-running the same creation creates no duplicates; it reports the ids that already existed.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from grid_lrt.shared.errors import ConfigError, UsageError
from grid_lrt.shared.schema import make_token_id, new_token

from .pool import BulkResult, inline_attachment
from .tokenconfig import TokenConfig, load_token_config

if TYPE_CHECKING:
    from .token import TokenHandler

__all__ = ["TokenSet"]

log = logging.getLogger(__name__)


def _items(iterable: Union[Mapping[Any, Any], Iterable[Tuple[Any, Any]]]) -> List[Tuple[Any, Any]]:
    if isinstance(iterable, Mapping):
        return list(iterable.items())
    return list(iterable)


class TokenSet:
    """A set of tokens of the type of ``th``, built from ``tok_config`` (YAML, optional)."""

    def __init__(self, th: TokenHandler, tok_config: Union[str, Path, None] = None) -> None:
        if th is None:
            raise UsageError("TokenSet needs a TokenHandler: TokenSet(th=TokenHandler(...))")
        self.th = th
        self.config = load_token_config(tok_config) if tok_config else TokenConfig()
        self.token_keys: Dict[str, Any] = dict(self.config.token)
        config_type = self.token_keys.pop("type", None)
        if config_type not in (None, th.t_type):
            raise ConfigError(
                f"{self.config.path}: Token type {config_type!r} differs from the "
                f"TokenHandler's type {th.t_type!r}",
                hint="remove 'type' from the Token section; the TokenHandler sets it",
            )
        self._tokens: List[str] = []
        self.last_result: Optional[BulkResult] = None

    def create_dict_tokens(
        self,
        iterable: Union[Mapping[Any, Any], Iterable[Tuple[Any, Any]]],
        id_prefix: str = "SB",
        id_append: str = "L000000",
        key_name: str = "STARTSB",
        file_upload: Optional[str] = None,
        *,
        hold: str = "",
    ) -> BulkResult:
        """One token per entry of ``iterable`` (key: subband number, value: list of links).

        With ``hold="staging"`` the tokens are created held (state ``waiting``): no launcher
        takes them until ``lrt stage release`` finds all their files online.

        Each token gets the config's Token fields, ``key_name: "%03d" % key`` and, with
        ``file_upload`` (normally ``"srm.txt"``), the links attached one per line. The id is
        ``t_<type>_<id_append>[_<PIPELINE_STEP>]_<id_prefix><key:03d>``.
        """
        docs = []
        step = self.token_keys.get("PIPELINE_STEP")
        for key, links in _items(iterable):
            try:
                number = int(key)
            except (TypeError, ValueError):
                raise UsageError(
                    f"key {key!r} of the token dict is not a subband number",
                    hint="use slice_dicts(srmlist.sbn_dict()) or integer-like keys",
                ) from None
            label = f"{number:03d}"
            append = id_append + (f"_{step}" if step else "") + f"_{id_prefix}{label}"
            doc = new_token(self.th.t_type, make_token_id(self.th.t_type, append), self.token_keys)
            doc[key_name] = label
            if hold:
                doc["held"] = hold
            if file_upload:
                text = "".join(f"{link}\n" for link in links)
                doc["_attachments"] = {
                    file_upload: inline_attachment(text.encode("utf-8"), "text/plain")
                }
            docs.append(doc)
        ids = [doc["_id"] for doc in docs]
        duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
        if duplicates:
            raise UsageError(
                f"{len(duplicates)} token ids would be created twice, e.g. {duplicates[0]}",
                hint="the dict keys map to the same id; check id_prefix/id_append/keys",
            )
        result = self.th.pool.create(docs)
        self.last_result = result
        if result.existing:
            log.warning(
                "%d of %d tokens already existed and were left untouched: %s%s",
                len(result.existing),
                len(docs),
                ", ".join(result.existing[:5]),
                " ..." if len(result.existing) > 5 else "",
            )
        if result.failed:
            raise UsageError(
                f"{len(result.failed)} tokens could not be created: "
                + "; ".join(f"{k}: {v}" for k, v in list(result.failed.items())[:5]),
                hint=f"{len(result.changed)} others were created; re-run to retry the rest",
            )
        self._tokens = sorted(set(self._tokens) | set(result.changed) | set(result.existing))
        return result

    def add_attach_to_list(
        self, attachment: Any, tok_list: Optional[List[str]] = None, name: Optional[str] = None
    ) -> BulkResult:
        """Attach the same file to every token of the set (or of ``tok_list``), in bulk."""
        from .token import content_type_of, read_upload

        if name is None:
            if isinstance(attachment, (str, Path)):
                name = Path(attachment).name
            else:
                name = Path(str(getattr(attachment, "name", "attachment"))).name
        data = inline_attachment(read_upload(attachment), content_type_of(name))

        def attach(doc: Dict[str, Any]) -> bool:
            doc.setdefault("_attachments", {})[name] = dict(data)
            return True

        return self.th.pool.update(tok_list if tok_list is not None else self.tokens, attach)

    def add_keys_to_list(
        self, key: str, val: Any, tok_list: Optional[List[str]] = None
    ) -> BulkResult:
        """Set field ``key`` to ``str(val)`` on every token of the set, in bulk."""
        value = str(val)

        def set_key(doc: Dict[str, Any]) -> bool:
            if doc.get(key) == value:
                return False
            doc[key] = value
            return True

        return self.th.pool.update(tok_list if tok_list is not None else self.tokens, set_key)

    @property
    def tokens(self) -> List[str]:
        """Ids of all tokens of this type in the database, sorted."""
        self.update_local_tokens()
        return self._tokens

    def update_local_tokens(self) -> None:
        """Reload the ids of the tokens of this type from the database."""
        self._tokens = self.th.pool.ids(self.th.t_type)
