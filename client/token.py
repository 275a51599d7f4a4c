"""GRID_LRT's ``TokenHandler``/``TokenSet`` API on CouchDB's HTTP API.

Notebooks written for ``GRID_LRT.token`` port by changing the import and the server URL
(``srv=`` or ``PICAS_URL``). Same method names and arguments; the original's bugs are fixed:
user keys are never overwritten by defaults, deleting is a real delete (not ``_purge``),
attachments are binary-safe, YAML is read with ``safe_load``, archiving works when the folder
exists, and ``add_mapreduce_view`` stores the view under its own name.

Example::

    from grid_lrt.client.credentials import picas_cred
    from grid_lrt.client.token import TokenHandler, TokenSet

    pc = picas_cred()
    th = TokenHandler(t_type="test", srv=pc.url, uname=pc.user, pwd=pc.password, dbn=pc.database)
    th.add_overview_view()
    th.add_status_views()
    th.reset_tokens(view_name="error")
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Sequence, Union

from grid_lrt.shared import views
from grid_lrt.shared.couch import ConflictError, CouchDB, Document, DocumentNotFoundError
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.schema import TokenState, make_token_id, new_token, reset_for_retry

from . import token_archive as _archive
from .credentials import picas_cred
from .pool import BulkResult, TokenPool, inline_attachment
from .viewresults import Row, ViewDefinition, ViewResults

__all__ = ["Row", "TokenHandler", "TokenSet", "ViewDefinition", "ViewResults", "read_upload"]

log = logging.getLogger(__name__)

_STATES = {state.value: state for state in TokenState}


def read_upload(filehandle: Union[IO[Any], bytes, str, Path]) -> bytes:
    """The bytes of an attachment given as an open file (text or binary), bytes or a path."""
    if isinstance(filehandle, bytes):
        return filehandle
    if isinstance(filehandle, (str, Path)):
        return Path(filehandle).read_bytes()
    data = filehandle.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def content_type_of(name: str) -> str:
    """MIME type for an attachment name (``.parset``/``.txt``/``.cfg`` are text)."""
    if name.endswith((".parset", ".txt", ".cfg", ".log")) or name.startswith("logs_"):
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class TokenHandler:
    """Tokens of one type (``t_type``) in one PiCaS database, plus its ``_design/<type>``.

    Args:
        t_type: The token type; every token of this handler has ``type == t_type``.
        srv: Server URL. Default: ``PICAS_URL`` / ``url=`` in ``~/.picasrc`` / SURF's server.
        uname: User. Default: ``PICAS_USR`` / ``user=``.
        pwd: Password. Default: ``PICAS_USR_PWD`` / ``password=``.
        dbn: Database. Default: ``PICAS_DB`` / ``database=``.

    Raises:
        CouchAuthError: wrong user or password.
        DatabaseNotFoundError: the database does not exist.
        CouchUnreachableError: the server does not answer.
    """

    def __init__(
        self,
        t_type: str = "token",
        srv: Optional[str] = None,
        uname: str = "",
        pwd: str = "",
        dbn: str = "",
    ) -> None:
        if not t_type or "/" in t_type:
            raise UsageError(f"invalid token type {t_type!r}: it must be non-empty, without '/'")
        if not (srv and uname and dbn):
            creds = picas_cred()
            srv, uname = srv or creds.url, uname or creds.user
            pwd, dbn = pwd or creds.password, dbn or creds.database
        self.t_type = t_type
        self.database = CouchDB(srv, dbn, user=uname or None, password=pwd)
        self.database.info()  # fail early and clearly: unreachable, wrong password, no such db
        self.pool = TokenPool(self.database)
        self.views: Dict[str, ViewDefinition] = {}
        self.load_views()

    def __repr__(self) -> str:
        return f"TokenHandler(t_type={self.t_type!r}, db={self.database!r})"

    @property
    def db(self) -> CouchDB:
        return self.database

    # -- design document and views -------------------------------------------------------------

    @property
    def _ddoc_id(self) -> str:
        return f"_design/{self.t_type}"

    def _edit_design(self, edit: Any) -> None:
        """Apply ``edit(ddoc)`` to ``_design/<type>`` and save it, re-reading on conflicts."""
        for attempt in range(5):
            ddoc = self.database.get_or_none(self._ddoc_id) or views.type_design_doc(self.t_type)
            ddoc.setdefault("views", {})
            edit(ddoc)
            ddoc["grid_lrt_schema"] = views.SCHEMA_VERSION
            try:
                self.database.save(ddoc)
            except ConflictError:
                if attempt == 4:
                    raise
                continue
            break
        self.load_views()

    def _set_views(self, new_views: Dict[str, Dict[str, str]]) -> None:
        self._edit_design(lambda ddoc: ddoc["views"].update(new_views))

    def _view_defs(self) -> Dict[str, Dict[str, str]]:
        """The view definitions of ``_design/<type>`` (one GET); refreshes ``self.views``."""
        ddoc = self.database.get_or_none(self._ddoc_id)
        defs: Dict[str, Dict[str, str]] = dict(ddoc.get("views", {})) if ddoc is not None else {}
        self.views = {
            name: ViewDefinition(self.t_type, name, reduce="reduce" in definition)
            for name, definition in defs.items()
        }
        return defs

    def load_views(self) -> Dict[str, ViewDefinition]:
        """Read the views of ``_design/<type>`` into ``self.views`` (and return it)."""
        self._view_defs()
        return self.views

    def add_overview_view(self) -> None:
        """Create ``overview_total``: token counts per state (the states never overlap)."""
        self._set_views({views.OVERVIEW: views.overview_view(self.t_type)})

    def add_status_views(self) -> None:
        """Create the ``todo``, ``locked``, ``done`` and ``error`` views."""
        self._set_views(
            {name: views.state_view(self.t_type, _STATES[name]) for name in views.STATUS_VIEWS}
        )

    def add_view(
        self,
        view_name: str = "test_view",
        cond: str = "doc.lock > 9 ",
        emit_value: str = "doc._id",
        emit_value2: str = "doc._id",
        *,
        v_name: Optional[str] = None,
    ) -> None:
        """Create a view of the tokens of this type for which ``cond`` (JavaScript) holds."""
        name = v_name or view_name
        self._set_views({name: views.condition_map(self.t_type, cond, emit_value, emit_value2)})

    def add_mapreduce_view(
        self, view_name: str = "test_mapred_view", cond: str = 'doc.PIPELINE_STEP == "pref_cal1" '
    ) -> None:
        """Create an overview (counts per state) restricted to tokens for which ``cond`` holds."""
        self._set_views({view_name: views.mapreduce_view(self.t_type, cond)})

    def del_view(self, view_name: str = "test_view") -> None:
        """Remove one view from ``_design/<type>``."""
        self._require_view(view_name, self._view_defs())
        self._edit_design(lambda ddoc: ddoc["views"].pop(view_name, None))

    def _require_view(self, view_name: str, defs: Dict[str, Dict[str, str]]) -> Dict[str, str]:
        if view_name not in defs:
            known = ", ".join(sorted(defs)) or "none (run add_status_views() first)"
            raise UsageError(
                f"view {view_name!r} does not exist in {self._ddoc_id} of database "
                f"{self.database.name!r}; existing views: {known}"
            )
        return defs[view_name]

    # -- listing -------------------------------------------------------------------------------

    def list_tokens_from_view(self, view_name: str) -> ViewResults:
        """The rows (``id``, ``key``, ``value``) of a view of ``_design/<type>``."""
        return self._rows(view_name, self._view_defs())

    def _rows(self, view_name: str, defs: Dict[str, Dict[str, str]]) -> ViewResults:
        definition = self._require_view(view_name, defs)
        params = {"group": True} if "reduce" in definition else {}
        rows = self.database.view(self.t_type, view_name, **params)["rows"]
        return ViewResults(self.t_type, view_name, [Row(r) for r in rows])

    def ids_in_view(self, view_name: str, key: Optional[Sequence[Any]] = None) -> List[str]:
        """Ids of the tokens in a view, optionally only those with ``key=[field, value]``.

        The state names (todo, locked, done, error, waiting) work even before
        ``add_status_views()``: they are answered from the database-wide view.
        """
        defs = self._view_defs()
        if view_name in _STATES and view_name not in defs:
            ids = self.pool.ids(self.t_type, _STATES[view_name])
        else:
            ids = [row.id for row in self._rows(view_name, defs) if row.id]
        if key is None:
            return ids
        field, value = key[0], key[1]
        return [doc["_id"] for doc in self.pool.docs(ids) if doc.get(field) == value]

    # -- tokens --------------------------------------------------------------------------------

    def create_token(
        self, keys: Optional[Dict[str, Any]] = None, append: str = "", attach: Any = None
    ) -> str:
        """Create one token ``t_<type>_<append>`` with ``keys`` and an optional attachment.

        ``attach`` is ``[filehandle, name]``. An existing token with the same id is left
        untouched (a warning is logged) and its id returned.
        """
        token_id = make_token_id(self.t_type, append)
        doc = new_token(self.t_type, token_id, keys)
        if attach:
            handle, name = attach[0], attach[1]
            doc["_attachments"] = {
                name: inline_attachment(read_upload(handle), content_type_of(name))
            }
        result = self.pool.create([doc])
        if result.existing:
            log.warning("token %s already exists; it was left untouched", token_id)
        elif result.failed:
            raise UsageError(f"could not create token {token_id}: {result.failed[token_id]}")
        return token_id

    def add_attachment(self, token: str, filehandle: Any, filename: str = "test") -> None:
        """Attach a file (open file, bytes or path) to a token under ``filename``."""
        self.pool.put_attachment(
            token, filename, read_upload(filehandle), content_type_of(filename)
        )

    def list_attachments(self, token: str) -> List[str]:
        """Names of the attachments of a token."""
        return list(self.database.get(token).get("_attachments", {}))

    def get_attachment(self, token: str, filename: str, savename: Optional[str] = None) -> str:
        """Save an attachment to ``savename`` (default: its name with ``/`` → ``_``).

        Returns the absolute path of the saved file.
        """
        target = Path(savename or filename.replace("/", "_"))
        data = self.database.get_attachment(token, filename)
        target.write_bytes(data)
        return str(target.resolve())

    def reset_tokens(
        self,
        view_name: str = "test_view",
        key: Optional[Sequence[Any]] = None,
        del_attach: bool = False,
    ) -> BulkResult:
        """Put the tokens of a view back to todo (``scrub_count + 1``).

        ``key=[field, value]`` restricts it to tokens with that field value. Tokens already in
        todo, and held (waiting) tokens, are left alone. Returns what was changed.
        """

        def reset(doc: Dict[str, Any]) -> bool:
            return reset_for_retry(doc, drop_attachments=del_attach)

        return self.pool.update(self.ids_in_view(view_name, key), reset)

    def set_view_to_status(self, view_name: str, status: str) -> BulkResult:
        """Set ``status`` on every token of a view. As in GRID_LRT, this also locks them."""

        def set_status(doc: Dict[str, Any]) -> bool:
            doc["status"] = status
            doc["lock"] = 1
            return True

        return self.pool.update(self.ids_in_view(view_name), set_status)

    def delete_tokens(
        self, view_name: str = "test_view", key: Optional[Sequence[Any]] = None
    ) -> BulkResult:
        """Delete the tokens of a view (optionally only those with ``key=[field, value]``)."""
        ids = self.ids_in_view(view_name, key)
        result = self.pool.delete(ids)
        for token_id in result.changed:
            log.info("deleted token %s", token_id)
        return result

    def remove_error(self) -> BulkResult:
        """Delete every token of this type in the error state."""
        return self.pool.delete(self.pool.ids(self.t_type, TokenState.ERROR))

    def clear_all_views(self) -> None:
        """Delete the tokens of every view (except ``overview_total``), then the views."""
        for name, definition in list(self.load_views().items()):
            if name != views.OVERVIEW and not definition.reduce:
                self.delete_tokens(name)
        self._edit_design(lambda ddoc: ddoc.__setitem__("views", {}))

    def purge_tokens(self) -> None:
        """Delete ALL tokens of this type, its views and ``_design/<type>``."""
        self.pool.delete(self.pool.ids(self.t_type))
        ddoc = self.database.get_or_none(self._ddoc_id)
        if ddoc is not None:
            self.database.delete(ddoc["_id"], ddoc["_rev"])
        self.views = {}

    # -- archiving -----------------------------------------------------------------------------

    def archive_a_token(self, tokenid: str, delete: bool = False) -> List[str]:
        """Dump a token (YAML) and its attachments to files in the current folder."""
        files = _archive.archive_token(self.database, tokenid, Path.cwd())
        if delete:
            self.pool.delete([tokenid])
        return [str(f) for f in files]

    def archive_tokens_from_view(self, viewname: str, delete_on_save: bool = False) -> List[str]:
        """Archive the tokens of one view to the current folder."""
        ids = self.ids_in_view(viewname)
        files = _archive.archive_tokens(self.database, ids, Path.cwd())
        if delete_on_save:
            self.pool.delete(ids)
        return [str(f) for f in files]

    def archive_tokens(
        self,
        delete_on_save: bool = False,
        compress: bool = True,
        dest: Union[str, Path, None] = None,
    ) -> str:
        """Archive every token of this type into ``<type>/`` (or ``tokens_<type>.tar.gz``).

        Works when the folder exists, never changes the working directory, and deletes tokens
        only after their archive is complete. Returns the folder or tarball path.
        """
        ids = self.pool.ids(self.t_type)
        base = Path(dest) if dest else Path.cwd()
        out = _archive.archive_type(self.database, self.t_type, ids, base, compress=compress)
        if delete_on_save:
            self.pool.delete(ids)
        return str(out)

    # -- helpers for TokenSet ------------------------------------------------------------------

    def get(self, token_id: str) -> Document:
        try:
            return self.database.get(token_id)
        except DocumentNotFoundError:
            raise UsageError(
                f"token {token_id!r} does not exist in database {self.database.name!r}"
            ) from None


# TokenSet lives in its own module; importing it here keeps the seed's import path working.
from .tokenset import TokenSet  # noqa: E402
