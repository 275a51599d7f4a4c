"""A loopback simulator of ASTRON's LTA stager, speaking its XML-RPC API (``LtaStager.*``).

Each request goes ``new`` → ``scheduled`` → ``in progress`` → ``success``, one step every
``delay`` seconds. SURLs containing ``fail`` are never staged, and neither are SURLs the real
LTA would not find in its catalogue, which it matches in the plain ``srm://host:8443/pnfs/...``
form (:func:`in_catalogue`: the gfal form ``.../srm/managerv2?SFN=/pnfs/...`` or another scheme
is unknown to it). A request with some such SURLs ends ``partial success``, one with only such
SURLs ends ``failed``. As on the real LTA, a finished
request is forgotten ``linger`` seconds later (``getstatus`` then answers an empty string).

When a request's files are staged, ``on_online(surls)`` is called (from the simulator's ticker
thread) with the SURLs as the client sent them, so a storage emulator can flip them ONLINE.

Example::

    with LtaSimulator(delay=0.1) as sim:
        stager = LtaStager(sim.url, user=sim.user, password=sim.password)
        request = stager.submit([...])
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import itertools
import logging
import os
import socketserver
import threading
import time
import xmlrpc.client
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from grid_lrt.client.devtools.service import Service

__all__ = ["LtaSimulator", "in_catalogue", "main"]

log = logging.getLogger(__name__)

_STEPS = ("new", "scheduled", "in progress")


def in_catalogue(surl: str) -> bool:
    """True when the LTA would match ``surl``: a plain ``srm://host/...`` SURL (not the
    ``srm/managerv2?SFN=`` form, not gsiftp or https), and not one of the simulated failures
    (a SURL containing ``fail``)."""
    return (
        surl.startswith("srm://")
        and "?SFN=" not in surl
        and "/srm/managerv2" not in surl
        and "fail" not in surl.lower()
    )


@dataclass
class _Request:
    surls: List[str]
    user: str
    started: float
    step: int = 0
    final: str = ""
    finished_at: float = 0.0
    online: List[str] = field(default_factory=list)
    aborted: bool = False

    @property
    def status(self) -> str:
        return self.final or _STEPS[self.step]


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/", "/RPC2", "/xmlrpc", "/service-public/xmlrpc")

    def do_POST(self) -> None:
        sim: LtaSimulator = self.server.simulator  # type: ignore[attr-defined]
        if not sim._authorised(self.headers.get("Authorization", "")):
            sim._count("401")
            self.send_response(401, "Unauthorized")
            self.send_header("WWW-Authenticate", 'Basic realm="LTA stager simulator"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_POST()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("lta-simulator: " + format, *args)


class _Server(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True


class LtaSimulator(Service):
    """The LTA stager on ``127.0.0.1`` (a thread), for tests, demos and ``lrt dev``.

    Args:
        port: TCP port; 0 picks a free one.
        user: The only user name accepted (HTTP basic auth).
        password: Its password.
        delay: Seconds per step (new → scheduled → in progress → finished).
        linger: Seconds a finished request is remembered.
        on_online: Called with the newly staged SURLs of a request.
        unknown_status_fault: ``getstatus`` of an unknown id raises a fault instead of
            answering an empty string.

    Attributes:
        calls: How often each ``LtaStager`` method was called (``'401'`` counts refusals).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        user: str = "lta-user",
        password: str = "lta-secret",  # noqa: S107  (a loopback test service)
        delay: float = 0.1,
        linger: float = 60.0,
        on_online: Optional[Callable[[List[str]], None]] = None,
        unknown_status_fault: bool = False,
    ) -> None:
        self.user = user
        self.password = password
        self.delay = delay
        self.linger = linger
        self.on_online = on_online
        self.unknown_status_fault = unknown_status_fault
        self.calls: collections.Counter[str] = collections.Counter()
        self._port = port
        self._requests: Dict[int, _Request] = {}
        self._ids = itertools.count(10000)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server: Optional[_Server] = None
        self._threads: List[threading.Thread] = []

    # ---- life cycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The XML-RPC endpoint, e.g. ``http://127.0.0.1:40123/service-public/xmlrpc``."""
        if self._server is None:
            raise RuntimeError("the LTA simulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/service-public/xmlrpc"

    def start(self) -> LtaSimulator:
        """Start serving (and the ticker thread); returns ``self``."""
        if self._server is not None:
            return self
        server = _Server(
            ("127.0.0.1", self._port), requestHandler=_Handler, allow_none=True, logRequests=False
        )
        server.simulator = self  # type: ignore[attr-defined]
        for name in (
            "add_getid",
            "getstatus",
            "getstagedurls",
            "gettoken",
            "reschedule",
            "abort",
            "getprogress",
            "getsrmstorageinfo",
        ):
            server.register_function(self._counted(name), "LtaStager." + name)
        self._server = server
        self._stop.clear()
        self._threads = [
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True),
            threading.Thread(target=self._tick_loop, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("LTA stager simulator at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and join the threads."""
        if self._server is None:
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None

    # ---- internals -----------------------------------------------------------------------

    def _authorised(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.user}:{self.password}"

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def _counted(self, name: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self, "_rpc_" + name)

        def call(*args: Any) -> Any:
            self._count(name)
            return method(*args)

        return call

    def _get(self, stage_id: Any) -> _Request:
        with self._lock:
            req = self._requests.get(int(stage_id))
        if req is None:
            raise xmlrpc.client.Fault(404, f"No request with id {stage_id}")
        return req

    def _tick_loop(self) -> None:
        interval = max(0.01, min(self.delay / 4, 0.25))
        while not self._stop.wait(interval):
            self.tick()

    def tick(self, now: Optional[float] = None) -> None:
        """Advance every request to where it should be at ``now``; forget old finished ones."""
        now = time.monotonic() if now is None else now
        staged: List[List[str]] = []
        with self._lock:
            for stage_id, req in list(self._requests.items()):
                if req.final:
                    if now - req.finished_at >= self.linger:
                        del self._requests[stage_id]
                    continue
                steps = int((now - req.started) / self.delay) if self.delay > 0 else 3
                if steps < 3:
                    req.step = steps
                    continue
                good = [s for s in req.surls if in_catalogue(s)]
                req.online = good
                req.final = (
                    "success"
                    if len(good) == len(req.surls)
                    else "partial success"
                    if good
                    else "failed"
                )
                req.finished_at = now
                if good:
                    staged.append(list(good))
        for surls in staged:
            if self.on_online is not None:
                try:
                    self.on_online(surls)
                except Exception:  # a hook's bug must not stop the simulator
                    log.exception("on_online hook failed")

    # ---- the XML-RPC API -----------------------------------------------------------------

    def _rpc_add_getid(self, surls: Sequence[str]) -> int:
        if isinstance(surls, str) or not surls:
            raise xmlrpc.client.Fault(400, "add_getid expects a non-empty list of SURLs")
        with self._lock:
            stage_id = next(self._ids)
            req = _Request(surls=[str(s) for s in surls], user=self.user, started=time.monotonic())
            self._requests[stage_id] = req
        self.tick()
        return stage_id

    def _rpc_getstatus(self, stage_id: Any) -> str:
        with self._lock:
            req = self._requests.get(int(stage_id))
            if req is None:
                if self.unknown_status_fault:
                    raise xmlrpc.client.Fault(404, f"No request with id {stage_id}")
                return ""
            return req.status

    def _rpc_getstagedurls(self, stage_id: Any) -> List[str]:
        return list(self._get(stage_id).online)

    def _rpc_gettoken(self, stage_id: Any) -> str:
        self._get(stage_id)
        return f"-{int(stage_id) * 7919}"

    def _rpc_reschedule(self, stage_id: Any) -> bool:
        req = self._get(stage_id)
        with self._lock:
            req.started, req.step, req.final, req.online = time.monotonic(), 0, "", []
        return True

    def _rpc_abort(self, stage_id: Any) -> bool:
        req = self._get(stage_id)
        with self._lock:
            if not req.final:
                req.final, req.aborted, req.finished_at = "aborted", True, time.monotonic()
        return True

    def _rpc_getprogress(self) -> Dict[str, Dict[str, str]]:
        with self._lock:
            return {
                str(stage_id): {
                    "Status": req.status,
                    "File count": str(len(req.surls)),
                    "User id": req.user,
                    "Location": _location(req.surls[0]),
                    "Files done": str(len(req.online)),
                    "Flagged abort": str(req.aborted).lower(),
                    "Percent done": str(int(100 * len(req.online) / len(req.surls))),
                }
                for stage_id, req in self._requests.items()
            }

    def _rpc_getsrmstorageinfo(self) -> Dict[str, str]:
        with self._lock:
            files = sum(len(r.online) for r in self._requests.values())
        return {"simulator": "grid-lrt LTA stager simulator", "files online": str(files)}


def _location(link: str) -> str:
    from grid_lrt.shared.surl import find_site

    site = find_site(link)
    return site.name if site is not None else "unknown"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the simulator until Ctrl-C (``lrt dev lta-simulator``); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="lrt dev lta-simulator", description="LTA stager simulator on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds per request step")
    parser.add_argument("--linger", type=float, default=600.0, help="seconds to keep done ones")
    parser.add_argument("--user", default="lta-user")
    args = parser.parse_args(argv)
    # The password is never a flag (it would show in `ps`): LRT_SIM_LTA_PWD or the default.
    password = os.environ.get("LRT_SIM_LTA_PWD", "lta-secret")
    sim = LtaSimulator(
        args.port, user=args.user, password=password, delay=args.delay, linger=args.linger
    )
    with sim:
        print(sim.url, flush=True)
        print(
            f"export LRT_LTA_URL={sim.url} LOFAR_LTA_USER={args.user} "
            f"LOFAR_LTA_PWD=<password>   # Ctrl-C stops",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
