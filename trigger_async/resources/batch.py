"""``batch``: trigger many runs (of one or several tasks) in one two-phase batch."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterable, Coroutine, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs

from .._base import CallScope, Resource, request_options_of
from .._config import RequestOptions, RetryOptions
from .._converter import parse
from .._idempotency import derived_item_key, wire_fields
from .._retry import backoff_delay, decide
from .._serialization import UNDEFINED, dumps_js, encode_path_segment, serialize_packet, utf8_len
from .._validation import idempotency_ttl_value
from ..errors import (
    ApiConnectionError,
    ApiError,
    BatchTriggerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    TriggerError,
)
from ..models.batches import Batch, BatchHandle
from ._offload import OFFLOAD_THRESHOLD, offload
from .tasks import ITEM_ORDER, option_values, ordered, public_token, task_id_of

__all__ = ["BatchItem", "BatchNotSealedError", "Batches", "run_batch"]

# The items stream has its own policy in the official SDK (factor 2, with jitter).
STREAM_RETRY = RetryOptions(
    max_attempts=5,
    factor=2,
    min_timeout=1.0,
    max_timeout=30.0,
    randomize=True,
    max_retry_after=60.0,
)
OFFLOAD_CONCURRENCY = 10


class BatchNotSealedError(TriggerError):
    """The server still had not received every item after the last attempt."""


@attrs.frozen(init=False)
class BatchItem:
    """One run of a batch: ``BatchItem({"to": "a@x.io"}, task="send-email", tags=["x"])``.

    ``task`` is a task id or a ``TaskRef`` (not needed for ``tasks.batch_trigger``); the other
    keywords are the options of ``tasks.trigger``.
    """

    payload: Any
    task: Any
    options: Mapping[str, Any]

    def __init__(self, payload: Any = UNDEFINED, *, task: Any = None, **options: Any) -> None:
        self.__attrs_init__(payload, task, options)


@attrs.frozen
class _Prepared:
    index: int
    task: str
    data: str | None
    payload_type: str
    values: dict[str, Any]


@attrs.frozen
class _CreateResponse:
    id: str
    run_count: int
    is_cached: bool = False


@attrs.frozen(kw_only=True)
class _StreamResponse:
    id: str
    items_accepted: int
    items_deduplicated: int
    sealed: bool
    enqueued_count: int | None = None
    expected_count: int | None = None


async def _collect(items: Any) -> list[Any]:
    """Every item, buffered (the count is needed before anything is sent)."""
    if isinstance(items, AsyncIterable):
        return [item async for item in items]
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise InvalidArgumentTypeError(
            "items",
            f"expected a sequence, iterable or async iterable of items, got {type(items).__name__}",
        )
    return list(items)


def _item_parts(item: Any, index: int, item_task_key: str | None) -> tuple[Any, Any, Mapping[str, Any]]:
    where = f"items[{index}]"
    if isinstance(item, BatchItem):
        return item.payload, item.task, item.options
    if isinstance(item, Mapping):
        allowed = {"payload", "options"} | ({item_task_key} if item_task_key else set())
        unknown = sorted(set(item) - allowed)
        if unknown:
            raise InvalidArgumentError(where, f"unknown key(s) {', '.join(unknown)}")
        options = item.get("options") or {}
        if not isinstance(options, Mapping):
            raise InvalidArgumentTypeError(f"{where}.options", "expected a mapping of trigger options")
        return (
            item.get("payload", UNDEFINED),
            item.get(item_task_key) if item_task_key else None,
            options,
        )
    raise InvalidArgumentTypeError(where, f"expected a BatchItem or a dict, got {type(item).__name__}")


def _utf16_key(task_id: str) -> bytes:
    # JavaScript sorts strings by UTF-16 code units.
    return task_id.encode("utf-16-be", "surrogatepass")


def _message(prefix: str, cause: BaseException) -> str:
    from ..errors import RateLimitError

    if isinstance(cause, RateLimitError):
        ms = cause.milliseconds_until_reset
        return f"{prefix}: Rate limit exceeded" + (f" - retry after {-(-ms // 1000)}s" if ms is not None else "")
    return f"{prefix}: {cause}"


async def run_batch(
    resource: Resource,
    items: Any,
    *,
    default_task: str | None,
    item_task_key: str | None,
    idempotency_key: object,
    idempotency_key_ttl: object,
    request_options: RequestOptions | None,
    with_key_options: bool,
) -> BatchHandle:
    """Offload large payloads, create the batch, then stream its items as NDJSON."""
    options = request_options_of(request_options)
    batch_ttl = idempotency_ttl_value(idempotency_key_ttl)
    scope = resource._scope()
    collected = await _collect(items)
    if not collected:
        raise InvalidArgumentError("items", "a batch needs at least one item")
    batch_key, batch_key_options = wire_fields(idempotency_key, scope.task)
    prepared: list[_Prepared] = []
    for index, item in enumerate(collected):
        payload, task, item_options = _item_parts(item, index, item_task_key)
        if task is None:
            if default_task is None:
                raise InvalidArgumentError(f"items[{index}]", f"needs a task ({item_task_key!r})")
            task_id = default_task
        else:
            task_id = task_id_of(task)
            if default_task is not None and task_id != default_task:
                raise InvalidArgumentError(
                    f"items[{index}]",
                    f"names task {task_id!r}, but this batch triggers {default_task!r} (use batch.trigger for several)",
                )
        prefix = f"items[{index}]."
        data, payload_type = serialize_packet(payload, argument=f"items[{index}].payload")
        values = option_values(scope, item_options, prefix)
        values.pop("parentRunId", None)  # items never carry it; the batch does
        own_key = item_options.get("idempotency_key")
        if own_key:
            values["idempotencyKey"], key_options = wire_fields(own_key, scope.task, f"{prefix}idempotency_key")
            values["idempotencyKeyOptions"] = key_options if with_key_options else None
        elif idempotency_key:
            values["idempotencyKey"] = derived_item_key(idempotency_key, index, scope.task)
        if values.get("idempotencyKeyTTL") is None and batch_ttl is not None:
            values["idempotencyKeyTTL"] = batch_ttl
        values["payloadType"] = payload_type
        if data:
            values["payloadSize"] = utf8_len(data)
        prepared.append(_Prepared(index, task_id, data, payload_type, values))
    _ = scope.token
    count = len(prepared)

    large = [p for p in prepared if p.data is not None and p.values.get("payloadSize", 0) >= OFFLOAD_THRESHOLD]
    if large:
        limit = asyncio.Semaphore(OFFLOAD_CONCURRENCY)

        async def upload(item: _Prepared) -> _Prepared:
            async with limit:
                assert item.data is not None
                path = await offload(resource, scope, item.data, item.payload_type, options)
            values = {**item.values, "payloadType": "application/store"}
            return attrs.evolve(item, data=path, payload_type="application/store", values=values)

        try:
            uploaded = await _all_or_nothing([upload(p) for p in large])
        except (ApiError, TriggerError) as error:
            raise BatchTriggerError(
                _message(f"Failed to offload payloads for batch with {count} items", error),
                phase="offload",
                item_count=count,
                cause=error,
            ) from error
        by_index = {p.index: p for p in uploaded}
        prepared = [by_index.get(p.index, p) for p in prepared]

    create_body: dict[str, Any] = {
        "runCount": count,
        "taskIdentifiers": sorted({p.task for p in prepared}, key=_utf16_key),
    }
    if scope.task is not None and scope.task.run_id:
        create_body["parentRunId"] = scope.task.run_id
    if batch_key:
        create_body["idempotencyKey"] = batch_key
        if with_key_options and batch_key_options:
            create_body["idempotencyKeyOptions"] = batch_key_options
    try:
        response = await resource._request(
            "POST",
            "/api/v3/batches",
            scope=scope,
            body=create_body,
            request_options=options,
            span_link=True,
        )
        created = parse(response, _CreateResponse)
    except (ApiError, TriggerError) as error:
        raise BatchTriggerError(
            _message(f"Failed to create batch with {count} items", error),
            phase="create",
            item_count=count,
            cause=error,
        ) from error

    if not created.is_cached:
        lines = []
        for p in prepared:
            line: dict[str, Any] = {"index": p.index, "task": p.task}
            if p.data is not None:
                line["payload"] = p.data
            line["options"] = ordered(p.values, ITEM_ORDER)
            lines.append(dumps_js(line) + "\n")
        body = "".join(lines).encode("utf-8")
        try:
            await _stream(resource, scope, created.id, body, options)
        except (ApiError, TriggerError) as error:
            raise BatchTriggerError(
                _message(f"Failed to stream items for batch {created.id} ({count} items)", error),
                phase="stream",
                item_count=count,
                batch_id=created.id,
                cause=error,
            ) from error

    token = public_token(scope, response.headers, [f"read:batch:{created.id}"], options, f"batch {created.id}")
    return BatchHandle(batch_id=created.id, run_count=created.run_count, public_access_token=token)


async def _all_or_nothing(coroutines: list[Coroutine[Any, Any, _Prepared]]) -> list[_Prepared]:
    """Run them together; on the first failure cancel the rest (nothing is sent after it)."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None:
            raise error
    return [task.result() for task in tasks]


