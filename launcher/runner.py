"""One token, start to end: sandbox → environment → inputs → pipeline → upload → report.

Every way a run can end leaves the token in a state that says what happened:

=====================================  ===========================================================
how the run ends                       the token
=====================================  ===========================================================
pipeline exit 0, results uploaded      ``done``, ``output = 0``, ``Results_location``
pipeline exit N, wall time, OOM        ``error``, ``output = N`` / 91 / 92
a failure the launcher detects         ``error``, ``output`` = its code (-2, 1x, 2x, 3x), message
                                       in ``launcher_status``
SIGTERM / SIGINT                       back to ``todo``, ``scrub_count + 1`` (error 5 when
                                       exhausted); the caller exits 128 + N
a bug in the launcher                  ``error``, ``output = 14``, traceback tail in
                                       ``launcher_status``
lease lost (node frozen, server gone)  nothing written: another launcher owns the token now
launcher killed (SIGKILL, node lost)   stays locked until the lease expires, then requeued by
                                       the next launcher that looks
=====================================  ===========================================================

Logs (tails of the pipeline's stdout and stderr) are attached in every case that writes, in
the same request that closes or requeues the token (inline attachments: one write, not three).
With ``defer_close`` the closing write of the first three rows is left to the caller, which
sends it together with the lock of the next token (``loop.py``).
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
import signal
import traceback
from typing import Callable, Dict, Mapping, Optional

from grid_lrt.shared.errors import ErrorCode, LrtError
from grid_lrt.shared.redact import redact

from .config import LauncherConfig
from .environment import pipeline_environment, token_environment
from .failure import TokenFailure
from .heartbeat import Heartbeat
from .inputs import fetch_inputs
from .pipeline import PipelineResult, pipeline_command, run_pipeline, tail
from .sandbox import fetch_sandbox
from .sandbox_cache import SandboxCache
from .session import Attachments, TokenLostError, TokenSession
from .signals import Interrupted, StopSignals
from .storage import Storage
from .templating import template_variables
from .upload import upload_results

__all__ = ["RunOutcome", "TokenRun"]

log = logging.getLogger(__name__)


class RunOutcome(str, enum.Enum):
    """How a run ended, for the launcher's summary (the token itself says more)."""

    DONE = "done"
    """The pipeline succeeded and its results were uploaded: the token is done."""
    ERROR = "error"
    """The pipeline or the launcher failed: the token is in error with its code."""
    REQUEUED = "requeued"
    """Stopped by a signal: the token went back to todo (or to error, code 5)."""
    LOST = "lost"
    """The token was taken back meanwhile (lease lost): nothing was written."""


_PLOT_SUFFIXES = (".png", ".fits")
_MAX_PLOTS = 20
_TRACEBACK_TAIL = 3000


