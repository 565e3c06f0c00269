"""The conformance catalogue: every call of the official ``TriggerClient`` the suite makes.

Each case is language-neutral data (``python -m tests.conformance.catalogue`` prints it as
JSON): the TypeScript call (``namespace``, ``method``, ``args`` with the golden files'
markers ``$date``/``$bigint``/``$set``/``$map``/``$undefined``/``$repeat``/
``$async_iterable``), the ``TriggerClient`` config (``client``, TS names), ``env``,
``global_configure`` (for ``runs.bulk``, which the official SDK does not bind to the
client), how the result is consumed (``consume``), and the fake server's script
(``answers``, see ``server.py``). ``servers`` names the base URLs a case needs
(``{{A}}``/``{{B}}`` in strings are replaced by them).

``group`` is the summary bucket (the namespace, or ``offload``/``errors``/``client``).
``compare_timing`` asks the suite to compare the gaps between requests too.
Cases are plain dicts so the Node driver, the Python side and the emulator check share them.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

TOKEN = "tr_dev_conformance_1234567890"
ADDITIONAL_KEY = "tr_dev_sk_Ab12Cd34Ef56Gh78Ij90Kl12"  # tr_<env>_sk_ + 24 alphanumerics
CLIENT: dict[str, Any] = {"accessToken": TOKEN, "baseURL": "{{A}}"}
# Quick retries so that retry cases take milliseconds on both sides.
FAST_RETRY = {"maxAttempts": 3, "minTimeoutInMs": 10, "maxTimeoutInMs": 40, "factor": 2, "randomize": False}
FAST_CLIENT: dict[str, Any] = {**CLIENT, "requestOptions": {"retry": FAST_RETRY}}
JWT_CLAIMS = '{"sub":"env_1234","pub":true}'
OFFLOAD_THRESHOLD = 131072

# ------------------------------------------------------------------------------ answer bodies


def ok(body: Any = None, *, status: int = 200, headers: dict[str, str] | None = None, **match: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"status": status, "headers": dict(headers or {})}
    if body is not None:
        answer["body"] = body
    answer.update(match)
    return answer


def fail(
    status: int, body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None, **match: Any
) -> dict[str, Any]:
    answer: dict[str, Any] = {"status": status, "headers": dict(headers or {})}
    if text is not None:
        answer["text"] = text
    elif body is not None:
        answer["body"] = body
    answer.update(match)
    return answer


def run_fields(run_id: str = "run_1234", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": run_id,
        "status": "COMPLETED",
        "taskIdentifier": "my-task",
        "version": "20240101.1",
        "isQueued": False,
        "isExecuting": False,
        "isWaiting": False,
        "isCompleted": True,
        "isSuccess": True,
        "isFailed": False,
        "isCancelled": False,
        "isTest": False,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:05:00.000Z",
        "startedAt": "2024-01-01T00:00:00.000Z",
        "finishedAt": "2024-01-01T00:05:00.000Z",
        "tags": ["tag-a"],
        "costInCents": 0.5,
        "baseCostInCents": 0.1,
        "durationMs": 1234,
        "metadata": {"step": 1},
    }
    body.update(overrides)
    return body


def retrieved_run(run_id: str = "run_1234", **overrides: Any) -> dict[str, Any]:
    body = run_fields(
        run_id,
        depth=0,
        triggerFunction="trigger",
        payload={"hello": "world"},
        output={"ok": True},
        relatedRuns={},
        attemptCount=1,
    )
    body.update(overrides)
    return body


def listed_run(run_id: str = "run_1234", **overrides: Any) -> dict[str, Any]:
    return run_fields(run_id, env={"id": "env_1234", "name": "dev", "user": "alice"}, **overrides)


def runs_page(*ids: str, next: str | None = None, previous: str | None = None) -> dict[str, Any]:
    pagination = {k: v for k, v in (("next", next), ("previous", previous)) if v}
    return {"data": [listed_run(i) for i in ids], "pagination": pagination}


def schedule(schedule_id: str = "sched_1234", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": schedule_id,
        "type": "IMPERATIVE",
        "task": "my-scheduled-task",
        "active": True,
        "deduplicationKey": "dedup-1",
        "externalId": "user_1",
        "generator": {"type": "CRON", "expression": "0 * * * *", "description": "Every hour"},
        "timezone": "UTC",
        "nextRun": "2024-01-01T01:00:00.000Z",
        "environments": [{"id": "env_1234", "type": "DEVELOPMENT", "userName": "alice"}],
    }
    body.update(overrides)
    return body


def offset_page(items: list[Any], page: int = 1, total: int = 1) -> dict[str, Any]:
    return {"data": items, "pagination": {"currentPage": page, "totalPages": total, "count": len(items)}}


def queue(queue_id: str = "queue_1234", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": queue_id,
        "name": "my-queue",
        "type": "custom",
        "running": 1,
        "queued": 2,
        "paused": False,
        "concurrencyLimit": 10,
        "version": "V1",
        "concurrency": {"current": 10, "base": 10, "override": None, "overriddenAt": None, "overriddenBy": None},
    }
    body.update(overrides)
    return body


def queue_v2(queue_id: str = "queue_v2", name: str = "task/my-task") -> dict[str, Any]:
    return {
        "id": queue_id,
        "name": name,
        "type": "task",
        "running": 0,
        "queued": 3,
        "paused": False,
        "concurrencyLimit": None,
        "version": "V2",
    }


def deployment(deployment_id: str = "deployment_1234", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": deployment_id,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "shortCode": "abc123",
        "version": "20240101.1",
        "runtime": "node",
        "runtimeVersion": "20.11.0",
        "status": "DEPLOYED",
        "deployedAt": "2024-01-01T00:05:00.000Z",
        "externalId": None,
    }
    body.update(overrides)
    return body


def bulk_action(bulk_id: str = "bulk_1234", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": bulk_id,
        "name": "my bulk action",
        "type": "CANCEL",
        "status": "COMPLETED",
        "counts": {"total": 2, "success": 2, "failure": 0},
        "createdAt": "2024-01-01T00:00:00.000Z",
        "completedAt": "2024-01-01T00:05:00.000Z",
    }
    body.update(overrides)
    return body


def batch_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "batch_1234",
        "status": "COMPLETED",
        "idempotencyKey": "batch-key",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:05:00.000Z",
        "runCount": 2,
        "runs": ["run_1", "run_2"],
        "processing": {"completedAt": "2024-01-01T00:01:00.000Z", "errors": []},
    }
    body.update(overrides)
    return body


PROMPT = {
    "slug": "greeting",
    "friendlyId": "prompt_1234",
    "description": "Says hello",
    "tags": ["demo"],
    "defaultModel": "gpt-4o-mini",
    "currentVersion": 3,
    "hasOverride": False,
    "updatedAt": "2024-01-01T00:00:00.000Z",
}
PROMPT_VERSION = {
    "id": "pv_1",
    "version": 1,
    "labels": ["production"],
    "source": "code",
    "model": "gpt-4o-mini",
    "textContent": "Hello {{name}}",
    "commitMessage": None,
    "contentHash": "abc",
    "createdAt": "2024-01-01T00:00:00.000Z",
}
RESOLVED = {
    "data": {
        "promptId": "prompt_1234",
        "slug": "greeting",
        "version": 3,
        "labels": ["production"],
        "template": "Hello {{name}}",
        "text": "Hello Ada",
        "model": "gpt-4o-mini",
        "config": {"temperature": 0.2},
    }
}
ENVVAR = {"name": "MY_VAR", "value": "postgres://localhost/db", "isSecret": False}


def trigger_ok(run_id: str = "run_1234", **extra: Any) -> dict[str, Any]:
    return ok(
        {"id": run_id, **extra},
        headers={"x-trigger-jwt-claims": JWT_CLAIMS},
        method="POST",
        path_re=r"/api/v1/tasks/.*/trigger",
    )


def batch_answers(count: int, *, batch_id: str = "batch_1234", cached: bool = False) -> list[dict[str, Any]]:
    return [
        ok(
            {"id": batch_id, "runCount": count, "isCached": cached},
            headers={"x-trigger-jwt-claims": JWT_CLAIMS},
            method="POST",
            path="/api/v3/batches",
        ),
        ok(
            {"id": batch_id, "itemsAccepted": count, "itemsDeduplicated": 0, "sealed": True},
            method="POST",
            path=f"/api/v3/batches/{batch_id}/items",
        ),
    ]


def offload_answers() -> list[dict[str, Any]]:
    """Presign (``PUT /api/v2/packets/...``) and the object store's upload endpoint."""
    return [
        ok(
            {
                "presignedUrl": "{{A}}/__objectstore/upload/{{packet}}",
                "storagePath": "packets/proj_1234/dev/trigger/{{packet}}/payload",
            },
            method="PUT",
            path_re=r"/api/v2/packets/.*",
            times=None,
        ),
        ok(None, method="PUT", path_re=r"/__objectstore/upload/.*", times=None),
    ]


