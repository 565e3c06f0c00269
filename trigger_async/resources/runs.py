"""``runs``: list, retrieve, cancel, replay, reschedule and poll runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

import attrs
import cattrs

from .._base import Binding, CallScope, Resource, effective_options, request_options_of
from .._config import RequestOptions, Timeout
from .._constants import MACHINE_PRESETS, RUN_STATUSES
from .._converter import parse
from .._packets import parse_packet
from .._pagination import Cursor, CursorPage, CursorPager
from .._serialization import UNDEFINED, encode_path_segment, epoch_ms, superjson_stringify
from .._taskref import structure_output
from .._transport import fetch_plain, log
from .._validation import (
    check_bool,
    delay_value,
    idempotency_ttl_value,
    json_object,
    machine_value,
    optional_number,
    optional_str,
    require_str,
    required_number,
    run_id_of,
    seconds_of,
    str_list,
    tags_value,
    ttl_value,
)
from ..errors import ApiSchemaValidationError, InvalidArgumentError, InvalidArgumentTypeError, TriggerError
from ..models.realtime import RealtimeRun
from ..models.runs import ListedRun, RetrievedRun, RunHandle
from ._common import cursor_page
from ._realtime import run_from_row, shape_rows, sse_events
from .bulk import Bulk

__all__ = ["Runs"]

O = TypeVar("O")  # noqa: E741

_ENVS = frozenset({"dev", "staging", "prod"})


@attrs.frozen
class _IdResponse:
    id: str


def _created_bound(value: object, argument: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return str(epoch_ms(value, argument=argument))
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentTypeError(
            argument,
            f"expected an aware datetime or epoch milliseconds, got {type(value).__name__}",
        )
    return str(value)


def _queue_filter(value: object) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, Sequence) and not isinstance(value, (str, Mapping)) else [value]
    names: list[str] = []
    for item in items:
        kind = getattr(item, "type", None) if not isinstance(item, Mapping) else item.get("type")
        name = getattr(item, "name", None) if not isinstance(item, Mapping) else item.get("name")
        if kind not in ("task", "custom") or not isinstance(name, str) or not name:
            raise InvalidArgumentError("queue", 'expected QueueRef(type="task"|"custom", name=...) or such dicts')
        names.append(f"task/{name}" if kind == "task" else name)
    return names


def _joined(values: list[str] | None) -> str | None:
    return ",".join(values) if values else None


async def _download(scope: CallScope, url: str | None, current: Any, timeout: Timeout) -> Any:
    """A packet the server stored elsewhere; any failure leaves the field as it was."""
    if url is None:
        return current
    try:
        status, content_type, raw = await fetch_plain(scope.transport, url, timeout)
        if not 200 <= status < 300:
            return current
        return parse_packet(content_type, raw)
    except Exception:  # as documented (and as the official SDK): any failure leaves the field
        log.debug("could not download a presigned packet")
        return current


SKIPPABLE_COLUMNS = frozenset(
    {
        "startedAt",
        "delayUntil",
        "queuedAt",
        "expiredAt",
        "completedAt",
        "number",
        "isTest",
        "usageDurationMs",
        "costInCents",
        "baseCostInCents",
        "ttl",
        "payload",
        "payloadType",
        "metadata",
        "output",
        "outputType",
        "runTags",
        "error",
    }
)


def _skip_columns(value: Sequence[str] | None) -> list[tuple[str, str]]:
    columns = str_list(value, "skip_columns", allowed=SKIPPABLE_COLUMNS)
    return [("skipColumns", ",".join(columns))] if columns else []


async def _runs_of(
    scope: CallScope,
    path: str,
    params: list[tuple[str, str]],
    *,
    stop_on_completion: bool,
    output_type: type[Any] | None = None,
) -> AsyncIterator[RealtimeRun]:
    async for rows in shape_rows(scope, path, params):
        for row in rows:
            run = run_from_row(row)
            if output_type is not None and run.output is not None:
                try:
                    run = attrs.evolve(run, output=structure_output(run.output, output_type))
                except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as error:
                    raise ApiSchemaValidationError(
                        200, {}, run.output, f"output does not match {output_type.__name__}: {error}"
                    ) from error
            yield run
            if stop_on_completion and run.finished_at is not None:
                return


def _typed(run: RetrievedRun[Any], output_type: type[Any] | None) -> RetrievedRun[Any]:
    """The run with its output built as the ``TaskRef``'s output type, when there is one."""
    if output_type is None or run.output is None:
        return run
    try:
        return attrs.evolve(run, output=structure_output(run.output, output_type))
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as error:
        raise ApiSchemaValidationError(
            200, {}, run.output, f"output does not match {output_type.__name__}: {error}"
        ) from error


