"""GRID_LRT's ``TokenHandler``: the tokens of one type, as a façade over the token pool.

Same method names and arguments as ``GRID_LRT.token.TokenHandler``; the work is done by the
core (:class:`~grid_lrt.shared.pool.CouchTokenPool`, :class:`~grid_lrt.client.typeviews.TypeViews`,
:mod:`grid_lrt.client.tokendocs`, :mod:`grid_lrt.client.token_archive`), which also fixes the
original's bugs: user keys are never overwritten by defaults, deleting is a real delete (not
``_purge``), attachments are binary-safe, archiving works when the folder exists, and
``add_mapreduce_view`` stores the view under its own name. Changing or deleting more than a
thousand tokens at once shows a progress bar (a widget in Jupyter), one step per batch.

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
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from grid_lrt.shared import views
from grid_lrt.shared.couch import CouchDB, Document
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import BulkResult, CouchTokenPool
from grid_lrt.shared.schema import (
    TokenState,
    inline_attachment,
    make_token_id,
    new_token,
)

from .. import token_archive
from ..credentials import picas_cred
from ..tokendocs import (
    bulk_update,
    check_finite,
    content_type_of,
    create_tokens,
    dropped_summary,
    in_batches,
    read_attachment,
    read_upload,
    reset_mutator,
)
from ..typeviews import TypeViews
from .viewresults import Row, ViewDefinition, ViewResults

__all__ = ["TokenHandler"]

log = logging.getLogger(__name__)


class TokenHandler:
    """Tokens of one type (``t_type``) in one PiCaS database, plus its ``_design/<type>``.

    Args:
        t_type: The token type; every token of this handler has ``type == t_type``.
        srv: Server URL. Default: ``PICAS_URL`` / ``url=`` in ``~/.picasrc`` / SURF's server.
        uname: User. Default: ``PICAS_USR`` / ``user=``.
        pwd: Password. Default: ``PICAS_USR_PWD`` / ``password=``.
        dbn: Database. Default: ``PICAS_DB`` / ``database=``.

    Raises:
        UsageError: ``srv`` is not a valid URL.
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
        if not (srv and uname and dbn):
            creds = picas_cred()
            srv, uname = srv or creds.url, uname or creds.user
            pwd, dbn = pwd or creds.password, dbn or creds.database
        try:
            database = CouchDB(srv, dbn, user=uname or None, password=pwd)
        except ValueError as exc:  # urlsplit: "Invalid IPv6 URL", "Port out of range" ...
            raise UsageError(
                f"srv is not a valid server URL ({exc})",
                hint="give it as http(s)://host:port, e.g. https://picas-lofar.grid.surfsara.nl:6984",
            ) from None
        self.type_views = TypeViews(CouchTokenPool(database), t_type)
        self.t_type = t_type
        self.database = database
        self.pool = self.type_views.pool
        # fail early and clearly: unreachable, wrong password, no such db
        self.pool.described(self.database.info())
        self.views: Dict[str, ViewDefinition] = {}
        self.load_views()

    def __repr__(self) -> str:
        return f"TokenHandler(t_type={self.t_type!r}, db={self.database!r})"

    @property
    def db(self) -> CouchDB:
        return self.database

    # -- design document and views -------------------------------------------------------------

    def _definitions(self) -> Dict[str, Dict[str, str]]:
        """The view definitions of ``_design/<type>`` (one GET); refreshes ``self.views``."""
        defs = self.type_views.definitions()
        self.views = {
            name: ViewDefinition(self.t_type, name, reduce="reduce" in definition)
            for name, definition in defs.items()
        }
        return defs

    def load_views(self) -> Dict[str, ViewDefinition]:
        """Read the views of ``_design/<type>`` into ``self.views`` (and return it)."""
        self._definitions()
        return self.views

    def _set_views(self, new_views: Dict[str, Dict[str, str]]) -> None:
        self.type_views.set(new_views)
        self.load_views()

    def add_overview_view(self) -> None:
        """Create ``overview_total``: token counts per state (the states never overlap)."""
        self.type_views.add_overview()
        self.load_views()

    def add_status_views(self) -> None:
        """Create the ``todo``, ``locked``, ``done`` and ``error`` views."""
        self.type_views.add_status_views()
        self.load_views()

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
        self.type_views.remove(view_name)
        self.load_views()

    # -- listing -------------------------------------------------------------------------------

    def list_tokens_from_view(self, view_name: str) -> ViewResults:
        """The rows (``id``, ``key``, ``value``) of a view of ``_design/<type>``."""
        rows = self.type_views.rows(view_name, self._definitions())
        return ViewResults(self.t_type, view_name, [Row(r) for r in rows])

    def ids_in_view(self, view_name: str, key: Optional[Sequence[Any]] = None) -> List[str]:
        """Ids of the tokens in a view, optionally only those with ``key=[field, value]``.

        The state names (todo, locked, done, error, waiting) work even before
        ``add_status_views()``: they are answered from the database-wide view.
        """
        return self.type_views.ids(view_name, key)

    # -- tokens --------------------------------------------------------------------------------

    def create_token(
        self, keys: Optional[Dict[str, Any]] = None, append: str = "", attach: Any = None
    ) -> str:
        """Create one token ``t_<type>_<append>`` with ``keys`` and an optional attachment
        (in a partitioned database its id starts with its partition, see ``partitions.py``).

        ``attach`` is ``[filehandle, name]``. An existing token with the same id is left
        untouched (a warning is logged) and its id returned.

        Raises:
            UsageError: a field is NaN or infinite, the id belongs to a token of another
                type, or the server refused the token.
        """
        check_finite(keys or {})
        token_id = make_token_id(self.t_type, append)
        doc = new_token(self.t_type, token_id, keys)
        if attach:
            handle, name = attach[0], attach[1]
            doc["_attachments"] = {
                name: inline_attachment(read_upload(handle), content_type_of(name))
            }
        stored = self.pool.placed(doc)  # a partitioned database: OBSID:t_<type>_<append>
        create_tokens(self.pool, [stored])  # logs an existing token; refuses one of another type
        return str(stored["_id"])

    def add_attachment(self, token: str, filehandle: Any, filename: str = "test") -> None:
        """Attach a file (open file, bytes or path) to a token under ``filename``."""
        self.pool.attach(token, filename, read_upload(filehandle), content_type_of(filename))

    def list_attachments(self, token: str) -> List[str]:
        """Names of the attachments of a token, in name order (servers differ in the order
        they keep: pouchdb-server the order they were added in, Apache CouchDB its own)."""
        return sorted(self.get(token).get("_attachments", {}))

    def get_attachment(self, token: str, filename: str, savename: Optional[str] = None) -> str:
        """Save an attachment to ``savename`` (default: its name with ``/`` → ``_``).

        Returns the absolute path of the saved file.

        Raises:
            UsageError: no such token, or no such attachment (the message lists the others).
        """
        data = read_attachment(self.pool, token, filename)
        target = Path(savename or filename.replace("/", "_"))
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
        todo, and held (waiting) tokens, are left alone. ``del_attach`` drops what launchers
        attached (``attempt<N>_stdout.log``/``_stderr.log``, ``*.png``/``*.fits`` plots),
        not the inputs (GRID_LRT dropped every attachment, ``srm.txt`` included). Returns what
        was changed.
        """
        dropped: Dict[str, List[str]] = {}
        result = bulk_update(
            self.pool,
            self.ids_in_view(view_name, key),
            reset_mutator(del_attach, dropped),
            progress="resetting tokens",
        )
        if del_attach:
            log.info("%s: %s", self.t_type, dropped_summary(dropped, result.changed))
        return result

    def set_view_to_status(self, view_name: str, status: str) -> BulkResult:
        """Set ``status`` on every token of a view. As in GRID_LRT, this also locks them."""

        def set_status(doc: Dict[str, Any]) -> bool:
            doc["status"] = status
            doc["lock"] = 1
            return True

        return bulk_update(
            self.pool, self.ids_in_view(view_name), set_status, progress=f"setting {status}"
        )

    def delete_tokens(
        self, view_name: str = "test_view", key: Optional[Sequence[Any]] = None
    ) -> BulkResult:
        """Delete the tokens of a view (optionally only those with ``key=[field, value]``)."""
        ids = list(dict.fromkeys(self.ids_in_view(view_name, key)))
        result = in_batches(ids, self.pool.delete, progress="deleting tokens")
        for token_id in result.changed:
            log.info("deleted token %s", token_id)
        return result

    def remove_error(self) -> BulkResult:
        """Delete every token of this type in the error state."""
        ids = self.pool.ids(self.t_type, TokenState.ERROR)
        return in_batches(ids, self.pool.delete, progress="deleting tokens")

    def clear_all_views(self) -> None:
        """Delete the tokens of every view (except ``overview_total``), then the views."""
        for name, definition in list(self.load_views().items()):
            if name != views.OVERVIEW and not definition.reduce:
                self.delete_tokens(name)
        self.type_views.clear()
        self.load_views()

    def purge_tokens(self) -> None:
        """Delete ALL tokens of this type, its views and ``_design/<type>``."""
        in_batches(self.pool.ids(self.t_type), self.pool.delete, progress="deleting tokens")
        self.type_views.drop()
        self.views = {}

    # -- archiving -----------------------------------------------------------------------------

    def _delete_archived(self, archived: token_archive.Archived) -> None:
        """Delete exactly the revisions that were archived (any state, as GRID_LRT did); a
        token written since is kept. Both that and a refused deletion are logged."""
        done = token_archive.delete_archived(self.pool, archived, all_states=True)
        for token_id in done.deleted:
            log.info("deleted token %s", token_id)
        for token_id in done.changed:
            log.warning("token %s changed after it was archived; it was not deleted", token_id)
        for token_id, reason in done.failed.items():
            log.error("token %s could not be deleted: %s", token_id, reason)

    def archive_a_token(self, tokenid: str, delete: bool = False) -> List[str]:
        """Dump a token (YAML) and its attachments to files in the current folder.

        File names are made safe (``token_archive.safe_name``); an existing file is never
        replaced (a ``UsageError`` names it).
        """
        archived = token_archive.archive_token(self.pool, tokenid, Path.cwd())
        if delete:
            self._delete_archived(archived)
        return [str(f) for f in archived.files]

    def archive_tokens_from_view(self, viewname: str, delete_on_save: bool = False) -> List[str]:
        """Archive the tokens of one view to the current folder (as :meth:`archive_a_token`)."""
        archived = token_archive.archive_tokens(self.pool, self.ids_in_view(viewname), Path.cwd())
        if delete_on_save:
            self._delete_archived(archived)
        return [str(f) for f in archived.files]

    def archive_tokens(
        self,
        delete_on_save: bool = False,
        compress: bool = True,
        dest: Union[str, Path, None] = None,
    ) -> str:
        """Archive every token of this type into ``tokens_<type>.tar.gz`` (or ``<type>/``).

        Works when the folder exists and never changes the working directory. An existing
        archive is never replaced: the next free name (``tokens_<type>.1.tar.gz``, ...) is
        used. ``delete_on_save`` deletes the tokens once the archive is complete, each only at
        the revision that was archived. Returns the tarball or folder path.
        """
        base = Path(dest) if dest else Path.cwd()
        out = token_archive.archive_type(self.pool, self.t_type, base, compress=compress)
        if delete_on_save:
            self._delete_archived(out)
        return str(out.path)

    def get(self, token_id: str) -> Document:
        """One token of the database; a UsageError when it does not exist."""
        doc = self.pool.get(token_id)
        if doc is None:
            raise UsageError(
                f"token {token_id!r} does not exist in database {self.database.name!r}"
            )
        return doc