# ------------------------------------------------------------------------------------ cases

CASES: list[dict[str, Any]] = []


def case(
    name: str,
    namespace: str,
    method: str,
    args: list[Any],
    answers: list[dict[str, Any]],
    *,
    group: str | None = None,
    client: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    item: dict[str, Any] = {
        "name": name,
        "group": group or namespace,
        "namespace": namespace,
        "method": method,
        "args": args,
        "client": copy.deepcopy(client if client is not None else CLIENT),
        "answers": answers,
    }
    item.update(extra)
    item.setdefault("servers", ["A"])
    assert name not in {c["name"] for c in CASES}, name
    CASES.append(item)


# tasks.trigger ------------------------------------------------------------------------------

case("tasks_trigger_minimal", "tasks", "trigger", ["my-task", {"hello": "world"}], [trigger_ok()])
case("tasks_trigger_no_payload", "tasks", "trigger", ["my-task"], [trigger_ok()])
case(
    "tasks_trigger_undefined_payload_with_options",
    "tasks",
    "trigger",
    ["my-task", {"$undefined": True}, {"tags": ["t"]}],
    [trigger_ok()],
)
case("tasks_trigger_string_payload", "tasks", "trigger", ["my-task", "just a string"], [trigger_ok()])
case("tasks_trigger_number_payload", "tasks", "trigger", ["my-task", 42], [trigger_ok()])
case("tasks_trigger_array_payload", "tasks", "trigger", ["my-task", [1, "two", {"three": 3.5}, None]], [trigger_ok()])
case(
    "tasks_trigger_all_options",
    "tasks",
    "trigger",
    [
        "my-task",
        {"hello": "world"},
        {
            "queue": "q-all",
            "concurrency": ["lim_a", "lim-b"],
            "concurrencyKey": "ck",
            "idempotencyKey": "all-opts",
            "idempotencyKeyTTL": "2h",
            "delay": {"$date": "2030-01-02T03:04:05.678Z"},
            "ttl": "30m",
            "tags": ["a", "b"],
            "maxAttempts": 3,
            "metadata": {"m": 1, "nested": {"x": [1, 2]}},
            "maxDuration": 60,
            "machine": "small-2x",
            "priority": 5,
            "region": "us-east-1",
            "version": "20250101.1",
            "externalDeploymentId": "ext-1",
            "debounce": {"key": "deb-1", "delay": "5s", "mode": "trailing", "maxDelay": "1m"},
        },
    ],
    [trigger_ok()],
)
case("tasks_trigger_queue", "tasks", "trigger", ["my-task", {"n": 1}, {"queue": "my-queue"}], [trigger_ok()])
case(
    "tasks_trigger_concurrency_single",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"concurrency": "lim_a"}],
    [trigger_ok()],
)
case(
    "tasks_trigger_concurrency_key_string",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"concurrencyKey": "tenant-42"}],
    [trigger_ok()],
)
case(
    "tasks_trigger_concurrency_key_number",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"concurrencyKey": 42}],
    [trigger_ok()],
)
case(
    "tasks_trigger_idempotency_key",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"idempotencyKey": "once", "idempotencyKeyTTL": "10m"}],
    [trigger_ok()],
)
case(
    "tasks_trigger_idempotency_key_array",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"idempotencyKey": ["user", "42", "welcome"]}],
    [trigger_ok()],
)
case(
    "tasks_trigger_idempotency_key_64_chars",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"idempotencyKey": "a" * 64}],
    [trigger_ok()],
)
case("tasks_trigger_delay_string", "tasks", "trigger", ["my-task", {"n": 1}, {"delay": "1h30m"}], [trigger_ok()])
case(
    "tasks_trigger_delay_date",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"delay": {"$date": "2030-06-01T12:00:00.000Z"}}],
    [trigger_ok()],
)
case("tasks_trigger_ttl_string", "tasks", "trigger", ["my-task", {"n": 1}, {"ttl": "10m"}], [trigger_ok()])
case("tasks_trigger_ttl_number", "tasks", "trigger", ["my-task", {"n": 1}, {"ttl": 3600}], [trigger_ok()])
case("tasks_trigger_ttl_zero", "tasks", "trigger", ["my-task", {"n": 1}, {"ttl": 0}], [trigger_ok()])
case("tasks_trigger_tags_string", "tasks", "trigger", ["my-task", {"n": 1}, {"tags": "user:1"}], [trigger_ok()])
case("tasks_trigger_max_attempts", "tasks", "trigger", ["my-task", {"n": 1}, {"maxAttempts": 7}], [trigger_ok()])
case(
    "tasks_trigger_metadata",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"metadata": {"user": {"id": 1, "name": "Ada"}, "flags": [True, False], "ratio": 0.25}}],
    [trigger_ok()],
)
case("tasks_trigger_max_duration", "tasks", "trigger", ["my-task", {"n": 1}, {"maxDuration": 300}], [trigger_ok()])
case("tasks_trigger_machine", "tasks", "trigger", ["my-task", {"n": 1}, {"machine": "large-1x"}], [trigger_ok()])
case("tasks_trigger_priority_float", "tasks", "trigger", ["my-task", {"n": 1}, {"priority": 1.5}], [trigger_ok()])
case("tasks_trigger_region", "tasks", "trigger", ["my-task", {"n": 1}, {"region": "eu-central-1"}], [trigger_ok()])
case("tasks_trigger_version", "tasks", "trigger", ["my-task", {"n": 1}, {"version": "20240909.1"}], [trigger_ok()])
case(
    "tasks_trigger_external_deployment_id",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"externalDeploymentId": "  sha-123  "}],
    [trigger_ok()],
)
case(
    "tasks_trigger_debounce_minimal",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"debounce": {"key": "d", "delay": "5s"}}],
    [trigger_ok()],
)
case(
    "tasks_trigger_superjson_types",
    "tasks",
    "trigger",
    [
        "my-task",
        {
            "when": {"$date": "2030-01-02T03:04:05.678Z"},
            "big": {"$bigint": "12345678901234567890"},
            "set": {"$set": [1, 2, 3]},
            "nested": [{"d": {"$date": "2024-01-01T00:00:00.000Z"}}],
            "float": 1e21,
            "unicode": "h\u00e9llo \u2603 \U0001f600",
        },
    ],
    [trigger_ok()],
)
case(
    "tasks_trigger_superjson_set_of_strings",
    "tasks",
    "trigger",
    ["my-task", {"tags": {"$set": ["b", "a", "c"]}}],
    [trigger_ok()],
)
case("tasks_trigger_superjson_map", "tasks", "trigger", ["my-task", {"map": {"$map": [["k", 1]]}}], [trigger_ok()])
case("tasks_trigger_task_id_encoding", "tasks", "trigger", ["team/my task \u00fc?#&", {"n": 1}], [trigger_ok()])
case(
    "tasks_trigger_server_jwt_header",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}],
    [
        ok(
            {"id": "run_1234"},
            headers={"x-trigger-jwt": "server-issued-public-token", "x-trigger-jwt-claims": JWT_CLAIMS},
        )
    ],
)
case(
    "tasks_trigger_cached_response",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"idempotencyKey": "cached"}],
    [trigger_ok("run_existing", isCached=True)],
)
case(
    "tasks_trigger_per_call_public_token_expiration",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {}, {"publicAccessToken": {"expirationTime": "2h"}}],
    [trigger_ok()],
)
case(
    "tasks_trigger_per_call_retry",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"idempotencyKey": "retry-me"}, {"retry": FAST_RETRY}],
    [fail(500, {"error": "boom"}, times=None)],
)
case(
    "tasks_trigger_per_call_additional_headers",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {}, {"additionalHeaders": {"x-per-call": "1"}}],
    [trigger_ok()],
)
case(
    "tasks_trigger_concurrency_too_many",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"concurrency": ["a", "b", "c"]}],
    [],
)
case(
    "tasks_trigger_concurrency_bad_name",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"concurrency": ["has space"]}],
    [],
)