async def _stream(
    resource: Resource, scope: CallScope, batch_id: str, body: bytes, options: RequestOptions | None
) -> None:
    """POST every item; a ``sealed: false`` answer re-sends them all (the server dedupes).

    Failed requests and unsealed answers share one attempt budget, as in the official SDK.
    """
    policy = options.retry.over(STREAM_RETRY) if options and options.retry else STREAM_RETRY
    path = f"/api/v3/batches/{encode_path_segment(batch_id, argument='batch_id')}/items"
    assert policy.max_attempts is not None
    single = RequestOptions(retry=attrs.evolve(policy, max_attempts=1))
    last: _StreamResponse | None = None
    for attempt in range(1, policy.max_attempts + 1):
        try:
            response = await resource._request(
                "POST",
                path,
                scope=scope,
                raw_body=body,
                content_type="application/x-ndjson",
                request_options=single.over(options),
                with_request_key=False,
                retry_defaults=STREAM_RETRY,
                client_retry=False,
            )
        except ApiError as error:
            decision = decide(
                attempt, policy, status=error.status, headers=error.headers, now=time.time(), rng=random.random
            )
            if not decision.retry:
                raise
            await asyncio.sleep(decision.delay)
            continue
        except ApiConnectionError as error:
            if attempt >= policy.max_attempts:
                raise ApiConnectionError(f"Failed to stream batch items for batch {batch_id}: {error}") from error
            await asyncio.sleep(backoff_delay(attempt, policy, random.random))
            continue
        last = parse(response, _StreamResponse)
        if last.sealed:
            return
        if attempt < policy.max_attempts:
            await asyncio.sleep(backoff_delay(attempt, policy, random.random))
    if last is None:  # every attempt failed; the last failure was raised above
        raise ApiConnectionError(f"Failed to stream batch items for batch {batch_id}")
    raise BatchNotSealedError(
        f"Batch {batch_id} was not sealed: received {last.enqueued_count or 0} of "
        f"{last.expected_count or 0} expected items (accepted: {last.items_accepted}, "
        f"deduplicated: {last.items_deduplicated})"
    )