class Runs(Resource):
    """Read and act on runs. ``runs.bulk`` acts on many runs at once."""

    def __init__(self, binding: Binding) -> None:
        super().__init__(binding)
        self.bulk = Bulk(binding)

    def list(
        self,
        project_ref: str | None = None,
        /,
        *,
        status: str | Sequence[str] | None = None,
        task_identifier: str | Sequence[str] | None = None,
        version: str | Sequence[str] | None = None,
        bulk_action: str | None = None,
        tag: str | Sequence[str] | None = None,
        schedule: str | None = None,
        is_test: bool | None = None,
        from_: datetime | int | None = None,
        to: datetime | int | None = None,
        period: str | None = None,
        batch: str | None = None,
        queue: Any = None,
        machine: str | Sequence[str] | None = None,
        region: str | Sequence[str] | None = None,
        env: str | Sequence[str] | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> CursorPager[ListedRun]:
        """List runs, newest first.

        ``await client.runs.list(...)`` gives one page; ``async for run in
        client.runs.list(...)`` walks every page. (The pager is awaitable but not a
        coroutine: wrap it in a coroutine to pass it to ``asyncio.create_task``.)

        Filters (each a value or a list, sent comma-joined): ``status`` (run statuses),
        ``task_identifier``, ``version``, ``tag``, ``machine``, ``region``, ``queue``
        (``QueueRef``/dicts); single values: ``bulk_action``, ``schedule``, ``batch``,
        ``is_test``, ``period`` (``"1d"``), ``from_``/``to`` (aware datetimes or epoch ms).
        Without a period or dates the server lists the last 7 days. ``limit`` is the page
        size (1-100, default 25); ``after``/``before`` are cursors. With ``project_ref`` the
        project endpoint is used (personal access tokens), which also takes ``env``.
        """
        if project_ref is not None:
            require_str(project_ref, "project_ref")
        elif env is not None:
            raise InvalidArgumentError("env", "only applies with a project_ref (runs.list(project_ref, env=...))")
        if limit is not None:
            limit = int(optional_number(limit, "limit", minimum=1, integer=True) or 0)
            if limit > 100:
                raise InvalidArgumentError("limit", f"must be between 1 and 100, got {limit!r}")
        options = request_options_of(request_options)
        if after is not None and before is not None:
            raise InvalidArgumentError("after", "pass at most one of after / before")
        entries: list[tuple[str, str | None]] = [
            ("filter[status]", _joined(str_list(status, "status", allowed=RUN_STATUSES))),
            ("filter[taskIdentifier]", _joined(str_list(task_identifier, "task_identifier"))),
            ("filter[version]", _joined(str_list(version, "version"))),
            ("filter[bulkAction]", optional_str(bulk_action, "bulk_action")),
            ("filter[tag]", _joined(str_list(tag, "tag"))),
            ("filter[schedule]", optional_str(schedule, "schedule")),
            (
                "filter[isTest]",
                None if check_bool(is_test, "is_test") is None else str(is_test).lower(),
            ),
            ("filter[createdAt][from]", _created_bound(from_, "from_")),
            ("filter[createdAt][to]", _created_bound(to, "to")),
            ("filter[createdAt][period]", optional_str(period, "period")),
            ("filter[batch]", optional_str(batch, "batch")),
            ("filter[queue]", _joined(_queue_filter(queue))),
            ("filter[machine]", _joined(str_list(machine, "machine", allowed=MACHINE_PRESETS))),
            ("filter[region]", _joined(str_list(region, "region"))),
            ("filter[env]", _joined(str_list(env, "env", allowed=_ENVS))),
            ("page[size]", str(limit) if limit else None),
        ]
        filters = [(name, value) for name, value in entries if value]
        path = (
            f"/api/v1/projects/{encode_path_segment(project_ref, argument='project_ref')}/runs"
            if project_ref is not None
            else "/api/v1/runs"
        )
        scope = self._scope()

        async def fetch(cursor: Cursor) -> CursorPage[ListedRun]:
            query = list(filters)
            if cursor.after:
                query.append(("page[after]", cursor.after))
            if cursor.before:
                query.append(("page[before]", cursor.before))
            response = await self._request("GET", path, scope=scope, query=query, request_options=options)
            return cursor_page(response, ListedRun, fetch)

        return CursorPager(fetch, Cursor(after=optional_str(after, "after"), before=optional_str(before, "before")))

    @overload
    async def retrieve(
        self, run_id: RunHandle[O], *, request_options: RequestOptions | None = None
    ) -> RetrievedRun[O]: ...

    @overload
    async def retrieve(self, run_id: Any, *, request_options: RequestOptions | None = None) -> RetrievedRun[Any]: ...

    async def retrieve(self, run_id: Any, *, request_options: RequestOptions | None = None) -> RetrievedRun[Any]:
        """Retrieve one run by id, or by a handle/run object with an ``id``.

        Given the handle of a trigger made with a ``TaskRef`` whose ``output_type`` is an attrs
        class or dataclass, the output comes back as that type.
        """
        path = f"/api/v3/runs/{encode_path_segment(run_id_of(run_id), argument='run_id')}"
        run = await self._retrieve(path, request_options_of(request_options))
        return _typed(run, getattr(run_id, "output_type", None))

    async def _retrieve(
        self, path: str, options: RequestOptions | None, scope: CallScope | None = None
    ) -> RetrievedRun[Any]:
        scope = scope or self._scope()
        response = await self._request("GET", path, scope=scope, request_options=options)
        run = parse(response, RetrievedRun[Any])
        if run.payload_presigned_url is None and run.output_presigned_url is None:
            return run
        timeout = effective_options(scope, options).timeout or Timeout()
        payload, output = await asyncio.gather(
            _download(scope, run.payload_presigned_url, run.payload, timeout),
            _download(scope, run.output_presigned_url, run.output, timeout),
        )
        return attrs.evolve(run, payload=payload, output=output)

    async def cancel(self, run_id: Any, *, request_options: RequestOptions | None = None) -> str:
        """Cancel a run that has not finished (a finished run is left as it is). Returns its id."""
        path = f"/api/v2/runs/{encode_path_segment(run_id_of(run_id), argument='run_id')}/cancel"
        response = await self._request("POST", path, request_options=request_options_of(request_options))
        return parse(response, _IdResponse).id

    async def replay(
        self,
        run_id: Any,
        *,
        payload: Any = UNDEFINED,
        payload_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: str | Sequence[str] | None = None,
        queue: str | None = None,
        concurrency_key: str | int | None = None,
        machine: str | None = None,
        version: str | None = None,
        region: str | None = None,
        delay: str | datetime | timedelta | None = None,
        ttl: str | int | timedelta | None = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: str | timedelta | None = None,
        max_attempts: int | None = None,
        max_duration: float | timedelta | None = None,
        priority: float | timedelta | None = None,
        request_options: RequestOptions | None = None,
    ) -> str:
        """Start a new run with the same task and payload (options override the original's).

        Returns the new run's id. ``idempotency_key`` is sent as given (not hashed).
        """
        path = f"/api/v1/runs/{encode_path_segment(run_id_of(run_id), argument='run_id')}/replay"
        if payload_type not in (None, "application/json", "application/super+json"):
            raise InvalidArgumentError("payload_type", "must be 'application/json' or 'application/super+json'")
        entries: list[tuple[str, Any]] = [
            ("payload", payload),
            ("payloadType", payload_type),
            ("metadata", json_object(metadata, "metadata")),
            ("tags", tags_value(tags)),
            ("queue", optional_str(queue, "queue")),
            (
                "concurrencyKey",
                concurrency_key
                if concurrency_key is None or isinstance(concurrency_key, str)
                else optional_number(concurrency_key, "concurrency_key"),
            ),
            ("machine", machine_value(machine)),
            ("version", optional_str(version, "version")),
            ("region", optional_str(region, "region")),
            ("delay", delay_value(delay)),
            ("ttl", ttl_value(ttl)),
            ("idempotencyKey", optional_str(idempotency_key, "idempotency_key")),
            ("idempotencyKeyTTL", idempotency_ttl_value(idempotency_key_ttl)),
            ("maxAttempts", optional_number(max_attempts, "max_attempts", minimum=1, integer=True)),
            ("maxDuration", seconds_of(max_duration, "max_duration")),
            ("priority", seconds_of(priority, "priority", minimum=float("-inf"))),
        ]
        body = {name: value for name, value in entries if value is not None and value is not UNDEFINED}
        if "payload" in body and payload_type is None:
            # As the official SDK: superjson-encode the payload and say so, appended last.
            body["payload"] = superjson_stringify(payload)
            body["payloadType"] = "application/super+json"
        response = await self._request(
            "POST",
            path,
            body=body if body else UNDEFINED,
            request_options=request_options_of(request_options),
        )
        return parse(response, _IdResponse).id

    async def reschedule(
        self,
        run_id: Any,
        *,
        delay: str | datetime | timedelta,
        request_options: RequestOptions | None = None,
    ) -> RetrievedRun[Any]:
        """Move a ``DELAYED`` run to a new time (a duration from now or an aware datetime)."""
        path = f"/api/v1/runs/{encode_path_segment(run_id_of(run_id), argument='run_id')}/reschedule"
        if delay is None:
            raise InvalidArgumentError("delay", "is required")
        body = {"delay": delay_value(delay)}
        response = await self._request("POST", path, body=body, request_options=request_options_of(request_options))
        return parse(response, RetrievedRun[Any])

    def subscribe_to_run(
        self, run_id: Any, *, stop_on_completion: bool = True, skip_columns: Sequence[str] | None = None
    ) -> AsyncIterator[RealtimeRun]:
        """Follow one run: yields it each time it changes, and (by default) stops once the run
        has finished. ``async for run in client.runs.subscribe_to_run(handle): ...``"""
        rid = run_id_of(run_id)
        check_bool(stop_on_completion, "stop_on_completion")
        params = _skip_columns(skip_columns)
        scope = self._scope()
        _ = scope.token
        path = f"/realtime/v1/runs/{encode_path_segment(rid, argument='run_id')}"
        return _runs_of(
            scope,
            path,
            params,
            stop_on_completion=stop_on_completion,
            output_type=getattr(run_id, "output_type", None),
        )

    def subscribe_to_runs_with_tag(
        self,
        tag: str | Sequence[str],
        *,
        created_at: str | None = None,
        skip_columns: Sequence[str] | None = None,
    ) -> AsyncIterator[RealtimeRun]:
        """Follow every run that has all of ``tag`` (one tag or a list), created within
        ``created_at`` (e.g. ``"1h"``; the server's default is 24 hours).

        It never ends by itself: stop iterating (``break``) to unsubscribe."""
        tags = str_list(tag, "tag") or []
        if not tags:
            raise InvalidArgumentError("tag", "name at least one tag")
        params = [("tags", ",".join(tags)), *_skip_columns(skip_columns)]
        if optional_str(created_at, "created_at"):
            params.append(("createdAt", str(created_at)))
        scope = self._scope()
        _ = scope.token
        return _runs_of(scope, "/realtime/v1/runs", params, stop_on_completion=False)

    def subscribe_to_batch(self, batch_id: str) -> AsyncIterator[RealtimeRun]:
        """Follow the runs of a batch as they change. It never ends by itself."""
        path = f"/realtime/v1/batches/{encode_path_segment(require_str(batch_id, 'batch_id'), argument='batch_id')}"
        scope = self._scope()
        _ = scope.token
        return _runs_of(scope, path, [], stop_on_completion=False)

    def fetch_stream(
        self, run_id: Any, stream_key: str, *, request_options: RequestOptions | None = None
    ) -> AsyncIterator[Any]:
        """The chunks a run writes to its realtime stream ``stream_key``, until it closes."""
        rid = encode_path_segment(run_id_of(run_id), argument="run_id")
        key = encode_path_segment(require_str(stream_key, "stream_key"), argument="stream_key")
        options = request_options_of(request_options)
        scope = self._scope()
        _ = scope.token
        return sse_events(scope, f"/realtime/v1/streams/{rid}/{key}", options)

    @overload
    async def poll(
        self,
        run_id: RunHandle[O],
        *,
        poll_interval_ms: int = 1000,
        max_attempts: int = 500,
        request_options: RequestOptions | None = None,
    ) -> RetrievedRun[O]: ...

    @overload
    async def poll(
        self,
        run_id: Any,
        *,
        poll_interval_ms: int = 1000,
        max_attempts: int = 500,
        request_options: RequestOptions | None = None,
    ) -> RetrievedRun[Any]: ...

    async def poll(
        self,
        run_id: Any,
        *,
        poll_interval_ms: int = 1000,
        max_attempts: int = 500,
        request_options: RequestOptions | None = None,
    ) -> RetrievedRun[Any]:
        """Retrieve the run every ``poll_interval_ms`` until it has completed."""
        rid = run_id_of(run_id)
        interval = required_number(poll_interval_ms, "poll_interval_ms", minimum=0)
        attempts = int(required_number(max_attempts, "max_attempts", minimum=1, integer=True))
        options = request_options_of(request_options)
        path = f"/api/v3/runs/{encode_path_segment(rid, argument='run_id')}"
        scope = self._scope()
        output_type = getattr(run_id, "output_type", None)
        for attempt in range(attempts):
            run = await self._retrieve(path, options, scope)
            if run.is_completed:
                return _typed(run, output_type)
            if attempt + 1 < attempts:
                await asyncio.sleep(interval / 1000)
        raise TriggerError(f"Run {rid} did not complete after {attempts} attempts")
