"""GRID_LRT's ``TokenSet``: many tokens of one type at once, from chunks and a YAML config.

A façade over :mod:`grid_lrt.client.tokendocs`: ``create_dict_tokens`` writes all tokens,
each with its ``srm.txt`` inline, through ``_bulk_docs`` in batches (one request per thousand
tokens, not two per token as GRID_LRT did). Re-running the same creation creates no
duplicates; it reports the ids that already existed. Above a thousand tokens, creating them
and changing them in bulk shows a progress bar (a widget in Jupyter), one step per batch.

In a notebook a ``TokenSet`` shows itself as a table: its counts per state and its first
tokens with their states (:mod:`.display`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sized, Union

from grid_lrt.shared.errors import ConfigError, LrtError, UsageError
from grid_lrt.shared.pool import BulkResult
from grid_lrt.shared.schema import inline_attachment, state_of

from ..tokenchunks import Chunks, iter_chunk_tokens
from ..tokenconfig import TokenConfig, load_token_config
from ..tokendocs import bulk_update, content_type_of, create_tokens, read_upload
from .display import MAX_ROWS, Table, html_table, text_table
from .tokenhandler import TokenHandler

__all__ = ["TokenSet"]


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

    def __repr__(self) -> str:
        return text_table(self._table())

    def _repr_html_(self) -> str:
        return html_table(self._table())

    def _table(self) -> Table:
        """``<TokenSet type='T' db='D' tokens=N: todo 45, done 6>`` over the first tokens and
        their states, read now (three requests: the ids, the counts, the first tokens)."""
        t_type, pool = self.th.t_type, self.th.pool
        title = f"<TokenSet type={t_type!r} db={self.th.database.name!r}"
        try:
            ids = pool.ids(t_type)
            counts = pool.counts(t_type)
            states = {doc["_id"]: state_of(doc).value for doc in pool.docs(ids[:MAX_ROWS])}
        except LrtError as exc:  # a repr never raises: say why there is no table
            return Table(f"{title}>", (), note=f"(the tokens could not be read: {exc})")
        per_state = ", ".join(f"{state.value} {n}" for state, n in counts.items() if n)
        title += f" tokens={len(ids)}" + (f": {per_state}>" if per_state else ">")
        if not ids:
            return Table(title, (), note="(no tokens)")
        rows = [[token_id, states.get(token_id, "deleted")] for token_id in ids[:MAX_ROWS]]
        return Table(title, ("id", "state"), rows, max(0, len(ids) - MAX_ROWS))

    def create_dict_tokens(
        self,
        iterable: Chunks,
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
        docs = iter_chunk_tokens(  # made as they are written: one batch in memory
            self.th.t_type,
            iterable,
            self.token_keys,
            id_prefix=id_prefix,
            id_append=id_append,
            key_name=key_name,
            file_upload=file_upload,
            hold=hold,
        )
        total = len(iterable) if isinstance(iterable, Sized) else None
        result = create_tokens(self.th.pool, docs, progress="creating tokens", total=total)
        self.last_result = result
        self._tokens = sorted(set(self._tokens) | set(result.changed) | set(result.existing))
        return result

    def add_attach_to_list(
        self, attachment: Any, tok_list: Optional[List[str]] = None, name: Optional[str] = None
    ) -> BulkResult:
        """Attach the same file to every token of the set (or of ``tok_list``), in bulk."""
        if name is None:
            if isinstance(attachment, (str, Path)):
                name = Path(attachment).name
            else:
                name = Path(str(getattr(attachment, "name", "attachment"))).name
        data = inline_attachment(read_upload(attachment), content_type_of(name))

        def attach(doc: Dict[str, Any]) -> bool:
            doc.setdefault("_attachments", {})[name] = dict(data)
            return True

        ids = tok_list if tok_list is not None else self.tokens
        return bulk_update(self.th.pool, ids, attach, progress=f"attaching {name}")

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

        ids = tok_list if tok_list is not None else self.tokens
        return bulk_update(self.th.pool, ids, set_key, progress=f"setting {key}")

    @property
    def tokens(self) -> List[str]:
        """Ids of all tokens of this type in the database, sorted."""
        self.update_local_tokens()
        return self._tokens

    def update_local_tokens(self) -> None:
        """Reload the ids of the tokens of this type from the database."""
        self._tokens = self.th.pool.ids(self.th.t_type)
