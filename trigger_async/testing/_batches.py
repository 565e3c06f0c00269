"""Batches: the 2-phase v3 API (create + NDJSON items), batch retrieve, and the v2 array API.

Items go through the same trigger pipeline as ``tasks.trigger``. The emulator processes a
batch synchronously when it is sealed (v3) or created (v2): each item becomes a run with
the batch id, and an item that cannot trigger becomes a pre-failed ``SYSTEM_FAILURE`` run
plus an entry in the batch's errors, as the server does.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs
from aiohttp import web

from ._auth import Credential, authenticate
from ._engine import ServiceError, create_failed_run, trigger_run
from ._http import Call, Route, error_response, fail, forbidden, json_response
from ._packets import JSON_TYPE, Packet, make_packet
from ._records import Batch
from ._state import State
from ._store import friendly_id
from ._tasks import TRIGGER_HEADERS, TRIGGER_OPTION_FIELDS, spec_from_options
from ._timeutil import MINUTE, iso
from ._tokens import batch_token_headers
from ._validation import (
    MISSING,
    AnyValue,
    Array,
    Boolean,
    Enum,
    Number,
    Object,
    String,
    js_number_text,
    validate,
)

CREATE_BODY_MAX_BYTES: Final = 131_072
V2_BODY_MAX_BYTES: Final = 1_000_000
MAX_RUN_COUNT: Final = 1000
MAX_V2_ITEMS: Final = 500
ITEM_MAX_BYTES: Final = 3 * 1024 * 1024
STREAM_GRANTS: Final = 10
STREAM_GRANT_TTL_MS: Final = 30 * MINUTE
ITEM_ERROR_CODE: Final = "BATCH_ITEM_COULD_NOT_TRIGGER"
NDJSON_TYPES: Final = ("application/x-ndjson", "application/ndjson")

_IDEMPOTENCY_KEY: Final = String(max_length=2048, max_message="idempotencyKey must be 2048 characters or less")

#: ``BatchTriggerTaskItem.options``, in the server schema's field order.
ITEM_OPTIONS: Final = Object(
    {
        "concurrencyKey": TRIGGER_OPTION_FIELDS["concurrencyKey"],
        "delay": TRIGGER_OPTION_FIELDS["delay"],
        "idempotencyKey": _IDEMPOTENCY_KEY.optional(),
        "idempotencyKeyTTL": TRIGGER_OPTION_FIELDS["idempotencyKeyTTL"],
        "idempotencyKeyOptions": TRIGGER_OPTION_FIELDS["idempotencyKeyOptions"],
        "lockToVersion": TRIGGER_OPTION_FIELDS["lockToVersion"],
        "externalDeploymentId": TRIGGER_OPTION_FIELDS["externalDeploymentId"],
        "machine": TRIGGER_OPTION_FIELDS["machine"],
        "maxAttempts": TRIGGER_OPTION_FIELDS["maxAttempts"],
        "maxDuration": TRIGGER_OPTION_FIELDS["maxDuration"],
        "metadata": AnyValue(),
        "metadataType": TRIGGER_OPTION_FIELDS["metadataType"],
        "parentAttempt": TRIGGER_OPTION_FIELDS["parentAttempt"],
        "payloadType": TRIGGER_OPTION_FIELDS["payloadType"],
        "payloadSize": TRIGGER_OPTION_FIELDS["payloadSize"],
        "queue": Object({"name": String()}).optional(),
        "tags": TRIGGER_OPTION_FIELDS["tags"],
        "test": TRIGGER_OPTION_FIELDS["test"],
        "ttl": TRIGGER_OPTION_FIELDS["ttl"],
        "priority": TRIGGER_OPTION_FIELDS["priority"],
        "region": TRIGGER_OPTION_FIELDS["region"],
        "debounce": TRIGGER_OPTION_FIELDS["debounce"],
    }
).optional()

CREATE_BODY: Final = Object(
    {
        "runCount": Number(integer=True, minimum=0, min_inclusive=False),
        "taskIdentifiers": Array(String(min_length=1), min_length=1).optional(),
        "parentRunId": String().optional(),
        "resumeParentOnCompletion": Boolean().optional(),
        "idempotencyKey": _IDEMPOTENCY_KEY.optional(),
        "idempotencyKeyOptions": TRIGGER_OPTION_FIELDS["idempotencyKeyOptions"],
    }
)

NDJSON_ITEM: Final = Object(
    {
        "index": Number(integer=True, minimum=0),
        "task": String(),
        "payload": AnyValue(),
        "options": ITEM_OPTIONS,
    }
)

V2_ITEM: Final = Object({"task": String(), "payload": AnyValue(), "context": AnyValue(), "options": ITEM_OPTIONS})

V2_BODY: Final = Object(
    {
        "items": Array(V2_ITEM),
        "parentRunId": String().optional(),
        "resumeParentOnCompletion": Boolean().optional(),
    }
)

V2_HEADERS: Final = Object(
    {
        **TRIGGER_HEADERS.fields,
        "batch-processing-strategy": Enum(("sequential", "parallel")).nullish(),
    }
)


# shared ------------------------------------------------------------------------------------


def _root_credential(batch: Batch) -> Credential:
    # Items are triggered by the batch service, with the environment's own authority.
    return Credential(batch.env, batch.env.api_key)


def _check_parent(credential: Credential, parent_run_id: str | None) -> None:
    if parent_run_id and credential.is_public_token and not credential.allows("write", [("runs", parent_run_id)]):
        fail(403, "Unauthorized")


def _trigger_item(state: State, batch: Batch, index: int, task: str, payload: Any, options: dict[str, Any]) -> None:
    credential = _root_credential(batch)
    try:
        spec = attrs.evolve(
            spec_from_options(credential, task, payload, MISSING, options, {}),
            batch_id=batch.id,
            parent_run_id=batch.parent_run_id,
            resume_parent_on_completion=batch.resume_parent_on_completion,
        )
        result = trigger_run(state, spec)
        batch.run_ids.append(result.run.id)
    except ServiceError as exc:
        _fail_item(state, batch, index, task, make_packet(payload, options.get("payloadType")), exc.message, None)


def _fail_item(
    state: State, batch: Batch, index: int, task: str, payload: Packet, message: str, code: str | None
) -> None:
    run = create_failed_run(state, batch.env, task, payload, message, batch.id)
    batch.run_ids.append(run.id)
    error: dict[str, Any] = {"index": index, "taskIdentifier": task, "error": message}
    error["errorCode"] = code or ITEM_ERROR_CODE
    batch.errors.append(error)


def process_batch(state: State, batch: Batch) -> None:
    """Create every item's run, in index order, then settle the batch status."""
    for index in sorted(batch.items):
        item = batch.items[index]
        marker = item.get("__error")
        if isinstance(marker, str):
            _fail_item(state, batch, index, item["task"], Packet("{}", JSON_TYPE), marker, "PAYLOAD_TOO_LARGE")
        else:
            _trigger_item(state, batch, index, item["task"], item.get("payload", MISSING), item.get("options") or {})
    now = state.clock.now_ms()
    failed = len(batch.errors)
    if failed and failed == len(batch.items):
        batch.status = "ABORTED"
    elif failed:
        batch.status = "PARTIAL_FAILED"
    else:
        # "All runs created": COMPLETED follows once every run is final (Store.advance).
        batch.status = "PENDING"
    batch.processing_completed_at = batch.updated_at = now
    batch.items.clear()