# tasks.batchTrigger -------------------------------------------------------------------------

case("tasks_batch_trigger_one_item", "tasks", "batchTrigger", ["my-task", [{"payload": {"n": 0}}]], batch_answers(1))
case(
    "tasks_batch_trigger_items_with_every_option",
    "tasks",
    "batchTrigger",
    [
        "my-task",
        [
            {"payload": {"n": 0}},
            {
                "payload": "text payload",
                "options": {
                    "queue": "q1",
                    "concurrency": ["lim_a"],
                    "concurrencyKey": "ck-1",
                    "delay": "5m",
                    "ttl": 60,
                    "tags": ["x"],
                    "maxAttempts": 2,
                    "metadata": {"m": True},
                    "maxDuration": 30,
                    "idempotencyKey": "item-key",
                    "idempotencyKeyTTL": "1h",
                    "machine": "micro",
                    "priority": 3,
                    "region": "eu-central-1",
                    "version": "20240101.2",
                    "externalDeploymentId": "ext-item",
                    "debounce": {"key": "dk", "delay": "1s"},
                },
            },
            {"options": {"tags": "no-payload", "delay": {"$date": "2030-01-01T00:00:00.000Z"}}},
        ],
    ],
    batch_answers(3),
)
case(
    "tasks_batch_trigger_batch_idempotency_key_and_ttl",
    "tasks",
    "batchTrigger",
    [
        "my-task",
        [
            {"payload": {"n": 0}},
            {"payload": {"n": 1}, "options": {"idempotencyKey": "own-key"}},
            {"payload": {"n": 2}, "options": {"idempotencyKeyTTL": "5m"}},
        ],
        {"idempotencyKey": "batch-key", "idempotencyKeyTTL": "2h"},
    ],
    batch_answers(3),
)
case(
    "tasks_batch_trigger_batch_key_array",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}], {"idempotencyKey": ["tenant", "7"]}],
    batch_answers(1),
)
case(
    "tasks_batch_trigger_trigger_sequentially_ignored",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}], {"triggerSequentially": True}],
    batch_answers(1),
)
case(
    "tasks_batch_trigger_async_iterable",
    "tasks",
    "batchTrigger",
    ["my-task", {"$async_iterable": [{"payload": {"n": 0}}, {"payload": {"n": 1}, "options": {"tags": ["it"]}}]}],
    batch_answers(2),
)
case(
    "tasks_batch_trigger_500_items",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"index": i}} for i in range(500)]],
    batch_answers(500),
)
case(
    "tasks_batch_trigger_cached_batch",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}], {"idempotencyKey": "seen-before"}],
    batch_answers(1, cached=True),
)
case(
    "tasks_batch_trigger_server_jwt_header",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}]],
    [
        ok(
            {"id": "batch_1234", "runCount": 1, "isCached": False},
            headers={"x-trigger-jwt": "server-batch-token"},
            method="POST",
            path="/api/v3/batches",
        ),
        batch_answers(1)[1],
    ],
)
case(
    "tasks_batch_trigger_per_call_public_token_expiration",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}], {}, {"publicAccessToken": {"expirationTime": "30m"}}],
    batch_answers(1),
)
case(
    "tasks_batch_trigger_create_422",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}]],
    [fail(422, {"error": "Task not found"}, method="POST", path="/api/v3/batches")],
)
case(
    "tasks_batch_trigger_stream_500",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}], {}, {"retry": FAST_RETRY}],
    [
        batch_answers(1)[0],
        fail(500, {"error": "stream broke"}, method="POST", path="/api/v3/batches/batch_1234/items", times=None),
    ],
)
case(
    "tasks_batch_trigger_items_429_retry_after",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}]],
    [
        batch_answers(1)[0],
        fail(
            429,
            {"error": "slow down"},
            headers={"retry-after": "1"},
            method="POST",
            path="/api/v3/batches/batch_1234/items",
        ),
        batch_answers(1)[1],
    ],
    compare_timing=True,
)
case(
    "tasks_batch_trigger_not_sealed_then_sealed",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}, {"payload": {"n": 1}}]],
    [
        batch_answers(2)[0],
        ok(
            {
                "id": "batch_1234",
                "itemsAccepted": 1,
                "itemsDeduplicated": 0,
                "sealed": False,
                "enqueuedCount": 1,
                "expectedCount": 2,
            },
            method="POST",
            path="/api/v3/batches/batch_1234/items",
        ),
        batch_answers(2)[1],
    ],
)

# batch ---------------------------------------------------------------------------------------

case(
    "batch_trigger_by_id",
    "batch",
    "trigger",
    [
        [
            {"id": "task-b", "payload": {"n": 1}},
            {
                "id": "task-a",
                "payload": "text",
                "options": {"tags": ["x"], "delay": "5m", "queue": "q-b", "idempotencyKey": "item-key"},
            },
            {"id": "task-b", "payload": {"n": 3}, "options": {"machine": "small-1x", "metadata": {"k": "v"}}},
        ],
        {"idempotencyKey": "batch-key", "idempotencyKeyTTL": "2h"},
    ],
    batch_answers(3),
)
case(
    "batch_trigger_async_iterable",
    "batch",
    "trigger",
    [{"$async_iterable": [{"id": "task-a", "payload": {"n": 0}}, {"id": "task-c", "payload": {"n": 1}}]}],
    batch_answers(2),
)
case(
    "batch_trigger_unicode_task_ids_sorted",
    "batch",
    "trigger",
    [
        [
            {"id": "\u00e9-task", "payload": 1},
            {"id": "Z-task", "payload": 2},
            {"id": "a-task", "payload": 3},
            {"id": "\U0001f600-task", "payload": 4},
            {"id": "\uff41-task", "payload": 5},
        ]
    ],
    batch_answers(5),
)
case(
    "batch_trigger_by_task",
    "batch",
    "triggerByTask",
    [
        [
            {"task": {"id": "task-a"}, "payload": {"n": 1}},
            {
                "task": {"id": "task-b"},
                "payload": {"n": 2},
                "options": {"tags": "only-b", "maxAttempts": 1, "idempotencyKey": "own"},
            },
        ]
    ],
    batch_answers(2),
)
case(
    "batch_trigger_by_task_batch_options",
    "batch",
    "triggerByTask",
    [[{"task": {"id": "task-a"}, "payload": {"n": 1}}], {"idempotencyKey": "bk", "idempotencyKeyTTL": "1d"}],
    batch_answers(1),
)
case("batch_retrieve", "batch", "retrieve", ["batch_1234"], [ok(batch_body())])
case(
    "batch_retrieve_with_errors",
    "batch",
    "retrieve",
    ["batch_5678"],
    [
        ok(
            batch_body(
                id="batch_5678",
                status="PARTIAL_FAILED",
                processing={
                    "errors": [
                        {
                            "index": 1,
                            "taskIdentifier": "task-b",
                            "error": "Task not found",
                            "errorCode": "TASK_NOT_FOUND",
                        }
                    ]
                },
            )
        )
    ],
)

# runs ----------------------------------------------------------------------------------------

