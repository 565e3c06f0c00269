"""``Emulator`` (runs on the caller's event loop) and ``ThreadedEmulator`` (its own thread)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

from aiohttp import web

from . import _batches, _bulk, _deployments, _engine, _envvars, _prompts, _queues, _schedules
from ._app import build_app
from ._auth import KEY_PATTERN, sanitize_branch
from ._cron import cron_problem
from ._models import InjectedResponse, RecordedRequest
from ._presenters import retrieve_body
from ._state import Settings, State
from ._store import DEV_KEY, PREVIEW_KEY, PROD_KEY, STAGING_KEY, Environment, Run

T = TypeVar("T")

__all__ = ["DEV_KEY", "PREVIEW_KEY", "PROD_KEY", "STAGING_KEY", "Emulator", "ThreadedEmulator"]

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
    environment), the deployment budget and the batch item quota, and their 429 answers;
    otherwise every request sees a full bucket. ``batch_idempotency_cached`` makes
    ``POST /api/v3/batches`` with a known ``idempotencyKey`` answer the existing batch with
    ``isCached: true`` (what the SDK is written for) instead of the real server's 422.
    ``realtime_poll_timeout`` is how long a live realtime shape request (``live=true``) is held
    waiting for a change before it answers up-to-date (the server's 20 s by default).
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
        batch_idempotency_cached: bool = False,
        realtime_poll_timeout: float = 20.0,
    ) -> None:
        if not realtime_poll_timeout > 0:
            raise ValueError("realtime_poll_timeout must be a positive number of seconds")
        self.host = host
        self.port = port
        self._state = State(
            Settings(
                dedupe_request_idempotency=dedupe_request_idempotency,
                rate_limit=rate_limit,
                batch_idempotency_cached=batch_idempotency_cached,
                realtime_poll_timeout=realtime_poll_timeout,
            )
        )
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
        self._state.live.bind(asyncio.get_running_loop())
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
        self._state.live.sync()
        run = self._state.store.runs.get(run_id)
        if run is None:
            raise KeyError(run_id)
        return run

    def _changed(self) -> None:
        # Realtime shapes see the change, and their held requests answer.
        self._state.live.sync()

    def start_run(self, run_id: str) -> None:
        """QUEUED/DEQUEUED -> EXECUTING, setting ``startedAt`` (a worker picked it up)."""
        _engine.start_run(self._state, self._run(run_id))
        self._changed()

    def complete_run(self, run_id: str, output: Any = None) -> None:
        """Finish a run successfully with a JSON-serialisable ``output`` (``None``: none)."""
        _engine.complete_run(self._state, self._run(run_id), output)
        self._changed()

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
        self._changed()

    def set_run_status(self, run_id: str, status: str) -> None:
        """Force an internal status, e.g. ``WAITING_TO_RESUME`` or ``DEQUEUED``."""
        _engine.set_run_status(self._state, self._run(run_id), status)
        self._changed()

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward (delays, TTLs, idempotency keys, windows)."""
        self._state.clock.advance(seconds)
        self._state.store.advance()
        self._changed()

    # realtime ----------------------------------------------------------------------------------

    def append_stream(self, run_id: str, key: str, chunk: Any) -> str:
        """Append a JSON-serialisable ``chunk`` to the run's realtime stream ``key``.

        Returns the event id (``<ms>-<seq>``). The first chunk creates the stream (the run's
        ``realtimeStreams`` then lists ``key``); readers of
        ``/realtime/v1/streams/{run_id}/{key}`` get the chunk at once. Appending to a closed
        stream is a ``ValueError``.
        """
        self._run(run_id)
        return self._state.live.append(run_id, key, chunk)

    def close_stream(self, run_id: str, key: str) -> None:
        """Close the run's stream ``key`` (creating it empty if needed): its readers' responses end."""
        self._run(run_id)
        self._state.live.close_stream(run_id, key)

    def rotate_shapes(self) -> None:
        """Forget every realtime shape, as Electric rotating them: requests that name an old
        handle (held live requests included) get 409 ``must-refetch`` with a new handle."""
        self._state.live.rotate()

    def _env(self, access_token: str, branch: str | None, *, create: bool) -> Environment | None:
        """The environment a key (+ branch) selects; ``None`` if it was never used."""
        if not KEY_PATTERN.match(access_token):
            raise ValueError("not a well-formed secret key")
        store = self._state.store
        store.advance()
        self._state.live.sync()
        env = store.env_for_key(access_token, create=create)
        if env is None:
            return None
        name = sanitize_branch(branch)
        if env.type == "PREVIEW" and name is None:
            raise ValueError("a preview key needs a branch")
        if name is not None and (env.type == "PREVIEW" or (env.type == "DEVELOPMENT" and name != "default")):
            return store.branch_env(env, name, create=create)
        return env

    def _seed_env(self, access_token: str, branch: str | None) -> Environment:
        env = self._env(access_token, branch, create=True)
        assert env is not None
        return env

    def runs(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """Runs of the environment a key (+ branch) selects, oldest first.

        Each is the retrieve answer (new status names) plus an ``"emulator"`` entry with
        internal state: the internal status, queue, concurrency key, machine, raw payload...
        """
        env = self._env(access_token, branch, create=False)
        if env is None:
            return []
        return [self._inspect(run) for run in self._state.store.runs_of([env])]

    def _inspect(self, run: Run) -> dict[str, Any]:
        body = retrieve_body(self._state.store, run, True, self._url)
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
            "bulkActionIds": list(run.bulk_action_ids),
        }
        return body

    # other areas: inspection -------------------------------------------------------------------

    def batches(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """Batches of the environment, oldest first: the v2 retrieve answer plus ``sealed``."""
        env = self._env(access_token, branch, create=False)
        return [_batches.describe(b) for b in self._state.store.batches.values() if b.env is env]

    def bulk_actions(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """Bulk actions of the environment, oldest first (the retrieve answer)."""
        env = self._env(access_token, branch, create=False)
        return [_bulk.bulk_action_body(a) for a in self._state.store.bulk_actions.values() if a.env is env]

    def schedules(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """Schedules with an instance in the environment, oldest first (the retrieve answer)."""
        env = self._env(access_token, branch, create=False)
        if env is None:
            return []
        now = self._state.clock.now_ms()
        return [
            _schedules.retrieve_body(s, env, now)
            for s in self._state.store.schedules.values()
            if any(e is env for e in s.environments)
        ]

    def env_vars(self, access_token: str, branch: str | None = None) -> dict[str, dict[str, Any]]:
        """The variables the environment sees, unredacted: ``{name: {"value", "isSecret"}}``."""
        env = self._env(access_token, branch, create=False)
        if env is None:
            return {}
        values = _envvars.effective_values(self._state.store.env_vars, env)
        return {name: {"value": v.value, "isSecret": v.is_secret} for name, v in values.items()}

    def queues(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """Queues of the environment (``QueueItem`` answers), in creation order."""
        env = self._env(access_token, branch, create=False)
        store = self._state.store
        return [_queues.queue_item(store, q) for q in store.queues.values() if q.env is env]

    def stored_object(self, path: str) -> tuple[bytes, str] | None:
        """The bytes and content type stored at ``path`` in the object store, if any."""
        stored = self._state.store.objects.get(path)
        return (stored.data, stored.content_type) if stored is not None else None

    # other areas: seeding ------------------------------------------------------------------------

    def add_deployment(
        self,
        access_token: str,
        version: str,
        *,
        status: str = "DEPLOYED",
        branch: str | None = None,
    ) -> str:
        """Seed a deployment (there are none by default); returns its ``deployment_…`` id.

        The newest ``DEPLOYED`` one is the environment's current deployment.
        """
        env = self._seed_env(access_token, branch)
        state = self._state
        return _deployments.add_deployment(state.store, env, version, status, state.clock.now_ms()).id

    def add_prompt(
        self,
        access_token: str,
        slug: str,
        versions: Sequence[Mapping[str, Any]] | str,
        *,
        description: str | None = None,
        tags: Sequence[str] = (),
        default_model: str | None = None,
        default_config: Any = None,
        variable_schema: Any = None,
        branch: str | None = None,
    ) -> str:
        """Seed (or replace) a prompt as a deployment would; returns its ``prompt_…`` id.

        ``versions`` is one template text (a single code version) or a list of versions,
        numbered from 1, each ``{"textContent", "model"?, "config"?, "source"? ("code"),
        "labels"?, "commitMessage"?}``. Without a ``current`` label the newest code version
        gets it.
        """
        env = self._seed_env(access_token, branch)
        specs: Sequence[Mapping[str, Any]] = [{"textContent": versions}] if isinstance(versions, str) else versions
        state = self._state
        prompt = _prompts.add_prompt(
            state.store,
            env,
            slug,
            specs,
            state.clock.now_ms(),
            description=description,
            tags=list(tags),
            default_model=default_model,
            default_config=default_config,
            variable_schema=variable_schema,
        )
        return prompt.id

    def add_declarative_schedule(
        self,
        access_token: str,
        task: str,
        cron: str,
        *,
        timezone: str = "UTC",
        branch: str | None = None,
    ) -> str:
        """Seed a DECLARATIVE schedule (as ``cron`` on a deployed task); returns its ``sched_…`` id."""
        problem = cron_problem(cron)
        if problem is not None:
            raise ValueError(f"Invalid cron expression: {problem}")
        env = self._seed_env(access_token, branch)
        body = {"task": task, "cron": cron, "timezone": timezone, "deduplicationKey": ""}
        return _schedules.new_schedule(self._state, env, body, kind="DECLARATIVE").id


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
        batch_idempotency_cached: bool = False,
        realtime_poll_timeout: float = 20.0,
    ) -> None:
        self._emulator = Emulator(
            host=host,
            port=port,
            dedupe_request_idempotency=dedupe_request_idempotency,
            rate_limit=rate_limit,
            batch_idempotency_cached=batch_idempotency_cached,
            realtime_poll_timeout=realtime_poll_timeout,
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

    def append_stream(self, run_id: str, key: str, chunk: Any) -> str:
        """See ``Emulator.append_stream``."""
        return self._call(lambda: self._emulator.append_stream(run_id, key, chunk))

    def close_stream(self, run_id: str, key: str) -> None:
        """See ``Emulator.close_stream``."""
        self._call(lambda: self._emulator.close_stream(run_id, key))

    def rotate_shapes(self) -> None:
        """See ``Emulator.rotate_shapes``."""
        self._call(self._emulator.rotate_shapes)

    def runs(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """See ``Emulator.runs``."""
        return self._call(lambda: self._emulator.runs(access_token, branch))

    def batches(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """See ``Emulator.batches``."""
        return self._call(lambda: self._emulator.batches(access_token, branch))

    def bulk_actions(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """See ``Emulator.bulk_actions``."""
        return self._call(lambda: self._emulator.bulk_actions(access_token, branch))

    def schedules(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """See ``Emulator.schedules``."""
        return self._call(lambda: self._emulator.schedules(access_token, branch))

    def env_vars(self, access_token: str, branch: str | None = None) -> dict[str, dict[str, Any]]:
        """See ``Emulator.env_vars``."""
        return self._call(lambda: self._emulator.env_vars(access_token, branch))

    def queues(self, access_token: str, branch: str | None = None) -> list[dict[str, Any]]:
        """See ``Emulator.queues``."""
        return self._call(lambda: self._emulator.queues(access_token, branch))

    def stored_object(self, path: str) -> tuple[bytes, str] | None:
        """See ``Emulator.stored_object``."""
        return self._call(lambda: self._emulator.stored_object(path))

    def add_deployment(
        self,
        access_token: str,
        version: str,
        *,
        status: str = "DEPLOYED",
        branch: str | None = None,
    ) -> str:
        """See ``Emulator.add_deployment``."""
        return self._call(lambda: self._emulator.add_deployment(access_token, version, status=status, branch=branch))

    def add_prompt(
        self,
        access_token: str,
        slug: str,
        versions: Sequence[Mapping[str, Any]] | str,
        *,
        description: str | None = None,
        tags: Sequence[str] = (),
        default_model: str | None = None,
        default_config: Any = None,
        variable_schema: Any = None,
        branch: str | None = None,
    ) -> str:
        """See ``Emulator.add_prompt``."""
        return self._call(
            lambda: self._emulator.add_prompt(
                access_token,
                slug,
                versions,
                description=description,
                tags=tags,
                default_model=default_model,
                default_config=default_config,
                variable_schema=variable_schema,
                branch=branch,
            )
        )

    def add_declarative_schedule(
        self,
        access_token: str,
        task: str,
        cron: str,
        *,
        timezone: str = "UTC",
        branch: str | None = None,
    ) -> str:
        """See ``Emulator.add_declarative_schedule``."""
        return self._call(
            lambda: self._emulator.add_declarative_schedule(access_token, task, cron, timezone=timezone, branch=branch)
        )
