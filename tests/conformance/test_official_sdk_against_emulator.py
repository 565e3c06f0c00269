"""The official SDK against our emulator (``trigger_async.testing``): the reverse check.

Scenarios of the official ``TriggerClient`` (4.8.3, through the Node driver) run against a
``ThreadedEmulator``: every method the conformance catalogue calls is called at least once,
with ids taken from earlier steps (``$ref``) and data seeded through the emulator's controls
(deployments, prompts). Every step must succeed, and in particular every answer must pass
the official SDK's own response schemas (no ``ApiSchemaValidationError`` / zod error).

A step the emulator cannot serve yet fails with the official SDK's error in the message;
``EMULATOR_GAPS`` lists known gaps (strict expected failures, so closing one shows up).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from .catalogue import NOT_COVERED, methods_called
from .node import require_sdk, run_driver

ADDITIONAL_KEY = "tr_dev_sk_Ab12Cd34Ef56Gh78Ij90Kl12"
BIG = {"$repeat": {"char": "e", "count": 140000}}


def step(
    step_id: str, namespace: str, method: str, *args: Any, consume: str | None = None, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": step_id, "namespace": namespace, "method": method, "args": list(args)}
    if consume:
        item["consume"] = consume
    item.update(extra)
    return item


def ref(path: str) -> dict[str, str]:
    return {"$ref": path}


TRIGGER_OPTIONS = {
    "tags": ["emu", "official"],
    "idempotencyKey": "emu-key-1",
    "idempotencyKeyTTL": "1h",
    "metadata": {"m": 1},
    "machine": "small-1x",
    "ttl": "1h",
    "maxAttempts": 3,
    "maxDuration": 60,
    "priority": 5,
    "concurrencyKey": "ck",
    "region": "us-east-1",
}

SCENARIOS: dict[str, dict[str, Any]] = {
    "tasks": {
        "steps": [
            step(
                "trigger_object",
                "tasks",
                "trigger",
                "emu-task",
                {"hello": "world", "when": {"$date": "2030-01-01T00:00:00.000Z"}},
                TRIGGER_OPTIONS,
            ),
            step("trigger_text", "tasks", "trigger", "emu-task", "plain text"),
            step("trigger_no_payload", "tasks", "trigger", "emu-task"),
            step(
                "trigger_queue_delay",
                "tasks",
                "trigger",
                "emu-task",
                {"n": 1},
                {"queue": "emu-custom-queue", "delay": "1h", "tags": "single"},
            ),
            step("trigger_offloaded", "tasks", "trigger", "emu-task", {"blob": BIG}),
            step("retrieve_offloaded", "runs", "retrieve", ref("trigger_offloaded.id")),
            step(
                "batch_trigger",
                "tasks",
                "batchTrigger",
                "emu-task",
                [
                    {"payload": {"n": 0}},
                    {"payload": "x", "options": {"tags": ["b"], "delay": "5m"}},
                    {"payload": {"blob": BIG}},
                ],
                {"idempotencyKey": "emu-batch", "idempotencyKeyTTL": "1h"},
            ),
            step(
                "batch_trigger_iterable",
                "tasks",
                "batchTrigger",
                "emu-task",
                {"$async_iterable": [{"payload": {"n": 1}}, {"payload": {"n": 2}}]},
            ),
        ]
    },
    "batch": {
        "steps": [
            step(
                "trigger",
                "batch",
                "trigger",
                [{"id": "emu-a", "payload": {"n": 1}}, {"id": "emu-b", "payload": "two", "options": {"tags": ["t"]}}],
            ),
            step(
                "trigger_by_task",
                "batch",
                "triggerByTask",
                [{"task": {"id": "emu-a"}, "payload": {"n": 3}}],
                {"idempotencyKey": "emu-by-task"},
            ),
            step("retrieve", "batch", "retrieve", ref("trigger.batchId")),
        ]
    },
    "runs": {
        "steps": [
            step("seed", "tasks", "trigger", "emu-run-task", {"x": 1}),
            step("seed_delayed", "tasks", "trigger", "emu-run-task", {"x": 2}, {"delay": "1h"}),
            step(
                "list", "runs", "list", {"taskIdentifier": "emu-run-task", "limit": 10, "status": ["QUEUED", "DELAYED"]}
            ),
            step(
                "list_iterate",
                "runs",
                "list",
                {"limit": 1, "from": {"$date": "2020-01-01T00:00:00.000Z"}},
                consume="async_iterate",
            ),
            step("list_next_page", "runs", "list", {"limit": 1}, consume="next_page"),
            step("list_project", "runs", "list", "proj_emulator", {"env": ["dev"], "limit": 5}),
            step("retrieve", "runs", "retrieve", ref("seed.id")),
            step("reschedule", "runs", "reschedule", ref("seed_delayed.id"), {"delay": "2h"}),
            step("replay", "runs", "replay", ref("seed.id"), {"tags": ["replayed"], "payload": {"x": 9}}),
            step("replay_no_body", "runs", "replay", ref("seed.id")),
            step("cancel", "runs", "cancel", ref("seed.id")),
            step("poll", "runs", "poll", ref("seed.id"), {"pollIntervalMs": 10}),
        ]
    },
    "runs.bulk": {
        # The official SDK's runs.bulk reads the global configure(), not the client.
        "global_configure": {"accessToken": "{{KEY}}", "baseURL": "{{URL}}"},
        "steps": [
            step("seed", "tasks", "trigger", "emu-bulk-task", {"x": 1}),
            step(
                "cancel",
                "runs.bulk",
                "cancel",
                {"filter": {"taskIdentifier": ["emu-bulk-task"], "status": ["QUEUED"]}, "name": "emu cancel"},
            ),
            step("replay", "runs.bulk", "replay", {"runIds": [ref("seed.id")], "name": "emu replay"}),
            step("retrieve", "runs.bulk", "retrieve", ref("cancel.id")),
            step("list", "runs.bulk", "list", {"limit": 5}),
            step("poll", "runs.bulk", "poll", ref("cancel.id"), {"pollIntervalMs": 10}),
            # A new action is still PENDING until the next read of bulk actions, so it can be aborted.
            step("pending", "runs.bulk", "replay", {"runIds": [ref("seed.id")], "name": "emu pending"}),
            step("abort", "runs.bulk", "abort", ref("pending.id"), {"retry": {"maxAttempts": 1}}),
        ],
    },
    "schedules": {
        "steps": [
            step(
                "create",
                "schedules",
                "create",
                {
                    "task": "emu-sched-task",
                    "cron": "0 * * * *",
                    "deduplicationKey": "emu-1",
                    "externalId": "u1",
                    "timezone": "Europe/London",
                },
            ),
            step("retrieve", "schedules", "retrieve", ref("create.id")),
            step(
                "update",
                "schedules",
                "update",
                ref("create.id"),
                {"task": "emu-sched-task", "cron": "0 0 * * *", "externalId": "u2"},
            ),
            step("deactivate", "schedules", "deactivate", ref("create.id")),
            step("activate", "schedules", "activate", ref("create.id")),
            step("list", "schedules", "list", {"perPage": 10}),
            step("list_iterate", "schedules", "list", {"perPage": 1}, consume="async_iterate"),
            step("del", "schedules", "del", ref("create.id")),
        ]
    },
    "envvars": {
        "steps": [
            step(
                "create",
                "envvars",
                "create",
                "proj_emulator",
                "dev",
                {"name": "EMU_VAR", "value": "v1", "isSecret": False},
            ),
            step("list", "envvars", "list", "proj_emulator", "dev"),
            step("retrieve", "envvars", "retrieve", "proj_emulator", "dev", "EMU_VAR"),
            # The official update needs its bug shimmed (globalThis.name) to send anything.
            step(
                "update",
                "envvars",
                "update",
                "proj_emulator",
                "dev",
                "EMU_VAR",
                {"value": "v2"},
                shim={"global_name": "EMU_VAR"},
            ),
            step(
                "upload",
                "envvars",
                "upload",
                "proj_emulator",
                "dev",
                {"variables": {"A": "1", "B": "2"}, "override": True},
            ),
            step("del", "envvars", "del", "proj_emulator", "dev", "EMU_VAR"),
        ]
    },
    "queues": {
        "steps": [
            step("seed", "tasks", "trigger", "emu-q-task", {"q": 1}),
            step("list", "queues", "list"),
            step("list_paged", "queues", "list", {"page": 1, "perPage": 5}),
            step("retrieve_task", "queues", "retrieve", {"type": "task", "name": "emu-q-task"}),
            step("retrieve_id", "queues", "retrieve", ref("retrieve_task.id")),
            step("pause", "queues", "pause", {"type": "task", "name": "emu-q-task"}),
            step("resume", "queues", "resume", ref("retrieve_task.id")),
            step("override", "queues", "overrideConcurrencyLimit", {"type": "task", "name": "emu-q-task"}, 3),
            step("reset", "queues", "resetConcurrencyLimit", {"type": "task", "name": "emu-q-task"}),
        ]
    },
    "deployments": {
        "steps": [
            step("retrieve_current", "deployments", "retrieveCurrent"),
            step("list", "deployments", "list"),
            step("list_filtered", "deployments", "list", {"status": "DEPLOYED", "period": "30d", "limit": 5}),
        ]
    },
    "prompts": {
        "steps": [
            step("list", "prompts", "list"),
            step("versions", "prompts", "versions", "greeting"),
            step("resolve", "prompts", "resolve", "greeting", {"name": "Ada"}),
            step("resolve_version", "prompts", "resolve", "greeting", {"name": "Ada"}, {"version": 1}),
            step("promote", "prompts", "promote", "greeting", 1),
            step(
                "create_override",
                "prompts",
                "createOverride",
                "greeting",
                {"textContent": "Hi {{name}}!", "model": "gpt-4o", "commitMessage": "emu"},
            ),
            step("update_override", "prompts", "updateOverride", "greeting", {"textContent": "Hey {{name}}"}),
            step("resolve_override", "prompts", "resolve", "greeting", {"name": "Ada"}),
            step("remove_override", "prompts", "removeOverride", "greeting"),
            step("reactivate_override", "prompts", "reactivateOverride", "greeting", ref("create_override.version")),
        ]
    },
    "auth": {
        "steps": [
            step(
                "public_token",
                "auth",
                "createPublicToken",
                {"scopes": {"read": {"runs": True, "tags": "t"}}, "expirationTime": "1h"},
            ),
            step("public_token_default", "auth", "createPublicToken"),
            step("trigger_token", "auth", "createTriggerPublicToken", "emu-task"),
            step(
                "batch_trigger_token",
                "auth",
                "createBatchTriggerPublicToken",
                ["emu-a", "emu-b"],
                {"multipleUse": True},
            ),
        ]
    },
    "auth_additional_key": {
        "client": {"accessToken": ADDITIONAL_KEY, "baseURL": "{{URL}}"},
        "steps": [
            step(
                "public_token",
                "auth",
                "createPublicToken",
                {"scopes": {"read": {"runs": ["run_1"]}}, "expirationTime": {"$date": "{{TOMORROW}}"}},
            ),
            step("trigger_token", "auth", "createTriggerPublicToken", "emu-task", {"expirationTime": "1h"}),
            step(
                "batch_trigger_token",
                "auth",
                "createBatchTriggerPublicToken",
                ["emu-a"],
                {"multipleUse": True, "realtime": {"skipColumns": ["payload"]}},
            ),
        ],
    },
    "client_options": {
        "client": {
            "accessToken": "{{PREVIEW_KEY}}",
            "baseURL": "{{URL}}/",
            "previewBranch": "feature-x",
            "future": {"v2RealtimeStreams": False},
            "externalDeploymentId": "emu-ext",
            "requestOptions": {"additionalHeaders": {"x-emu": "1"}, "retry": {"maxAttempts": 2}},
        },
        "steps": [
            step("trigger", "tasks", "trigger", "emu-branch-task", {"b": 1}),
            step("list", "runs", "list", {"taskIdentifier": "emu-branch-task"}),
            step("envvars", "envvars", "list", "proj_emulator", "preview"),
        ],
    },
}

# Known gaps of the emulator: (scenario, step) → reason. Strict expected failures.
EMULATOR_GAPS: dict[tuple[str, str], str] = {}
# Steps whose correct answer is an error (schema-valid): (scenario, step) → (class, status, why).
EXPECTED_ERRORS: dict[tuple[str, str], tuple[str, int, str]] = {}

STEPS = [(name, item["id"]) for name, scenario in SCENARIOS.items() for item in scenario["steps"]]


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, replacement in values.items():
            value = value.replace(key, replacement)
        return value
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def emulator_results() -> Iterator[dict[str, dict[str, Any]]]:
    require_sdk()
    from trigger_async.testing import ThreadedEmulator

    with ThreadedEmulator() as emu:
        emu.add_deployment(emu.dev_key, "20240101.1")
        emu.add_deployment(emu.dev_key, "20240102.1")
        emu.add_prompt(
            emu.dev_key,
            "greeting",
            [
                {"textContent": "Hello {{name}}", "model": "gpt-4o-mini"},
                {"textContent": "Hello there, {{name}}", "model": "gpt-4o-mini", "config": {"temperature": 0.2}},
            ],
            description="Says hello",
            tags=["demo"],
            default_model="gpt-4o-mini",
        )
        tomorrow = (
            (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        values = {
            "{{URL}}": emu.url,
            "{{KEY}}": emu.dev_key,
            "{{PREVIEW_KEY}}": emu.preview_key,
            "{{TOMORROW}}": tomorrow,
        }
        cases = []
        for name, scenario in SCENARIOS.items():
            case = {
                "name": name,
                "client": _fill(scenario.get("client", {"accessToken": "{{KEY}}", "baseURL": "{{URL}}"}), values),
                "steps": _fill(scenario["steps"], values),
                "continue_on_error": True,
                "exclusive": True,  # one scenario at a time: the emulator's state is shared
            }
            if "global_configure" in scenario:
                case["global_configure"] = _fill(scenario["global_configure"], values)
            cases.append(case)
        output = run_driver({"concurrency": 1, "cases": cases})
    yield {name: {s["id"]: s for s in result["steps"]} for name, result in output["results"].items()}


def _is_schema_error(error: dict[str, Any]) -> bool:
    text = f"{error.get('class')} {error.get('name')} {error.get('message')}"
    return "ApiSchemaValidationError" in text or "ZodError" in text or "Validation error" in text


@pytest.mark.parametrize(("scenario", "step_id"), STEPS, ids=[f"{s}.{i}" for s, i in STEPS])
def test_official_sdk_works_against_the_emulator(
    scenario: str, step_id: str, emulator_results: dict[str, dict[str, Any]]
) -> None:
    result = emulator_results[scenario].get(step_id)
    assert result is not None, f"step {scenario}.{step_id} never ran (an earlier step broke the driver)"
    if (scenario, step_id) in EMULATOR_GAPS:
        assert not result["ok"], f"{scenario}.{step_id} works now: remove it from EMULATOR_GAPS"
        pytest.xfail(f"emulator gap: {EMULATOR_GAPS[(scenario, step_id)]}")
    if (scenario, step_id) in EXPECTED_ERRORS:
        name, status, _ = EXPECTED_ERRORS[(scenario, step_id)]
        assert not result["ok"] and (result["error"]["class"], result["error"].get("status")) == (name, status), result
        return
    if not result["ok"]:
        error = result["error"]
        kind = "response failed the official SDK's schema" if _is_schema_error(error) else "official SDK call failed"
        pytest.fail(
            f"{kind}: {error.get('class')}: {error.get('message')} (status {error.get('status')})", pytrace=False
        )


def test_every_catalogue_method_runs_against_the_emulator() -> None:
    called = {f"{item['namespace']}.{item['method']}" for scenario in SCENARIOS.values() for item in scenario["steps"]}
    assert methods_called() - called == set()
    assert not called & set(NOT_COVERED)