case("runs_list_no_filters", "runs", "list", [], [ok(runs_page("run_1234"))])
case(
    "runs_list_all_filters",
    "runs",
    "list",
    [
        {
            "status": ["FAILED", "CRASHED"],
            "taskIdentifier": ["task-a", "task-b"],
            "version": ["20240101.1", "20240102.1"],
            "bulkAction": "bulk_1",
            "tag": ["a", "b c"],
            "schedule": "sched_1",
            "isTest": False,
            "from": {"$date": "2024-01-01T00:00:00.000Z"},
            "to": {"$date": "2024-01-02T00:00:00.000Z"},
            "period": "1d",
            "batch": "batch_1",
            "queue": [{"type": "task", "name": "my-task"}, {"type": "custom", "name": "shared"}],
            "machine": ["small-1x", "micro"],
            "region": ["eu", "us"],
            "limit": 10,
            "after": "cur_1",
        }
    ],
    [ok(runs_page("run_1234"))],
)
case(
    "runs_list_scalar_filters",
    "runs",
    "list",
    [
        {
            "status": "COMPLETED",
            "taskIdentifier": "task-a",
            "version": "20240101.1",
            "tag": "user:1~*",
            "machine": "micro",
            "queue": {"type": "custom", "name": "solo"},
            "region": "us",
            "isTest": True,
        }
    ],
    [ok(runs_page("run_1234"))],
)
case(
    "runs_list_from_to_numbers",
    "runs",
    "list",
    [{"from": 1704067200000, "to": 1704153600000}],
    [ok(runs_page("run_1234"))],
)
case(
    "runs_list_before_cursor",
    "runs",
    "list",
    [{"before": "cursor_9", "limit": 5}],
    [ok(runs_page("run_1234", previous="cursor_8", next="cursor_10"))],
)
case(
    "runs_list_project_runs",
    "runs",
    "list",
    ["proj_1234", {"env": ["dev", "prod"], "status": "FAILED", "taskIdentifier": "t", "limit": 10}],
    [ok(runs_page("run_1234"))],
)
case(
    "runs_list_project_all_filters",
    "runs",
    "list",
    [
        "proj_1234",
        {
            "status": "EXECUTING",
            "taskIdentifier": ["task-a"],
            "version": "20240101.1",
            "bulkAction": "bulk_2",
            "tag": "t",
            "schedule": "sched_2",
            "isTest": True,
            "from": {"$date": "2024-03-01T00:00:00.000Z"},
            "to": 1709337600000,
            "period": "7d",
            "batch": "batch_2",
            "queue": {"type": "task", "name": "a/b"},
            "machine": "large-2x",
            "region": "us",
            "env": ["dev", "staging"],
            "limit": 3,
            "before": "b_9",
        },
    ],
    [ok(runs_page("run_1234"))],
)
case("runs_list_project_env_single", "runs", "list", ["proj_1234", {"env": "staging"}], [ok(runs_page("run_1234"))])
case(
    "runs_list_project_request_options_only",
    "runs",
    "list",
    ["proj_1234", {"retry": {"maxAttempts": 2}}],
    [ok(runs_page("run_1234"))],
)
case(
    "runs_list_params_and_request_options",
    "runs",
    "list",
    [{"status": "QUEUED"}, {"retry": FAST_RETRY}],
    [fail(500, {"error": "nope"}, times=None)],
)
case(
    "runs_list_auto_pagination",
    "runs",
    "list",
    [{"status": "COMPLETED", "limit": 2}],
    [
        ok(runs_page("run_1", "run_2", next="cursor_2")),
        ok(runs_page("run_3", "run_4", next="cursor_3")),
        ok(runs_page("run_5")),
    ],
    consume="async_iterate",
)
case(
    "runs_list_next_page",
    "runs",
    "list",
    [{"limit": 1, "tag": "t"}],
    [ok(runs_page("run_1", next="cursor_2")), ok(runs_page("run_2", previous="cursor_1"))],
    consume="next_page",
)
case(
    "runs_list_next_page_after_before",
    "runs",
    "list",
    [{"limit": 1, "before": "b_1"}],
    [ok(runs_page("run_1", next="cursor_2", previous="cursor_0")), ok(runs_page("run_2"))],
    consume="next_page",
)
case(
    "runs_list_previous_page",
    "runs",
    "list",
    [{"limit": 1, "after": "a_1"}],
    [ok(runs_page("run_5", next="cursor_6", previous="cursor_4")), ok(runs_page("run_4"))],
    consume="previous_page",
)
case("runs_retrieve", "runs", "retrieve", ["run_1234"], [ok(retrieved_run())])
case("runs_retrieve_handle_object", "runs", "retrieve", [{"id": "run_1234"}], [ok(retrieved_run())])
case(
    "runs_retrieve_rich",
    "runs",
    "retrieve",
    ["run_rich"],
    [
        ok(
            retrieved_run(
                "run_rich",
                status="FAILED",
                isSuccess=False,
                isFailed=True,
                idempotencyKey="ik",
                ttl="10m",
                delayedUntil="2024-01-01T00:00:30.000Z",
                batchId="batch_1",
                taskKind="STANDARD",
                region="eu",
                output=None,
                error={"message": "boom", "name": "Error", "stackTrace": "at x"},
                schedule={
                    "id": "sched_1",
                    "externalId": "user_1",
                    "deduplicationKey": "dk",
                    "generator": {"type": "CRON", "expression": "0 * * * *", "description": "Every hour"},
                },
                relatedRuns={
                    "root": {**run_fields("run_root"), "depth": 0, "triggerFunction": "trigger"},
                    "children": [],
                },
            )
        )
    ],
)
case(
    "runs_retrieve_presigned_packets",
    "runs",
    "retrieve",
    ["run_presigned"],
    [
        ok(
            retrieved_run(
                "run_presigned",
                payload=None,
                output=None,
                payloadPresignedUrl="{{A}}/__objectstore/download/payload",
                outputPresignedUrl="{{A}}/__objectstore/download/output",
            ),
            path="/api/v3/runs/run_presigned",
        ),
        ok(
            None,
            headers={"content-type": "application/json"},
            path="/__objectstore/download/payload",
            text='{"big":"payload"}',
        ),
        ok(
            None,
            headers={"content-type": "application/super+json"},
            path="/__objectstore/download/output",
            text='{"json":{"at":"2024-01-01T00:00:00.000Z"},"meta":{"values":{"at":["Date"]}}}',
        ),
    ],
)
case(
    "runs_retrieve_404_retried",
    "runs",
    "retrieve",
    ["run_missing"],
    [fail(404, {"error": "Run not found"}, headers={"x-should-retry": "true"}, times=None)],
    client=FAST_CLIENT,
)
case(
    "runs_retrieve_id_with_slash",
    "runs",
    "retrieve",
    ["run_1/../x y"],
    [ok(retrieved_run("run_1/../x y"), path_re=r"/api/v3/runs/.*")],
)
case("runs_cancel", "runs", "cancel", ["run_1234"], [ok({"id": "run_1234"})])
case("runs_replay_no_body", "runs", "replay", ["run_1234"], [ok({"id": "run_new"})])
case("runs_replay_empty_body", "runs", "replay", ["run_1234", {}], [ok({"id": "run_new"})])
case(
    "runs_replay_every_body_key",
    "runs",
    "replay",
    [
        "run_1234",
        {
            "payload": {"a": 1, "when": {"$date": "2030-01-02T03:04:05.678Z"}},
            "metadata": {"m": 1},
            "tags": ["replayed"],
            "queue": "q-replay",
            "concurrencyKey": "ck",
            "machine": "medium-1x",
            "version": "20240101.9",
            "region": "us-east-1",
            "delay": {"$date": "2030-01-02T03:04:05.678Z"},
            "ttl": "1h",
            "idempotencyKey": "replay-key",
            "idempotencyKeyTTL": "3h",
            "maxAttempts": 4,
            "maxDuration": 120,
            "priority": 7,
        },
    ],
    [ok({"id": "run_new"})],
)
case(
    "runs_replay_scalar_forms",
    "runs",
    "replay",
    ["run_1234", {"tags": "one-tag", "ttl": 90, "delay": "2h", "concurrencyKey": 7}],
    [ok({"id": "run_new"})],
)
case(
    "runs_replay_plain_payload_type",
    "runs",
    "replay",
    ["run_1234", {"payload": {"a": 1}, "payloadType": "application/json"}],
    [ok({"id": "run_new"})],
)
case("runs_replay_string_payload", "runs", "replay", ["run_1234", {"payload": "plain"}], [ok({"id": "run_new"})])
case(
    "runs_replay_request_options_only",
    "runs",
    "replay",
    ["run_1234", {"retry": {"maxAttempts": 2}}],
    [ok({"id": "run_new"})],
)
case(
    "runs_replay_body_and_request_options",
    "runs",
    "replay",
    ["run_1234", {"tags": ["t"]}, {"retry": FAST_RETRY}],
    [fail(503, {"error": "busy"}, times=None)],
)
case(
    "runs_reschedule_string",
    "runs",
    "reschedule",
    ["run_1234", {"delay": "1h"}],
    [ok(retrieved_run(status="DELAYED", isCompleted=False, isSuccess=False))],
)
case(
    "runs_reschedule_date",
    "runs",
    "reschedule",
    ["run_1234", {"delay": {"$date": "2030-01-02T03:04:05.678Z"}}],
    [ok(retrieved_run(status="DELAYED", isCompleted=False, isSuccess=False, delayedUntil="2030-01-02T03:04:05.678Z"))],
)
case(
    "runs_poll_until_completed",
    "runs",
    "poll",
    ["run_1234", {"pollIntervalMs": 20}],
    [
        ok(retrieved_run(status="EXECUTING", isExecuting=True, isCompleted=False, isSuccess=False, output=None)),
        ok(retrieved_run(status="EXECUTING", isExecuting=True, isCompleted=False, isSuccess=False, output=None)),
        ok(retrieved_run()),
    ],
    compare_timing=True,
)
case("runs_poll_handle_object", "runs", "poll", [{"id": "run_1234"}], [ok(retrieved_run())])

