"""``Emulator`` (runs on the caller's event loop) and ``ThreadedEmulator`` (its own thread)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, TypeVar

from aiohttp import web

from . import _engine
from ._app import build_app
from ._auth import KEY_PATTERN, sanitize_branch
from ._models import InjectedResponse, RecordedRequest
from ._presenters import retrieve_body
from ._state import Settings, State
from ._store import Run

T = TypeVar("T")

#: Example keys, one per environment kind (any key of the same shape works too).
DEV_KEY: Final = "tr_dev_emulator0000000000000001"
STAGING_KEY: Final = "tr_stg_emulator0000000000000001"
PROD_KEY: Final = "tr_prod_emulator0000000000000001"
PREVIEW_KEY: Final = "tr_preview_emulator0000000000000001"

# Handlers still running when the emulator closes get this long to finish (an injected
# delay, say) before they are cancelled; closing must stay quick in test teardown.
_SHUTDOWN_TIMEOUT_S: Final = 0.5


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Emulator:
    """The Trigger.dev API emulator on the running event loop.

    ``async with Emulator() as emu:`` serves on 127.0.0.1 and a free port; point a client's
    base URL at ``emu.url`` and use one of the example keys (or any well-formed key: each
    distinct key is its own environment of the project ``proj_emulator``).

    ``dedupe_request_idempotency`` turns on the 24 h replay of triggers by
    ``x-trigger-request-idempotency-key`` that the real server intends but never performs.
    ``rate_limit`` turns on the real token bucket (750 requests, +250 every 10 s, per
    environment) and its 429 answers; otherwise every request sees a full bucket.
    """

    dev_key: str = DEV_KEY
    staging_key: str = STAGING_KEY
    prod_key: str = PROD_KEY
    preview_key: str = PREVIEW_KEY

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        dedupe_request_idempotency: bool = False,
        rate_limit: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self._state = State(Settings(dedupe_request_idempotency=dedupe_request_idempotency, rate_limit=rate_limit))
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already started")
        runner = web.AppRunner(
            build_app(self._state),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        self._url = f"http://{_url_host(self.host)}:{self.port}"

    async def close(self) -> None:
        """Stop serving and release the socket (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("the emulator is not started")
        return self._url

    # recorded requests and injections -------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (the live list)."""
        return self._state.requests

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._state.requests.clear()

    def inject(self, method: str, path: str, *responses: InjectedResponse) -> None:
        """Answer the next requests to ``method`` + decoded ``path`` with ``responses``.

        Each scripted response is used once, in order, before any normal handling (no auth,
        no rate limiting); later requests are handled normally again.
        """
        self._state.inject(method, path, responses)

    # run controls ----------------------------------------------------------------------------

    def _run(self, run_id: str) -> Run:
        self._state.store.advance()
        run = self._state.store.runs.get(run_id)
        if run is None:
            raise KeyError(run_id)
        return run

    def start_run(self, run_id: str) -> None:
        """QUEUED/DEQUEUED -> EXECUTING, setting ``startedAt`` (a worker picked it up)."""
        _engine.start_run(self._state, self._run(run_id))

    def complete_run(self, run_id: str, output: Any = None) -> None:
        """Finish a run successfully with a JSON-serialisable ``output`` (``None``: none)."""
        _engine.complete_run(self._state, self._run(run_id), output)

    def fail_run(
        self,
        run_id: str,
        error: str | dict[str, Any] = "Task failed",
        *,
        status: str = "COMPLETED_WITH_ERRORS",
    ) -> None:
        """Finish a run with a failure ``status`` (internal name, e.g. ``CRASHED``).

        ``error`` is a message or a serialized error object (``{"message", "name", ...}``).
        """
        _engine.fail_run(self._state, self._run(run_id), error, status)

    def set_run_status(self, run_id: str, status: str) -> None:
        """Force an internal status, e.g. ``WAITING_TO_RESUME`` or ``DEQUEUED``."""
        _engine.set_run_status(self._state, self._run(run_id), status)

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward (delays, TTLs, idempotency keys, windows)."""
        self._state.clock.advance(seconds)
        self._state.store.advance()

    def runs(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """Runs of the environment a key (+ branch) selects, oldest first.

        Each is the retrieve answer (new status names) plus an ``"emulator"`` entry with
        internal state: the internal status, queue, concurrency key, machine, raw payload...
        """
        if not KEY_PATTERN.match(access_token):
            raise ValueError("not a well-formed secret key")
        store = self._state.store
        store.advance()
        env = store.env_for_key(access_token, create=False)
        if env is None:
            return []
        name = sanitize_branch(branch)
        if env.type == "PREVIEW" and name is None:
            raise ValueError("a preview key needs a branch")
        if name is not None and (env.type == "PREVIEW" or (env.type == "DEVELOPMENT" and name != "default")):
            branch_env = store.branch_env(env, name, create=False)
            if branch_env is None:
                return []
            env = branch_env
        return [self._inspect(run) for run in store.runs_of([env])]

    def _inspect(self, run: Run) -> dict[str, Any]:
        body = retrieve_body(self._state.store, run, True)
        body["emulator"] = {
            "status": run.status,
            "environmentId": run.env.id,
            "queue": run.queue,
            "concurrencyKey": run.concurrency_key,
            "machine": run.machine,
            "maxAttempts": run.max_attempts,
            "maxDuration": run.max_duration,
            "priorityMs": run.priority_ms,
            "payload": run.payload.data,
            "payloadType": run.payload.data_type,
            "metadata": run.metadata.data if run.metadata else None,
            "metadataType": run.metadata.data_type if run.metadata else None,
            "context": run.context,
            "idempotencyKey": run.idempotency_key,
            "idempotencyKeyScope": run.idempotency_key_scope,
            "idempotencyKeyExpiresAt": run.idempotency_key_expires_at,
            "parentId": run.parent_id,
            "rootId": run.root_id,
            "replayedFrom": run.replayed_from,
            "triggerSource": run.trigger_source,
            "triggerVersion": run.trigger_version,
        }
        return body


class ThreadedEmulator:
    """The emulator on a background thread with its own event loop.

    For synchronous code and for tests that start several event loops (``asyncio.run``
    more than once): ``with ThreadedEmulator() as emu: ...``. The attributes and controls are
    those of ``Emulator``; controls run on the emulator's loop, so they are thread-safe.
    """

    dev_key: str = DEV_KEY
    staging_key: str = STAGING_KEY
    prod_key: str = PROD_KEY
    preview_key: str = PREVIEW_KEY

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        dedupe_request_idempotency: bool = False,
        rate_limit: bool = False,
    ) -> None:
        self._emulator = Emulator(
            host=host,
            port=port,
            dedupe_request_idempotency=dedupe_request_idempotency,
            rate_limit=rate_limit,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread and wait until the emulator is serving."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already started")
        started: concurrent.futures.Future[asyncio.AbstractEventLoop] = concurrent.futures.Future()
        thread = threading.Thread(target=self._serve, args=(started,), name="trigger-emulator", daemon=True)
        thread.start()
        try:
            self._loop = started.result()
        except BaseException:
            thread.join()
            raise
        self._thread = thread

    def _serve(self, started: concurrent.futures.Future[asyncio.AbstractEventLoop]) -> None:
        loop = asyncio.new_event_loop()
        try:
            try:
                loop.run_until_complete(self._emulator.start())
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(loop)
            loop.run_forever()
            loop.run_until_complete(self._emulator.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()

    def close(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    def __enter__(self) -> ThreadedEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, function: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the emulator is not started")
        if self._thread is threading.current_thread():
            return function()
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(function())
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return result.result()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return self._emulator.url

    @property
    def host(self) -> str:
        """The host the emulator binds."""
        return self._emulator.host

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return self._emulator.port

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        return self._call(lambda: list(self._emulator.requests))

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._call(self._emulator.clear_requests)

    def inject(self, method: str, path: str, *responses: InjectedResponse) -> None:
        """See ``Emulator.inject``."""
        self._call(lambda: self._emulator.inject(method, path, *responses))

    def start_run(self, run_id: str) -> None:
        """See ``Emulator.start_run``."""
        self._call(lambda: self._emulator.start_run(run_id))

    def complete_run(self, run_id: str, output: Any = None) -> None:
        """See ``Emulator.complete_run``."""
        self._call(lambda: self._emulator.complete_run(run_id, output))

    def fail_run(
        self,
        run_id: str,
        error: str | dict[str, Any] = "Task failed",
        *,
        status: str = "COMPLETED_WITH_ERRORS",
    ) -> None:
        """See ``Emulator.fail_run``."""
        self._call(lambda: self._emulator.fail_run(run_id, error, status=status))

    def set_run_status(self, run_id: str, status: str) -> None:
        """See ``Emulator.set_run_status``."""
        self._call(lambda: self._emulator.set_run_status(run_id, status))

    def advance_time(self, seconds: float) -> None:
        """See ``Emulator.advance_time``."""
        self._call(lambda: self._emulator.advance_time(seconds))

    def runs(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """See ``Emulator.runs``."""
        return self._call(lambda: self._emulator.runs(access_token, branch))
