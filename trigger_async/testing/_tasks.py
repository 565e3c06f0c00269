"""``POST /api/v1/tasks/{taskId}/trigger``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Final

from aiohttp import web

from ._auth import Credential, authenticate
from ._engine import ServiceError, TriggerSpec, trigger_run
from ._http import Call, Route, error_response, fail, forbidden, json_response
from ._packets import STORE_TYPE, make_packet, metadata_packet
from ._tokens import run_token_headers
from ._validation import (
    MISSING,
    AnyValue,
    Array,
    Boolean,
    CoerceDate,
    Enum,
    Issue,
    Number,
    Object,
    OneOf,
    Path,
    Refine,
    String,
    custom_issue,
    js_number_text,
)

_log = logging.getLogger(__name__)

TRIGGER_BODY_MAX_BYTES: Final = 3 * 1024 * 1024
MACHINE_PRESETS: Final = (
    "micro",
    "small-1x",
    "small-2x",
    "medium-1x",
    "medium-2x",
    "large-1x",
    "large-2x",
)
TRIGGER_SOURCES: Final = frozenset({"sdk", "cli", "mcp"})

TAG_SCHEMA: Final = String(max_length=128, max_message="Tags must be less than 128 characters")

TRIGGER_HEADERS: Final = Object(
    {
        "idempotency-key": String(max_length=2048).nullish(),
        "idempotency-key-ttl": String().nullish(),
        "trigger-version": String().nullish(),
        "x-trigger-span-parent-as-link": Number(coerce=True).nullish(),
        "x-trigger-worker": String().nullish(),
        "x-trigger-client": String().nullish(),
        "x-trigger-engine-version": Enum(("V1", "V2")).nullish(),
        "x-trigger-request-idempotency-key": String().nullish(),
        "x-trigger-realtime-streams-version": String().nullish(),
        "x-trigger-source": String().nullish(),
        "traceparent": String().nullish(),
        "tracestate": String().nullish(),
    }
)

#: Options shared by single triggers and (later) batch items.
TRIGGER_OPTION_FIELDS: Final = {
    "dependentAttempt": String().optional(),
    "parentAttempt": String().optional(),
    "dependentBatch": String().optional(),
    "parentBatch": String().optional(),
    "parentRunId": String().optional(),
    "resumeParentOnCompletion": Boolean().optional(),
    "lockToVersion": String().optional(),
    "externalDeploymentId": String(max_length=256).optional(),
    "queue": Object({"name": String(), "concurrencyLimit": Number(integer=True).optional()}).optional(),
    "concurrencyKey": OneOf((String(), Number())).optional(),
    "delay": OneOf((String(), CoerceDate())).optional(),
    "idempotencyKey": String(max_length=2048).optional(),
    "idempotencyKeyTTL": String().optional(),
    "idempotencyKeyOptions": Object({"key": String(), "scope": Enum(("run", "attempt", "global"))}).optional(),
    "machine": Enum(MACHINE_PRESETS).optional(),
    "maxAttempts": Number(integer=True).optional(),
    "maxDuration": Number().optional(),
    "metadata": AnyValue(),
    "metadataType": String().optional(),
    "payloadType": String().optional(),
    "payloadSize": Number(integer=True, minimum=0).optional(),
    "tags": OneOf((TAG_SCHEMA, Array(TAG_SCHEMA))).optional(),
    "test": Boolean().optional(),
    "ttl": OneOf((String(), Number(integer=True, minimum=0))).optional(),
    "priority": Number().optional(),
    "bulkActionId": String().optional(),
    "region": String().optional(),
    "debounce": Object(
        {
            "key": String(max_length=512),
            "delay": String(),
            "mode": Enum(("leading", "trailing")).optional(),
            "maxDelay": String().optional(),
        }
    ).optional(),
}


def _store_payload_rule(body: Any, path: Path) -> Iterator[Issue]:
    options = body.get("options") if isinstance(body, dict) else None
    if isinstance(options, dict) and options.get("payloadType") == STORE_TYPE:
        payload = body.get("payload")
        if not isinstance(payload, str) or payload == "":
            yield custom_issue(
                "payload must be a non-empty string when options.payloadType is application/store",
                (*path, "payload"),
            )


TRIGGER_BODY: Final = Refine(
    Object(
        {
            "payload": AnyValue(),
            "context": AnyValue(),
            "options": Object(TRIGGER_OPTION_FIELDS).optional(),
        }
    ),
    _store_payload_rule,
)


def spec_from_options(
    credential: Credential,
    task_id: str,
    payload: Any,
    context: Any,
    options: dict[str, Any],
    headers: dict[str, Any],
) -> TriggerSpec:
    """Turn validated trigger options (+ headers) into a ``TriggerSpec``."""
    key_options = options.get("idempotencyKeyOptions") or {}
    header_key = headers.get("idempotency-key")
    header_ttl = headers.get("idempotency-key-ttl")
    concurrency_key = options.get("concurrencyKey")
    queue = options.get("queue")
    metadata = options.get("metadata", MISSING)
    source = headers.get("x-trigger-source")
    return TriggerSpec(
        task_id=task_id,
        credential=credential,
        payload=make_packet(payload, options.get("payloadType")),
        context=None if context is MISSING else context,
        tags=options.get("tags", MISSING),
        metadata=(None if metadata is MISSING else metadata_packet(metadata, options.get("metadataType"))),
        queue=queue["name"] if queue else None,
        concurrency_key=(
            concurrency_key
            if concurrency_key is None or isinstance(concurrency_key, str)
            else js_number_text(concurrency_key)  # a number key is stored as String(n)
        ),
        delay=options.get("delay", MISSING),
        ttl=options.get("ttl", MISSING),
        idempotency_key=header_key if header_key is not None else options.get("idempotencyKey"),
        idempotency_key_ttl=header_ttl if header_ttl is not None else options.get("idempotencyKeyTTL"),
        idempotency_key_user=key_options.get("key"),
        idempotency_key_scope=key_options.get("scope"),
        machine=options.get("machine"),
        max_attempts=options.get("maxAttempts"),
        max_duration=options.get("maxDuration"),
        priority=options.get("priority"),
        is_test=bool(options.get("test", False)),
        lock_to_version=options.get("lockToVersion"),
        region=options.get("region"),
        parent_run_id=options.get("parentRunId"),
        resume_parent_on_completion=bool(options.get("resumeParentOnCompletion", False)),
        bulk_action_id=options.get("bulkActionId"),
        request_key=headers.get("x-trigger-request-idempotency-key"),
        trigger_source=source if source in TRIGGER_SOURCES else "api",
        trigger_version=headers.get("trigger-version"),
    )


async def trigger_task(call: Call) -> web.StreamResponse:
    """Trigger a run of any task id (unknown tasks are accepted, as by the server)."""
    credential = authenticate(call, allow_jwt=True)
    call.require_content_length(TRIGGER_BODY_MAX_BYTES)
    headers = call.validated_headers(TRIGGER_HEADERS)
    body = call.json_body(TRIGGER_BODY)
    task_id = call.params["taskId"]
    if not credential.allows("trigger", [("tasks", task_id)]):
        forbidden()
    spec = spec_from_options(
        credential,
        task_id,
        body.get("payload", MISSING),
        body.get("context", MISSING),
        body.get("options", {}),
        headers,
    )
    try:
        result = trigger_run(call.state, spec)
    except ServiceError as exc:
        return error_response(exc.status, exc.message, **exc.extra)
    except Exception:
        _log.exception("trigger failed")
        fail(500, "Something went wrong")
    now = call.state.clock.now_ms()
    return json_response(
        {"id": result.run.id, "isCached": result.cached},
        headers=run_token_headers(credential.env, result.run.id, now),
    )


ROUTES = [Route("/api/v1/tasks/{taskId}/trigger", action=trigger_task, cors=True)]