# runs.bulk (the official SDK reads the global configure(); here it is the client's own config)

BULK_GLOBAL = {"accessToken": TOKEN, "baseURL": "{{A}}"}
case(
    "runs_bulk_cancel_filter",
    "runs.bulk",
    "cancel",
    [
        {
            "filter": {
                "status": ["QUEUED", "EXECUTING"],
                "taskIdentifier": ["task-a"],
                "version": "20240101.1",
                "from": {"$date": "2024-01-01T00:00:00.000Z"},
                "to": {"$date": "2024-02-01T00:00:00.000Z"},
                "period": "7d",
                "bulkAction": "bulk_0",
                "tag": ["t1", "t2"],
                "schedule": "sched_1",
                "isTest": False,
                "batch": "batch_1",
                "queue": [{"type": "task", "name": "my-task"}, {"type": "custom", "name": "shared"}],
                "machine": ["micro"],
                "region": "eu",
            },
            "name": "cancel everything",
        }
    ],
    [ok({"id": "bulk_1234"})],
    global_configure=BULK_GLOBAL,
)
case(
    "runs_bulk_cancel_run_ids",
    "runs.bulk",
    "cancel",
    [{"runIds": ["run_1", "run_2"], "name": "cancel two"}],
    [ok({"id": "bulk_1234"})],
    global_configure=BULK_GLOBAL,
)
case(
    "runs_bulk_replay_filter",
    "runs.bulk",
    "replay",
    [
        {
            "filter": {"status": ["FAILED"], "taskIdentifier": "task-a", "from": {"$date": "2024-01-01T00:00:00.000Z"}},
            "targetRegion": "eu-central-1",
        }
    ],
    [ok({"id": "bulk_1234"})],
    global_configure=BULK_GLOBAL,
)
case(
    "runs_bulk_replay_run_ids",
    "runs.bulk",
    "replay",
    [{"runIds": ["run_9"]}],
    [ok({"id": "bulk_1234"})],
    global_configure=BULK_GLOBAL,
)
case("runs_bulk_retrieve", "runs.bulk", "retrieve", ["bulk_1234"], [ok(bulk_action())], global_configure=BULK_GLOBAL)
case("runs_bulk_abort", "runs.bulk", "abort", ["bulk_1234"], [ok({"id": "bulk_1234"})], global_configure=BULK_GLOBAL)
case(
    "runs_bulk_list",
    "runs.bulk",
    "list",
    [{"limit": 2, "after": "cursor_1"}],
    [
        ok(
            {
                "data": [
                    bulk_action("bulk_1"),
                    {
                        k: v
                        for k, v in bulk_action("bulk_2", type="REPLAY", status="PENDING").items()
                        if k != "completedAt"
                    },
                ],
                "pagination": {},
            }
        )
    ],
    global_configure=BULK_GLOBAL,
)
case(
    "runs_bulk_list_no_options",
    "runs.bulk",
    "list",
    [],
    [ok({"data": [bulk_action("bulk_1")], "pagination": {}})],
    global_configure=BULK_GLOBAL,
)
case(
    "runs_bulk_list_auto_pagination",
    "runs.bulk",
    "list",
    [{"limit": 1}],
    [
        ok({"data": [bulk_action("bulk_1")], "pagination": {"next": "c2"}}),
        ok({"data": [bulk_action("bulk_2")], "pagination": {}}),
    ],
    global_configure=BULK_GLOBAL,
    consume="async_iterate",
)
case(
    "runs_bulk_poll",
    "runs.bulk",
    "poll",
    ["bulk_1234", {"pollIntervalMs": 20}],
    [ok({k: v for k, v in bulk_action(status="PENDING").items() if k != "completedAt"}), ok(bulk_action())],
    global_configure=BULK_GLOBAL,
)
case(
    "runs_bulk_bound_to_instance",
    "runs.bulk",
    "retrieve",
    ["bulk_1234"],
    [ok(bulk_action())],
    global_configure={"accessToken": "tr_dev_global_configure_key", "baseURL": "{{B}}"},
    servers=["A", "B"],
)
case("runs_bulk_without_global_config", "runs.bulk", "abort", ["bulk_1234"], [ok({"id": "bulk_1234"})])

# schedules -----------------------------------------------------------------------------------

case(
    "schedules_create",
    "schedules",
    "create",
    [
        {
            "task": "my-scheduled-task",
            "cron": "0 0 * * *",
            "deduplicationKey": "user_1-daily",
            "externalId": "user_1",
            "timezone": "America/New_York",
            "window": "30m",
        }
    ],
    [ok(schedule(deduplicationKey="user_1-daily", timezone="America/New_York", window="30m"))],
)
case(
    "schedules_create_minimal",
    "schedules",
    "create",
    [{"task": "my-scheduled-task", "cron": "*/5 * * * *", "deduplicationKey": "every-5"}],
    [ok(schedule(deduplicationKey="every-5", externalId=None, nextRun=None))],
)
case(
    "schedules_retrieve",
    "schedules",
    "retrieve",
    ["sched_1234"],
    [ok(schedule(appliedSchedulePolicy={"minimumWindowSeconds": 60, "reason": "free_schedule"}))],
)
case(
    "schedules_retrieve_by_dedup_key_with_slash",
    "schedules",
    "retrieve",
    ["user 1/daily"],
    [ok(schedule(), path_re=r"/api/v1/schedules/.*")],
)
case(
    "schedules_update",
    "schedules",
    "update",
    [
        "sched_1234",
        {
            "task": "my-scheduled-task",
            "cron": "0 12 * * *",
            "externalId": "user_2",
            "timezone": "Europe/London",
            "window": "10%",
        },
    ],
    [ok(schedule(timezone="Europe/London"))],
)
case(
    "schedules_update_minimal",
    "schedules",
    "update",
    ["sched_1234", {"task": "my-scheduled-task", "cron": "0 12 * * 1"}],
    [ok(schedule())],
)
case("schedules_del", "schedules", "del", ["sched_1234"], [ok({"id": "sched_1234"})])
case("schedules_activate", "schedules", "activate", ["sched_1234"], [ok(schedule())])
case("schedules_deactivate", "schedules", "deactivate", ["sched_1234"], [ok(schedule(active=False))])
case("schedules_list", "schedules", "list", [], [ok(offset_page([schedule("sched_p1")]))])
case(
    "schedules_list_page_per_page",
    "schedules",
    "list",
    [{"page": 2, "perPage": 5}],
    [ok(offset_page([schedule("sched_p6")], page=2, total=3))],
)
case(
    "schedules_list_auto_pagination",
    "schedules",
    "list",
    [{"perPage": 1}],
    [
        ok(offset_page([schedule("sched_1")], 1, 3)),
        ok(offset_page([schedule("sched_2")], 2, 3)),
        ok(offset_page([schedule("sched_3")], 3, 3)),
    ],
    consume="async_iterate",
)
case(
    "schedules_list_next_page",
    "schedules",
    "list",
    [{"perPage": 2}],
    [ok(offset_page([schedule("sched_1")], 1, 2)), ok(offset_page([schedule("sched_2")], 2, 2))],
    consume="next_page",
)
case(
    "schedules_list_string_pagination_numbers",
    "schedules",
    "list",
    [],
    [ok({"data": [schedule()], "pagination": {"currentPage": "1", "totalPages": "1", "count": "1"}})],
)