class TokenRun:
    """Processes the token of one :class:`TokenSession`."""

    def __init__(
        self,
        config: LauncherConfig,
        session: TokenSession,
        signals: StopSignals,
        storage_for: Callable[[str], Storage],
        *,
        defer_close: bool = False,
        sandbox_cache: Optional[SandboxCache] = None,
    ) -> None:
        self.config = config
        self.sandbox_cache = sandbox_cache
        #: Leave the closing write of a finished token to the caller (the loop sends it with
        #: the next claim: ``TokenSession.finish(deferred=True)``).
        self.defer_close = defer_close
        self.session = session
        self.signals = signals
        self.storage_for = storage_for
        safe_id = "".join(c if c.isalnum() or c in "._-" else "_" for c in session.token_id)
        self.jobdir = config.workdir / f"{safe_id}.a{session.attempt}.{os.getpid()}"
        self.stdout = self.jobdir / "stdout.log"
        self.stderr = self.jobdir / "stderr.log"
        self._heartbeat = Heartbeat(session, config.heartbeat, halt=signals.stopping)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        """Process the token; re-raises :class:`Interrupted` after requeueing it.

        With ``defer_close``, the heartbeat goes on renewing the lease until :meth:`close`:
        the token stays leased while its closing write waits for the next claim.
        """
        self._heartbeat.start()
        try:
            return self._run(self._heartbeat)
        except TokenLostError as exc:
            log.error("%s", exc.message)
            return RunOutcome.LOST
        finally:
            if self.session.closing_pending:
                self._heartbeat.keep_alone()
            else:
                self._heartbeat.stop()
            if not self.config.keep_jobdirs:
                shutil.rmtree(self.jobdir, ignore_errors=True)

    def close(self) -> None:
        """Write the deferred closing change if no claim carried it; stop the heartbeat.

        Raises:
            TokenLostError: the token is no longer ours; nothing was written.
        """
        try:
            self.session.close()
        finally:
            self._heartbeat.stop()

    def _make_jobdir(self) -> None:
        try:
            if self.jobdir.exists():
                shutil.rmtree(self.jobdir)
            (self.jobdir / "Input").mkdir(parents=True)
            (self.jobdir / "Output").mkdir()
        except OSError as exc:
            raise TokenFailure(
                ErrorCode.JOBDIR_MISSING,
                f"cannot make the job directory {self.jobdir}: {exc.strerror or exc}",
                hint="check the launcher's working directory (LRT_WORKDIR): free space, "
                "permissions",
            ) from exc

    def _run(self, heartbeat: Heartbeat) -> RunOutcome:
        try:
            self._make_jobdir()
            env = self._prepare()
            if heartbeat.lost.is_set():
                raise TokenLostError(f"token {self.session.token_id} was taken back")
            result = self._pipeline(env)
            if heartbeat.lost.is_set():
                raise TokenLostError(f"token {self.session.token_id} was taken back")
            if result.stopped:
                self.signals.check()
            return self._conclude(result, env)
        except TokenFailure as failure:
            text = redact(f"{failure}\nhint: {failure.hint}" if failure.hint else str(failure))
            log.error("token %s: %s", self.session.token_id, text)
            self.session.finish(
                int(failure.code),
                message=text,
                attachments=self._logs(),
                deferred=self.defer_close,
            )
            return RunOutcome.ERROR
        except Interrupted as stop:
            return self._requeue(stop)
        except TokenLostError:
            raise
        except Exception as exc:  # noqa: BLE001 - a launcher bug must end in the token, not lost
            self._internal_error(exc)
            return RunOutcome.ERROR

    def _prepare(self) -> Dict[str, str]:
        """Sandbox, environment and inputs (interruptible: a signal stops a long download)."""
        doc = self.session.doc
        with self.signals.interruptible():
            fetch_sandbox(
                doc,
                self.jobdir,
                storage_for=self.storage_for,
                base=self.config.sandbox_base or None,
                cache=self.sandbox_cache,
                limits=self.config.unpack_limits,
            )
            env = token_environment(
                doc,
                self.jobdir,
                fetch_attachment=self._attachment,
                token_commands=self.config.token_commands,
            )
            if _wants_inputs(doc):
                srm = self.session.attachment("srm.txt")
                fetch_inputs(
                    None if srm is None else srm.decode("utf-8", errors="replace"),
                    self.jobdir / "Input",
                    storage_for=self.storage_for,
                    parallel=self.config.parallel,
                    protocol=self.config.protocol,
                    door=self.config.door or None,
                    on_status=self.session.note_status,
                    limits=self.config.unpack_limits,
                )
        return env

    def _attachment(self, name: str) -> bytes:
        data = self.session.attachment(name)
        if data is None:
            raise TokenFailure(
                ErrorCode.NO_DOWNLOAD_FILE,
                f"the sandbox asks for the attachment {name!r}, but token "
                f"{self.session.token_id} has no such attachment",
            )
        return data

    def _environment(self, extra: Mapping[str, str]) -> Dict[str, str]:
        return pipeline_environment(
            os.environ,
            extra,
            token_id=self.session.token_id,
            attempt=self.session.attempt,
            config=self.config,
        )

    def _pipeline(self, extra_env: Mapping[str, str]) -> PipelineResult:
        doc = self.session.doc
        argv = pipeline_command(doc, self.jobdir)
        walltime = _walltime(doc, self.config.walltime)
        self.session.note_status("running")
        log.info("token %s: running %s", self.session.token_id, " ".join(argv))
        return run_pipeline(
            argv,
            cwd=self.jobdir,
            env=self._environment(extra_env),
            stdout=self.stdout,
            stderr=self.stderr,
            walltime=walltime,
            stop=self.signals.stopping,
            grace=self.config.grace,
        )

    def _conclude(self, result: PipelineResult, env: Mapping[str, str]) -> RunOutcome:
        code = result.error_code()
        if code is not None:
            raise TokenFailure(
                code,
                f"pipeline {code.description.lower()} after "
                f"{result.duration:.0f} s (exit status {result.exit_status})",
            )
        if result.exit_status != 0:
            self.session.finish(
                result.exit_status,
                attachments=self._logs(),
                message=f"pipeline exited with {result.exit_status}: "
                f"{ErrorCode.describe(result.exit_status)}",
                deferred=self.defer_close,
            )
            log.warning(
                "token %s: pipeline exited with %d", self.session.token_id, result.exit_status
            )
            return RunOutcome.ERROR
        if self._heartbeat.lost.is_set():
            raise TokenLostError(f"token {self.session.token_id} was taken back")
        doc = self.session.doc
        if doc.get("upload") or doc.get("RESULTS_DIR"):
            # Results leave the node only for a token that is still ours: the heartbeat may
            # have been kept from telling (an outage, a frozen node), so ask the database.
            self.session.confirm()
            doc = self.session.doc
            self.session.note_status("uploading_results")
        with self.signals.interruptible():
            location = upload_results(
                doc,
                self.jobdir / "Output",
                template_variables(doc, self._environment(env)),
                storage_for=self.storage_for,
                workdir=self.jobdir,
                attempt=self.session.attempt,
                commit=self.session.record_commit,
            )
        fields = {"Results_location": location} if location else {}
        self.session.finish(
            0,
            attachments={**self._logs(), **self._plots()},
            deferred=self.defer_close,
            **fields,
        )
        log.info("token %s: done", self.session.token_id)
        return RunOutcome.DONE

    # -- endings -----------------------------------------------------------------------------

    def _requeue(self, stop: Interrupted) -> RunOutcome:
        name = signal.Signals(stop.signum).name
        state = self.session.requeue(
            f"interrupted by {name} (attempt {self.session.attempt})",
            default_max_scrub=self.config.max_scrub,
            attachments=self._logs(),
        )
        log.warning("token %s: stopped by %s, back to %s", self.session.token_id, name, state.value)
        raise stop

    def _internal_error(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("token %s: launcher error\n%s", self.session.token_id, text)
        message = redact(f"launcher error: {type(exc).__name__}: {exc}\n{text[-_TRACEBACK_TAIL:]}")
        try:
            self.session.finish(
                int(ErrorCode.LAUNCHER_INTERNAL), message=message, attachments=self._logs()
            )
        except LrtError as again:
            # The token stays locked; its lease runs out and another launcher takes it back.
            log.error(
                "could not record the error in token %s: %s", self.session.token_id, again.message
            )

    # -- attachments -------------------------------------------------------------------------

    def _logs(self) -> Attachments:
        """Tails of the pipeline's stdout and stderr (empty logs are left out)."""
        found: Attachments = {}
        for label, path in (("stdout", self.stdout), ("stderr", self.stderr)):
            if path.is_file() and path.stat().st_size:
                name = f"attempt{self.session.attempt}_{label}.log"
                found[name] = (tail(path, self.config.tail_bytes), "text/plain")
        return found

    def _plots(self) -> Attachments:
        """PNG and FITS results (not inputs) under the size limit, at most ``_MAX_PLOTS``."""
        found: Attachments = {}
        for path in sorted(self.jobdir.rglob("*")):
            relative = path.relative_to(self.jobdir)
            if relative.parts[0] in ("Input", ".sandbox") or not path.is_file():
                continue
            if path.suffix.lower() not in _PLOT_SUFFIXES or len(found) >= _MAX_PLOTS:
                continue
            size = path.stat().st_size
            if size > self.config.attach_limit:
                log.info(
                    "not attaching %s: %d bytes > %d", relative, size, self.config.attach_limit
                )
                continue
            kind = "image/png" if path.suffix.lower() == ".png" else "application/fits"
            found["_".join(relative.parts)] = (path.read_bytes(), kind)
        return found


def _wants_inputs(doc: Mapping[str, object]) -> bool:
    """False when the token says its pipeline fetches its own data (``fetch_inputs: false``)."""
    value = doc.get("fetch_inputs", True)
    return not (value is False or str(value).lower() in ("false", "no", "0"))


def _walltime(doc: Mapping[str, object], default: float) -> Optional[float]:
    value = doc.get("walltime")
    try:
        seconds = float(value) if value not in (None, "") else default  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = default
    return seconds if seconds > 0 else None
