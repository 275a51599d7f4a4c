"""A loopback simulator of ASTRON's StageIT (today's LTA stager), for tests and demos.

HTTPS on ``127.0.0.1`` with a self-signed certificate (``openssl`` CLI, in its own temp folder;
trust it with :attr:`StageItSimulator.client_env`), ``Authorization: Token <token>`` checked
(401 otherwise), the REST endpoints under ``/stageit/api/staging/requests/`` and the GraphQL
endpoint ``/stageit/api/staging/graphql/`` that ASTRON's client 2.0 uses, GraphQL executed by
``graphql-core`` against a schema (:mod:`.schema`).

Each request goes ``new`` → ``scheduled`` → ``in progress`` → ``success``, one step every
``delay`` seconds, like the LTA simulator. SURLs not in the catalogue's plain
``srm://host:8443/pnfs/...`` form, of no LTA site, or containing ``fail`` get an error with a
reason in ``response.errors``; the request then ends ``partial success`` (some files online)
or ``failed`` (none). ``hold(id)`` puts a request on hold until it is rescheduled
(``PATCH current_status_code=S``); abort stops it. Once a request finishes, ``on_online(surls)``
is called with its online SURLs as sent, and it gets one macaroon per LTA site of its online
files, minted with :func:`grid_lrt.client.devtools.macaroons.mint` and ``macaroon_secret``,
valid for ``macaroon_lifetime`` seconds. The FAQ's limits are enforced: more than 1,000 files
in one request, or more than 5,000 over the user's unfinished requests, is refused with HTTP
400 and a message.

Differences from the real service (what is known of it: ``/work/shared/reference/lta-stageit.md``):

* one user and one token; no e-mails (``notify`` is only recorded); no 5 TB limit;
* status codes other than S (scheduled), C (completed) and A (aborted) are made up:
  N new, I in progress, P partial success, F failed, H on hold;
* ``response`` lists every file as ``progressing`` until the request finishes, then each file
  is ``online`` or in ``errors`` at once (the real service may report files one by one);
* macaroons exist only once a request has finished, cover the online files' folders
  (``macaroon_scope='directory'``, or each file with ``'file'``), and are V1 macaroons with
  ``site:``/``activity:``/``path:``/``before:`` caveats
  (:mod:`grid_lrt.client.devtools.macaroons`);
* ``convert2webdav`` answers ``{surl: "https://<door>/<path>"}`` and ``convert2gridftp``
  ``{surl: "gsiftp://<site's GridFTP door>/<path>"}`` for the request's catalogued files; the
  real shape is unknown, and the doors (``doors=``) are made up unless given;
* a GraphQL ``request(id:)`` of an unknown id is the error "Request matching query does not
  exist." (graphene's wording); REST errors use Django REST framework's ``{"detail": ...}``;
* ``requests(...)`` node ids are the plain request ids (a relay server might send global ids);
* the limits' HTTP status (400) and wording are guesses.
"""

from grid_lrt.client.devtools.stageit.server import Seen, StageItSimulator, main
from grid_lrt.client.devtools.stageit.state import CODES, DEFAULT_DOORS, SimRequest

__all__ = ["CODES", "DEFAULT_DOORS", "Seen", "SimRequest", "StageItSimulator", "main"]