# envvars -------------------------------------------------------------------------------------

case(
    "envvars_list",
    "envvars",
    "list",
    ["proj_1234", "dev"],
    [ok([ENVVAR, {"name": "API_SECRET", "value": "<redacted>", "isSecret": True}])],
)
case(
    "envvars_create",
    "envvars",
    "create",
    ["proj_1234", "dev", {"name": "MY_VAR", "value": "hello", "isSecret": True}],
    [ok({"success": True})],
)
case(
    "envvars_create_minimal",
    "envvars",
    "create",
    ["proj_1234", "prod", {"name": "EMPTY", "value": ""}],
    [ok({"success": True})],
)
case("envvars_retrieve", "envvars", "retrieve", ["proj_1234", "prod", "MY_VAR"], [ok(ENVVAR)])
case(
    "envvars_retrieve_name_needing_encoding",
    "envvars",
    "retrieve",
    ["proj_1234", "dev", "WEIRD NAME/X"],
    [ok({**ENVVAR, "name": "WEIRD NAME/X"}, path_re=r"/api/v1/projects/proj_1234/envvars/dev/.*")],
)
case("envvars_update", "envvars", "update", ["proj_1234", "dev", "MY_VAR", {"value": "new"}], [ok({"success": True})])
case(
    "envvars_update_with_global_name_shim",
    "envvars",
    "update",
    ["proj_1234", "staging", "MY_VAR", {"value": "new"}],
    [ok({"success": True})],
    shim={"global_name": "MY_VAR"},
)
case("envvars_del", "envvars", "del", ["proj_1234", "staging", "MY_VAR"], [ok({"success": True})])
case(
    "envvars_upload",
    "envvars",
    "upload",
    ["proj_1234", "dev", {"variables": {"A": "1", "B": "two"}, "override": True, "isSecret": False}],
    [ok({"success": True})],
)
case(
    "envvars_upload_minimal",
    "envvars",
    "upload",
    ["proj_1234", "preview", {"variables": {"ONLY": "x"}}],
    [ok({"success": True})],
)
case(
    "envvars_list_preview_branch",
    "envvars",
    "list",
    ["proj_1234", "preview"],
    [ok([ENVVAR])],
    client={**CLIENT, "previewBranch": "feature-x"},
)
case("envvars_list_bare_outside_task", "envvars", "list", [], [])

# queues --------------------------------------------------------------------------------------

case("queues_list", "queues", "list", [], [ok(offset_page([queue("queue_p1"), queue_v2()]))])
case(
    "queues_list_page_per_page",
    "queues",
    "list",
    [{"page": 2, "perPage": 10}],
    [ok(offset_page([queue("queue_p11")], 2, 2))],
)
case(
    "queues_list_auto_pagination",
    "queues",
    "list",
    [{"perPage": 1}],
    [ok(offset_page([queue("queue_1")], 1, 2)), ok(offset_page([queue_v2("queue_2")], 2, 2))],
    consume="async_iterate",
)
case(
    "queues_list_version_missing",
    "queues",
    "list",
    [],
    [ok(offset_page([{k: v for k, v in queue().items() if k != "version"}]))],
)
case("queues_retrieve_id", "queues", "retrieve", ["queue_1234"], [ok(queue())])
case("queues_retrieve_task_queue", "queues", "retrieve", [{"type": "task", "name": "my-task"}], [ok(queue_v2())])
case(
    "queues_retrieve_custom_with_slash_and_space",
    "queues",
    "retrieve",
    [{"type": "custom", "name": "team/queue name"}],
    [ok(queue(name="team/queue name"))],
)
case(
    "queues_retrieve_custom_odd_characters",
    "queues",
    "retrieve",
    [{"type": "custom", "name": "a%b?c#d\u00fc"}],
    [ok(queue(name="a%b?c#d\u00fc"))],
)
case("queues_retrieve_id_with_slash", "queues", "retrieve", ["queue/1234"], [ok(queue())])
case(
    "queues_retrieve_version_missing",
    "queues",
    "retrieve",
    ["queue_1234"],
    [ok({k: v for k, v in queue().items() if k != "version"})],
)
case("queues_pause_id", "queues", "pause", ["queue_1234"], [ok(queue(paused=True))])
case("queues_pause_task", "queues", "pause", [{"type": "task", "name": "team/my task"}], [ok(queue_v2())])
case("queues_resume_custom", "queues", "resume", [{"type": "custom", "name": "my-queue"}], [ok(queue())])
case("queues_resume_id", "queues", "resume", ["queue_1234"], [ok(queue())])
case(
    "queues_override_concurrency_limit",
    "queues",
    "overrideConcurrencyLimit",
    ["queue_1234", 5],
    [ok(queue(concurrencyLimit=5))],
)
case(
    "queues_override_concurrency_limit_task",
    "queues",
    "overrideConcurrencyLimit",
    [{"type": "task", "name": "my-task"}, 0],
    [ok(queue_v2())],
)
case(
    "queues_reset_concurrency_limit_custom",
    "queues",
    "resetConcurrencyLimit",
    [{"type": "custom", "name": "my-queue"}],
    [ok(queue())],
)
case("queues_reset_concurrency_limit_id", "queues", "resetConcurrencyLimit", ["queue_1234"], [ok(queue())])

# deployments ---------------------------------------------------------------------------------

case("deployments_retrieve_current", "deployments", "retrieveCurrent", [], [ok(deployment(git={"commitSha": "abc"}))])
case("deployments_list_no_options", "deployments", "list", [], [ok({"data": [deployment()], "pagination": {}})])
case(
    "deployments_list_all_filters",
    "deployments",
    "list",
    [
        {
            "status": "DEPLOYED",
            "period": "7d",
            "from": "2024-01-01",
            "to": "2024-02-01T00:00:00Z",
            "cursor": "dep_0",
            "limit": 5,
        }
    ],
    [
        ok(
            {
                "data": [
                    deployment(),
                    deployment("deployment_2", status="FAILED", error={"name": "BuildError", "message": "failed"}),
                ],
                "pagination": {"next": "dep_2"},
            }
        )
    ],
)
case(
    "deployments_list_request_options_only",
    "deployments",
    "list",
    [{"retry": FAST_RETRY}],
    [fail(500, {"error": "down"}, times=None)],
)
case(
    "deployments_list_auto_pagination",
    "deployments",
    "list",
    [{"limit": 1, "status": "DEPLOYED"}],
    [
        ok({"data": [deployment("d1")], "pagination": {"next": "d1"}}),
        ok({"data": [deployment("d2")], "pagination": {}}),
    ],
    consume="async_iterate",
)
case(
    "deployments_list_next_page",
    "deployments",
    "list",
    [{"limit": 1}],
    [
        ok({"data": [deployment("d1")], "pagination": {"next": "d1"}}),
        ok({"data": [deployment("d2")], "pagination": {}}),
    ],
    consume="next_page",
)

# prompts -------------------------------------------------------------------------------------