def _new_batch(call: Call, credential: Credential, run_count: int, body: dict[str, Any]) -> Batch:
    store = call.state.store
    now = call.state.clock.now_ms()
    batch = Batch(
        id=friendly_id("batch"),
        env=credential.env,
        run_count=run_count,
        created_at=now,
        updated_at=now,
        idempotency_key=body.get("idempotencyKey"),
        parent_run_id=body.get("parentRunId"),
        resume_parent_on_completion=bool(body.get("resumeParentOnCompletion", False)),
    )
    store.batches[batch.id] = batch
    return batch


def _find_batch(call: Call, env_id: str, batch_id: str) -> Batch | None:
    batch = call.state.store.batches.get(batch_id)
    return batch if batch is not None and batch.env.id == env_id else None


def _use_one_time_token(call: Call, credential: Credential, message: str) -> None:
    if credential.one_time_use:
        used = call.state.store.used_batch_tokens
        if credential.token_hash in used:
            fail(422, message)
        used.add(credential.token_hash)


# POST /api/v3/batches ------------------------------------------------------------------------


def _quota_exceeded(call: Call, credential: Credential, run_count: int) -> web.Response | None:
    limiter = call.state.limiter
    if not limiter.enabled:
        return None
    now = call.state.clock.now_ms()
    outcome = limiter.batch.take(credential.env.id, now, run_count)
    if outcome.allowed:
        return None
    headers = {
        "X-RateLimit-Limit": str(outcome.limit),
        "X-RateLimit-Remaining": str(max(0, outcome.remaining)),
        "X-RateLimit-Reset": str(outcome.reset_ms // 1000),
        "Retry-After": str(max(1, -(-(outcome.reset_ms - now) // 1000))),
    }
    return error_response(429, f"Batch rate limit exceeded. Limit resets at {iso(outcome.reset_ms)}", headers)


async def create_batch(call: Call) -> web.StreamResponse:
    """``POST /api/v3/batches``: phase 1, a PENDING unsealed batch expecting ``runCount`` items."""
    credential = authenticate(call, allow_jwt=True)
    call.require_content_length(CREATE_BODY_MAX_BYTES)
    headers = call.validated_headers(TRIGGER_HEADERS)
    body = call.json_body(CREATE_BODY)
    tasks: list[str] | None = body.get("taskIdentifiers")
    collection = [("batch", None), ("tasks", None)]
    if tasks is None:
        allowed = credential.allows("batchTrigger", collection)
    else:
        allowed = all(credential.allows("batchTrigger", [("tasks", task)]) for task in tasks) or credential.allows(
            "batchTrigger", collection
        )
    if not allowed:
        forbidden()
    _check_parent(credential, body.get("parentRunId"))
    run_count = int(body["runCount"])
    if run_count > MAX_RUN_COUNT:
        fail(400, f"Batch runCount of {run_count} exceeds maximum allowed of {MAX_RUN_COUNT}.")
    store = call.state.store
    now = call.state.clock.now_ms()
    browser = headers.get("x-trigger-client") == "browser"
    key = body.get("idempotencyKey")
    existing_id = store.batch_idempotency.get((credential.env.id, key)) if key else None
    if existing_id is not None and call.state.settings.batch_idempotency_cached:
        # The intended replay: the existing batch, isCached true, so the SDK skips phase 2.
        existing = store.batches[existing_id]
        return json_response(
            {"id": existing.id, "runCount": existing.run_count, "isCached": True},
            headers=batch_token_headers(credential, existing.id, now, browser=browser),
        )
    quota = _quota_exceeded(call, credential, run_count)
    if quota is not None:
        return quota
    if existing_id is not None:
        fail(422, "Cannot create batch as it has already been created with the same idempotency key.")
    _use_one_time_token(call, credential, "Cannot create batch with a one-time use token as it has already been used.")
    batch = _new_batch(call, credential, run_count, body)
    if key:
        store.batch_idempotency[(credential.env.id, key)] = batch.id
    store.stream_grants[batch.id] = (STREAM_GRANTS, now + STREAM_GRANT_TTL_MS)
    answer: dict[str, Any] = {"id": batch.id, "runCount": run_count, "isCached": False}
    if key is not None:
        answer["idempotencyKey"] = key
    return json_response(answer, 202, batch_token_headers(credential, batch.id, now, browser=browser))


# POST /api/v3/batches/{batchId}/items -------------------------------------------------------


def v8_json_error(text: str, error: json.JSONDecodeError) -> str:
    """An approximation of V8's ``JSON.parse`` error message for ``text``."""
    pos = error.pos
    where = f"in JSON at position {pos} (line 1 column {pos + 1})"
    if error.msg.startswith("Extra data"):
        return f"Unexpected non-whitespace character after JSON at position {pos} (line 1 column {pos + 1})"
    if error.msg.startswith("Expecting property name"):
        return f"Expected property name or '}}' {where}"
    if error.msg.startswith("Expecting ',' delimiter"):
        opener = _innermost_open(text[:pos])
        if opener == "[":
            return f"Expected ',' or ']' after array element {where}"
        return f"Expected ',' or '}}' after property value {where}"
    if error.msg.startswith("Expecting ':' delimiter"):
        return f"Expected ':' after property name {where}"
    if error.msg.startswith("Unterminated string"):
        return f"Unterminated string in JSON at position {len(text)} (line 1 column {len(text) + 1})"
    for literal in ("null", "true", "false"):
        if pos < len(text) and text[pos] == literal[0]:
            for offset, expected in enumerate(literal):
                at = pos + offset
                if at >= len(text):
                    return "Unexpected end of JSON input"
                if text[at] != expected:
                    pos = at
                    break
            break
    if pos >= len(text):
        return "Unexpected end of JSON input"
    shown = text if len(text) <= 40 else text[max(0, pos - 10) : pos + 10]
    prefix = "" if len(text) <= 40 or pos <= 10 else "..."
    suffix = "" if len(text) <= 40 or pos + 10 >= len(text) else "..."
    return f"Unexpected token '{text[pos]}', {prefix}\"{shown}\"{suffix} is not valid JSON"


def _innermost_open(prefix: str) -> str | None:
    stack: list[str] = []
    in_string = escaped = False
    for char in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else None


_INDEX_HINT = re.compile(rb'"index"\s*:\s*(\d+)')
_TASK_HINT = re.compile(rb'"task"\s*:\s*"([^"\\]*)"')


def _oversized_marker(line: bytes, position: int) -> dict[str, Any]:
    head = line[:512]
    index_match = _INDEX_HINT.search(head)
    task_match = _TASK_HINT.search(head)
    index = int(index_match.group(1)) if index_match else position
    task = task_match.group(1).decode("utf-8", errors="replace") if task_match else "unknown"
    message = (
        f"Batch item payload is too large ({len(line) / 1024:.1f} KB). Maximum allowed size is "
        f"{ITEM_MAX_BYTES / 1024:.1f} KB. Reduce the payload size or offload large data to external storage."
    )
    return {"__oversized": True, "index": index, "task": task, "__error": message}


def _parse_lines(body: bytes) -> Iterator[Any]:
    """The NDJSON items: blank lines skipped, errors raised with 1-based line numbers."""
    emitted = 0
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if len(raw) > ITEM_MAX_BYTES:
            yield _oversized_marker(raw, emitted)
            emitted += 1
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _StreamCrash() from None
        trimmed = text.strip()
        if not trimmed:
            continue
        try:
            value = json.loads(trimmed)
        except json.JSONDecodeError as exc:
            fail(400, f"Invalid JSON at line {number}: {v8_json_error(trimmed, exc)}")
        emitted += 1
        yield value


class _StreamCrash(Exception):
    """Invalid UTF-8 in the stream: the route's generic 500."""


def _authorized(items: Iterator[Any], credential: Credential, batch_id: str) -> Iterator[Any]:
    can_write = credential.allows("write", [("batch", batch_id)])
    for item in items:
        task = item.get("task") if isinstance(item, dict) else None
        if not can_write and (not isinstance(task, str) or not credential.allows("batchTrigger", [("tasks", task)])):
            fail(403, "Unauthorized")
        yield item


def _item_error(raw: Any, issues: Sequence[Any]) -> str:
    index = raw.get("index") if isinstance(raw, dict) else None
    where = (
        f"index {js_number_text(index)}"
        if isinstance(index, (int, float)) and not isinstance(index, bool)
        else "unknown index"
    )
    detail = json.dumps([issue.to_zod() for issue in issues], indent=2, ensure_ascii=False)
    return f"Invalid item at {where}: {detail}"


def _sealed_answer(batch: Batch, accepted: int = 0, deduplicated: int = 0) -> dict[str, Any]:
    return {
        "id": batch.id,
        "itemsAccepted": accepted,
        "itemsDeduplicated": deduplicated,
        "sealed": True,
        "runCount": batch.run_count,
    }


def _work_done(batch: Batch) -> bool:
    return batch.status in ("PROCESSING", "COMPLETED", "PARTIAL_FAILED") or (
        batch.status == "PENDING" and (batch.sealed or batch.processing_completed_at is not None)
    )


async def stream_items(call: Call) -> web.StreamResponse:
    """``POST /api/v3/batches/{batchId}/items``: phase 2, NDJSON items deduplicated by index."""
    content_type = call.header("content-type") or ""
    if not any(kind in content_type for kind in NDJSON_TYPES):
        fail(415, "Content-Type must be application/x-ndjson or application/ndjson")
    credential = authenticate(call, allow_jwt=True)
    batch_id = call.params["batchId"]
    try:
        return _stream_items(call, credential, batch_id)
    except _StreamCrash:
        fail(500, "Something went wrong")


def _stream_items(call: Call, credential: Credential, batch_id: str) -> web.StreamResponse:
    items = _authorized(_parse_lines(call.body), credential, batch_id)
    pending: list[Any] = []
    if not credential.allows("write", [("batch", batch_id)]):
        # A credential without a batch grant must show an authorized item first.
        first = next(items, None)
        if first is None:
            fail(403, "Unauthorized")
        pending.append(first)
    if batch_id.count("_") != 1:
        fail(422, f"Invalid batchFriendlyId: {batch_id}")
    batch = _find_batch(call, credential.env.id, batch_id)
    if batch is None:
        fail(422, f"Batch {batch_id} not found")
    if _work_done(batch):
        return json_response(_sealed_answer(batch))
    if batch.status != "PENDING":
        fail(422, f"Batch {batch_id} is not in PENDING status (current: {batch.status})")
    accepted = deduplicated = 0
    for raw in itertools.chain(pending, items):
        if isinstance(raw, dict) and raw.get("__oversized"):
            index = int(raw["index"])
            item: dict[str, Any] = {"task": raw["task"], "__error": raw["__error"]}
        else:
            parsed, issues = validate(NDJSON_ITEM, raw)
            if issues:
                fail(422, _item_error(raw, issues))
            index = int(parsed["index"])
            item = parsed
        if index >= batch.run_count:
            fail(422, f"Item index {index} exceeds batch runCount {batch.run_count}")
        if index in batch.items:
            deduplicated += 1
        else:
            batch.items[index] = item
            accepted += 1
    enqueued = len(batch.items)
    if enqueued != batch.run_count:
        return json_response(
            {
                "id": batch.id,
                "itemsAccepted": accepted,
                "itemsDeduplicated": deduplicated,
                "sealed": False,
                "enqueuedCount": enqueued,
                "expectedCount": batch.run_count,
                "runCount": batch.run_count,
            }
        )
    batch.sealed = True
    batch.status = "PROCESSING"
    batch.updated_at = call.state.clock.now_ms()
    process_batch(call.state, batch)
    return json_response(_sealed_answer(batch, accepted, deduplicated))


async def items_wrong_method(call: Call) -> web.StreamResponse:
    """A GET of the items route."""
    return error_response(405, "Method not allowed. Use POST to stream batch items.")


# retrieve --------------------------------------------------------------------------------------


def _error_items(batch: Batch) -> list[dict[str, Any]]:
    return [dict(error) for error in batch.errors]


def batch_body_v2(batch: Batch) -> dict[str, Any]:
    """``GET /api/v2/batches/{id}`` (``RetrieveBatchV2Response``)."""
    out: dict[str, Any] = {"id": batch.id, "status": batch.status}
    if batch.idempotency_key is not None:
        out["idempotencyKey"] = batch.idempotency_key
    out["createdAt"] = iso(batch.created_at)
    out["updatedAt"] = iso(batch.updated_at)
    if batch.processing_completed_at is not None:
        out["processingCompletedAt"] = iso(batch.processing_completed_at)
    out["runCount"] = batch.run_count
    out["runs"] = list(batch.run_ids)
    processing: dict[str, Any] = {}
    if batch.processing_completed_at is not None:
        processing["completedAt"] = iso(batch.processing_completed_at)
    processing["errors"] = _error_items(batch)
    out["processing"] = processing
    return out


def batch_body_v1(batch: Batch) -> dict[str, Any]:
    """``GET /api/v1/batches/{id}``."""
    out: dict[str, Any] = {"id": batch.id, "status": batch.status}
    if batch.idempotency_key is not None:
        out["idempotencyKey"] = batch.idempotency_key
    out["createdAt"] = iso(batch.created_at)
    out["updatedAt"] = iso(batch.updated_at)
    out["runCount"] = batch.run_count
    out["runs"] = list(batch.run_ids)
    if batch.errors:
        out["errors"] = _error_items(batch)
    return out


def _retrieved(call: Call) -> Batch:
    credential = authenticate(call, allow_jwt=True)
    batch = _find_batch(call, credential.env.id, call.params["batchId"])
    if batch is None:
        fail(404, "Not found", headers={"x-should-retry": "true"})
    if not credential.allows("read", [("batch", batch.id), ("runs", None)]):
        forbidden()
    return batch


async def retrieve_v1(call: Call) -> web.StreamResponse:
    """``GET /api/v1/batches/{batchId}``."""
    return json_response(batch_body_v1(_retrieved(call)))


async def retrieve_v2(call: Call) -> web.StreamResponse:
    """``GET /api/v2/batches/{batchId}``."""
    return json_response(batch_body_v2(_retrieved(call)))


# POST /api/v2/tasks/batch -----------------------------------------------------------------------


async def batch_trigger_v2(call: Call) -> web.StreamResponse:
    """``POST /api/v2/tasks/batch``: the older array API; items are triggered at once."""
    credential = authenticate(call, allow_jwt=True)
    call.require_content_length(V2_BODY_MAX_BYTES)
    headers = call.validated_headers(V2_HEADERS)
    body = call.json_body(V2_BODY)
    items: list[dict[str, Any]] = body["items"]
    tasks = sorted({item["task"] for item in items})
    if not all(credential.allows("batchTrigger", [("tasks", task)]) for task in tasks):
        forbidden()
    if not items:
        fail(400, "Batch cannot be triggered with no items")
    _check_parent(credential, body.get("parentRunId"))
    if len(items) > MAX_V2_ITEMS:
        fail(400, f"Batch size of {len(items)} is too large. Maximum allowed batch size is {MAX_V2_ITEMS}.")
    _use_one_time_token(call, credential, "Cannot batch trigger with a one-time use token as it has already been used.")
    batch = _new_batch(call, credential, len(items), body)
    batch.sealed = True
    for index, item in enumerate(items):
        batch.items[index] = item
    process_batch(call.state, batch)
    now = call.state.clock.now_ms()
    browser = headers.get("x-trigger-client") == "browser"
    return json_response(
        {"id": batch.id, "isCached": False, "runCount": batch.run_count},
        202,
        batch_token_headers(credential, batch.id, now, browser=browser),
    )


# the emulator's view ----------------------------------------------------------------------------


def describe(batch: Batch) -> dict[str, Any]:
    """The v2 retrieve answer plus the ``sealed`` flag (emulator inspection)."""
    return {**batch_body_v2(batch), "sealed": batch.sealed}


ROUTES: Sequence[Route] = [
    Route("/api/v3/batches", action=create_batch, cors=True),
    Route("/api/v3/batches/{batchId}/items", loader=items_wrong_method, action=stream_items, limiter="batch-items"),
    Route("/api/v1/batches/{batchId}", loader=retrieve_v1, cors=True),
    Route("/api/v2/batches/{batchId}", loader=retrieve_v2, cors=True),
    Route("/api/v2/tasks/batch", action=batch_trigger_v2, cors=True),
]