class Batches(Resource):
    """Trigger batches of runs across tasks, and read a batch back."""

    async def trigger(
        self,
        items: Any,
        *,
        idempotency_key: str | Sequence[str] | None = None,
        idempotency_key_ttl: str | timedelta | None = None,
        request_options: RequestOptions | None = None,
    ) -> BatchHandle:
        """Trigger ``items``: ``BatchItem(payload, task="id", **options)`` or
        ``{"id": "<task id>", "payload": ..., "options": {...}}``."""
        return await run_batch(
            self,
            items,
            default_task=None,
            item_task_key="id",
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            request_options=request_options,
            with_key_options=False,
        )

    async def trigger_by_task(
        self,
        items: Any,
        *,
        idempotency_key: str | Sequence[str] | None = None,
        idempotency_key_ttl: str | timedelta | None = None,
        request_options: RequestOptions | None = None,
    ) -> BatchHandle:
        """Trigger ``items``: ``BatchItem(payload, task=TaskRef(...))`` or
        ``{"task": TaskRef(...) or "<task id>", "payload": ..., "options": {...}}``."""
        return await run_batch(
            self,
            items,
            default_task=None,
            item_task_key="task",
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            request_options=request_options,
            with_key_options=False,
        )

    async def retrieve(self, batch_id: str, *, request_options: RequestOptions | None = None) -> Batch:
        """A batch with its run ids and processing errors."""
        if not isinstance(batch_id, str) or not batch_id:
            raise InvalidArgumentError("batch_id", "must be a non-empty str")
        return await self._request_model(
            Batch,
            "GET",
            f"/api/v2/batches/{encode_path_segment(batch_id, argument='batch_id')}",
            request_options=request_options_of(request_options),
        )