case(
    "prompts_list",
    "prompts",
    "list",
    [],
    [
        ok(
            {
                "data": [
                    PROMPT,
                    {**PROMPT, "slug": "bare", "description": None, "defaultModel": None, "currentVersion": None},
                ]
            }
        )
    ],
)
case("prompts_versions", "prompts", "versions", ["greeting"], [ok({"data": [PROMPT_VERSION]})])
case("prompts_resolve_no_variables", "prompts", "resolve", ["greeting"], [ok(RESOLVED)])
case(
    "prompts_resolve_label",
    "prompts",
    "resolve",
    ["greeting", {"name": "Ada"}, {"label": "production"}],
    [ok(RESOLVED)],
)
case(
    "prompts_resolve_version",
    "prompts",
    "resolve",
    ["greeting", {"name": "Ada", "n": 2}, {"version": 2}],
    [ok(RESOLVED)],
)
case(
    "prompts_resolve_minimal_answer",
    "prompts",
    "resolve",
    ["greeting", {}],
    [
        ok(
            {
                "data": {
                    "promptId": "prompt_1234",
                    "slug": "greeting",
                    "version": 1,
                    "labels": [],
                    "model": None,
                    "config": None,
                }
            }
        )
    ],
)
case("prompts_promote", "prompts", "promote", ["greeting", 2], [ok({"ok": True})])
case(
    "prompts_create_override",
    "prompts",
    "createOverride",
    [
        "greeting",
        {"textContent": "Hi {{name}}!", "model": "gpt-4o", "commitMessage": "friendlier", "source": "dashboard"},
    ],
    [ok({"ok": True, "version": 4})],
)
case(
    "prompts_create_override_minimal",
    "prompts",
    "createOverride",
    ["greeting", {"textContent": "Yo"}],
    [ok({"ok": True, "version": 5})],
)
case(
    "prompts_update_override",
    "prompts",
    "updateOverride",
    ["greeting", {"textContent": "Hey {{name}}", "model": "gpt-4o-mini", "commitMessage": "shorter"}],
    [ok({"ok": True})],
)
case("prompts_remove_override", "prompts", "removeOverride", ["greeting"], [ok({"ok": True})])
case("prompts_reactivate_override", "prompts", "reactivateOverride", ["greeting", 3], [ok({"ok": True})])
case(
    "prompts_slug_needing_encoding",
    "prompts",
    "versions",
    ["team/greeting v2"],
    [ok({"data": [PROMPT_VERSION]}, path_re=r"/api/v1/prompts/.*/versions")],
)
case(
    "prompts_request_options_honoured",
    "prompts",
    "list",
    [{"retry": {"maxAttempts": 1}}],
    [fail(500, {"error": "prompt store down"}, times=None)],
    client=FAST_CLIENT,
)

# auth ----------------------------------------------------------------------------------------

CLAIMS = ok({"sub": "env_1234", "pub": True}, method="POST", path="/api/v1/auth/jwt/claims")
MINTED = ok({"token": "tr_pat_server_minted_token_1234"}, method="POST", path="/api/v1/auth/public-tokens")
ADDITIONAL = {"accessToken": ADDITIONAL_KEY, "baseURL": "{{A}}"}

case("auth_create_public_token_default", "auth", "createPublicToken", [], [CLAIMS])
case(
    "auth_create_public_token_scopes",
    "auth",
    "createPublicToken",
    [
        {
            "scopes": {
                "read": {"runs": ["run_1234", "run_5678"], "tags": "user:1", "batch": "batch_1", "tasks": True},
                "write": {"waitpoints": "wp_1", "inputStreams": ["run_1"]},
                "trigger": {"tasks": "my-task"},
            },
            "expirationTime": "2h",
        }
    ],
    [CLAIMS],
)
case(
    "auth_create_public_token_scopes_all", "auth", "createPublicToken", [{"scopes": {"read": {"runs": True}}}], [CLAIMS]
)
case(
    "auth_create_public_token_date_expiry",
    "auth",
    "createPublicToken",
    [{"expirationTime": {"$date": "2030-01-02T03:04:05.678Z"}}],
    [CLAIMS],
)
case("auth_create_public_token_number_expiry", "auth", "createPublicToken", [{"expirationTime": 1900000000}], [CLAIMS])
case(
    "auth_create_public_token_realtime",
    "auth",
    "createPublicToken",
    [{"scopes": {"read": {"runs": "run_1"}}, "realtime": {"skipColumns": ["payload", "output"]}}],
    [CLAIMS],
)
case("auth_create_trigger_public_token", "auth", "createTriggerPublicToken", ["my-task"], [CLAIMS])
case(
    "auth_create_trigger_public_token_multi",
    "auth",
    "createTriggerPublicToken",
    [["task-a", "task-b"], {"multipleUse": True, "expirationTime": "10m"}],
    [CLAIMS],
)
case(
    "auth_create_trigger_public_token_realtime",
    "auth",
    "createTriggerPublicToken",
    ["my-task", {"multipleUse": False, "realtime": {"skipColumns": ["metadata"]}}],
    [CLAIMS],
)
case(
    "auth_create_batch_trigger_public_token",
    "auth",
    "createBatchTriggerPublicToken",
    ["my-task", {"expirationTime": "1h"}],
    [CLAIMS],
)
case(
    "auth_create_batch_trigger_public_token_multi",
    "auth",
    "createBatchTriggerPublicToken",
    [["task-a", "task-b"], {"multipleUse": True}],
    [CLAIMS],
)
case(
    "auth_additional_key_create_public_token",
    "auth",
    "createPublicToken",
    [
        {
            "scopes": {"read": {"runs": "run_1234"}},
            "expirationTime": {"$date": "2030-01-02T03:04:05.678Z"},
            "realtime": {"skipColumns": ["payload"]},
        }
    ],
    [MINTED],
    client=ADDITIONAL,
)
case(
    "auth_additional_key_create_public_token_string_expiry",
    "auth",
    "createPublicToken",
    [{"scopes": {"write": {"inputStreams": "run_1"}}, "expirationTime": "1h"}],
    [MINTED],
    client=ADDITIONAL,
)
case("auth_additional_key_create_public_token_no_scopes", "auth", "createPublicToken", [], [MINTED], client=ADDITIONAL)
case(
    "auth_additional_key_create_trigger_public_token",
    "auth",
    "createTriggerPublicToken",
    ["my-task", {"expirationTime": 1900000000}],
    [MINTED],
    client=ADDITIONAL,
)
case(
    "auth_additional_key_create_batch_trigger_public_token",
    "auth",
    "createBatchTriggerPublicToken",
    [["task-a", "task-b"], {"multipleUse": True, "realtime": {"skipColumns": ["output"]}}],
    [MINTED],
    client=ADDITIONAL,
)

# large payload offload -----------------------------------------------------------------------

case(
    "offload_trigger_object",
    "tasks",
    "trigger",
    ["my-task", {"blob": {"$repeat": {"char": "x", "count": 132096}}}],
    [*offload_answers(), trigger_ok()],
    group="offload",
)
case(
    "offload_trigger_string_at_threshold",
    "tasks",
    "trigger",
    ["my-task", {"$repeat": {"char": "y", "count": OFFLOAD_THRESHOLD}}],
    [*offload_answers(), trigger_ok()],
    group="offload",
)
case(
    "offload_trigger_string_below_threshold",
    "tasks",
    "trigger",
    ["my-task", {"$repeat": {"char": "y", "count": OFFLOAD_THRESHOLD - 1}}],
    [trigger_ok()],
    group="offload",
)
case(
    "offload_trigger_multibyte_at_threshold",
    "tasks",
    "trigger",
    ["my-task", {"$repeat": {"char": "\u00e9", "count": OFFLOAD_THRESHOLD // 2}}],
    [*offload_answers(), trigger_ok()],
    group="offload",
)
case(
    "offload_batch_trigger_item",
    "tasks",
    "batchTrigger",
    [
        "my-task",
        [
            {"payload": {"small": 1}},
            {"payload": {"blob": {"$repeat": {"char": "z", "count": 140000}}}, "options": {"tags": ["big"]}},
        ],
    ],
    [*offload_answers(), *batch_answers(2)],
    group="offload",
)
case(
    "offload_batch_by_id_item",
    "batch",
    "trigger",
    [[{"id": "task-a", "payload": {"$repeat": {"char": "q", "count": 131500}}}, {"id": "task-b", "payload": {"n": 2}}]],
    [*offload_answers(), *batch_answers(2)],
    group="offload",
)
case(
    "offload_presign_fails",
    "tasks",
    "trigger",
    ["my-task", {"blob": {"$repeat": {"char": "x", "count": 132096}}}],
    [fail(500, {"error": "store down"}, method="PUT", path_re=r"/api/v2/packets/.*", times=None)],
    group="offload",
    client=FAST_CLIENT,
)

# errors and retries --------------------------------------------------------------------------

case(
    "error_400",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(400, {"error": "Invalid request: payload too large", "code": "invalid_payload", "param": "payload"})],
    group="errors",
)
case(
    "error_400_nested_message",
    "runs",
    "cancel",
    ["run_1234"],
    [fail(400, {"error": {"message": "nested msg", "code": "c1"}})],
    group="errors",
)
case(
    "error_401_top_level_message_ignored",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(401, {"message": "Invalid API Key"})],
    group="errors",
)
case("error_403", "schedules", "retrieve", ["sched_1234"], [fail(403, {"error": "Forbidden"})], group="errors")
case("error_404", "runs", "retrieve", ["run_1234"], [fail(404, {"error": "Run not found"})], group="errors")
case(
    "error_409_retried",
    "runs",
    "cancel",
    ["run_1234"],
    [fail(409, {"error": "Conflict"}, times=None)],
    group="errors",
    client=FAST_CLIENT,
)
case(
    "error_422_trigger",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}],
    [fail(422, {"error": "Payload invalid"})],
    group="errors",
)
case("error_422_empty_body", "queues", "pause", ["queue_1234"], [fail(422, None)], group="errors")
case(
    "error_429_plain",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(429, {"error": "Too many requests"}, times=None)],
    group="errors",
    client=FAST_CLIENT,
)
case(
    "error_429_ratelimit_reset_then_success",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(429, {"error": "Too many requests"}, headers={"x-ratelimit-reset": "{{epoch_ms+300}}"}), ok(retrieved_run())],
    group="errors",
    client=FAST_CLIENT,
    compare_timing=True,
    timing_tolerance_ms=1100,  # both sides add up to 1 s of random jitter to the reset
)
case(
    "error_429_retry_after_generic_client",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(429, {"error": "Too many requests"}, headers={"retry-after": "1"}), ok(retrieved_run())],
    group="errors",
    client=FAST_CLIENT,
    compare_timing=True,
)
case(
    "error_500_x_should_retry_false",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(500, {"error": "do not retry"}, headers={"x-should-retry": "false"})],
    group="errors",
)
case(
    "error_400_x_should_retry_true",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(400, {"error": "try again"}, headers={"x-should-retry": "true"}), ok(retrieved_run())],
    group="errors",
    client=FAST_CLIENT,
)
case(
    "error_502_no_body",
    "deployments",
    "retrieveCurrent",
    [],
    [fail(502, None, times=None)],
    group="errors",
    client=FAST_CLIENT,
)
case(
    "error_503_text_body",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(503, text="Service Unavailable", headers={"content-type": "text/plain"}, times=None)],
    group="errors",
    client=FAST_CLIENT,
)
case(
    "error_405_plain_api_error",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(405, {"error": "Method not allowed"})],
    group="errors",
)
case(
    "error_dropped_connection",
    "runs",
    "retrieve",
    ["run_1234"],
    [{"drop": True, "times": None}],
    group="errors",
    client=FAST_CLIENT,
)
case(
    "error_schema_validation",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok({"id": "run_1234", "status": "NOT_A_STATUS"})],
    group="errors",
)
case(
    "error_client_retry_override",
    "runs",
    "retrieve",
    ["run_1234"],
    [fail(500, {"error": "again"}, times=None)],
    group="errors",
    client={**CLIENT, "requestOptions": {"retry": {"maxAttempts": 2, "minTimeoutInMs": 10, "maxTimeoutInMs": 10}}},
)
case(
    "error_per_call_retry_override",
    "runs",
    "retrieve",
    ["run_1234", {"retry": {"maxAttempts": 1}}],
    [fail(500, {"error": "once"}, times=None)],
    group="errors",
)
case(
    "error_per_call_over_client_retry",
    "runs",
    "retrieve",
    ["run_1234", {"retry": {"maxAttempts": 2}}],
    [fail(500, {"error": "twice"}, times=None)],
    group="errors",
    client=FAST_CLIENT,
)

# client options ------------------------------------------------------------------------------

case(
    "client_preview_branch",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}],
    [trigger_ok()],
    group="client",
    client={**CLIENT, "previewBranch": "signup-flow"},
)
case(
    "client_additional_headers",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={
        **CLIENT,
        "requestOptions": {
            "additionalHeaders": {
                "x-custom": "yes",
                "authorization": "Bearer ignored",
                "x-trigger-source": "custom-source",
            }
        },
    },
)
case(
    "client_realtime_streams_v1",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={**CLIENT, "future": {"v2RealtimeStreams": False}},
)
case(
    "client_realtime_streams_v1_env",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    env={"TRIGGER_V2_REALTIME_STREAMS": "false"},
)
case(
    "client_external_deployment_id",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}],
    [trigger_ok()],
    group="client",
    client={**CLIENT, "externalDeploymentId": "sha-abc"},
)
case(
    "client_external_deployment_id_per_call_wins",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}, {"externalDeploymentId": "per-call"}],
    [trigger_ok()],
    group="client",
    client={**CLIENT, "externalDeploymentId": "sha-abc"},
)
case(
    "client_inherit_context_env_version",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}],
    [trigger_ok()],
    group="client",
    client={**CLIENT, "inheritContext": True},
    env={"TRIGGER_VERSION": "20240909.9", "TRIGGER_EXTERNAL_DEPLOYMENT_ID": "env-ext-id"},
)
case(
    "client_no_inherit_context_env_version_ignored",
    "tasks",
    "trigger",
    ["my-task", {"n": 1}],
    [trigger_ok()],
    group="client",
    env={"TRIGGER_VERSION": "20240909.9", "TRIGGER_EXTERNAL_DEPLOYMENT_ID": "env-ext-id"},
)
case(
    "client_inherit_context_batch_env_version",
    "tasks",
    "batchTrigger",
    ["my-task", [{"payload": {"n": 0}}]],
    batch_answers(1),
    group="client",
    client={**CLIENT, "inheritContext": True},
    env={"TRIGGER_VERSION": "20240909.9"},
)
case(
    "client_env_secret_key_and_url",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={},
    env={"TRIGGER_SECRET_KEY": "tr_dev_from_env_12345", "TRIGGER_API_URL": "{{A}}"},
)
case(
    "client_env_access_token",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={"baseURL": "{{A}}"},
    env={"TRIGGER_ACCESS_TOKEN": "tr_dev_access_token_env"},
)
case(
    "client_env_preview_branch",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    env={"TRIGGER_PREVIEW_BRANCH": "branch-from-env"},
)
case(
    "client_env_vercel_branch",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    env={"VERCEL_GIT_COMMIT_REF": "vercel-branch"},
)
case(
    "client_env_dev_branch",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    env={"TRIGGER_DEV_BRANCH": "dev-branch"},
)
case(
    "client_env_dev_branch_default",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    env={"TRIGGER_DEV_BRANCH": "default"},
)
case(
    "client_explicit_branch_beats_env",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={**CLIENT, "previewBranch": "explicit"},
    env={"TRIGGER_PREVIEW_BRANCH": "from-env"},
)
case(
    "client_empty_branch_with_env",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={**CLIENT, "previewBranch": ""},
    env={"TRIGGER_PREVIEW_BRANCH": "from-env"},
)
case(
    "client_base_url_trailing_slash",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={"accessToken": TOKEN, "baseURL": "{{A}}/"},
)
case(
    "client_secret_key_alias",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={"secretKey": "tr_dev_secret_key_alias", "baseURL": "{{A}}"},
)
case("client_no_token", "runs", "retrieve", ["run_1234"], [], group="client", client={"baseURL": "{{A}}"})
case(
    "client_env_read_at_construction",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    client={},
    servers=["A", "B"],
    env={"TRIGGER_API_URL": "{{A}}", "TRIGGER_SECRET_KEY": "tr_dev_env_at_construction"},
    set_env={"TRIGGER_API_URL": "{{B}}", "TRIGGER_SECRET_KEY": "tr_dev_env_at_call_time"},
)
case(
    "client_configure_does_not_reach_instance",
    "runs",
    "retrieve",
    ["run_1234"],
    [ok(retrieved_run())],
    group="client",
    servers=["A", "B"],
    global_configure={"accessToken": "tr_dev_global_configure_key", "baseURL": "{{B}}"},
)

# Methods of the official TriggerClient this catalogue deliberately does not call.
NOT_COVERED = {
    "runs.subscribeToRun": "realtime (Electric shape stream): out of scope for now",
    "runs.subscribeToRunsWithTag": "realtime (Electric shape stream): out of scope for now",
    "runs.subscribeToBatch": "realtime (Electric shape stream): out of scope for now",
    "runs.fetchStream": "realtime (SSE stream): out of scope for now",
}


def methods_called() -> set[str]:
    return {f"{c['namespace']}.{c['method']}" for c in CASES}


def by_name() -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in CASES}


if __name__ == "__main__":
    json.dump({"cases": CASES, "not_covered": NOT_COVERED}, sys.stdout, indent=1)
    sys.stdout.write("\n")
