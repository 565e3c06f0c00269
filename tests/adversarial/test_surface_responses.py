"""2xx bodies that do not match their model must raise ApiSchemaValidationError, and typed
(TaskRef) outputs that do not match the output type must not be coerced into other values.

The one cattrs converter coerces with str()/bool()/int()/list(): None -> "None",
"false" -> True, 1.7 -> 1, "UTC" -> ["U", "T", "C"], {} -> [].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

import trigger_async
from tests.recorder import Answer, Recorder, run_body
from trigger_async import (
    ApiSchemaValidationError,
    AsyncTriggerClient,
    RequestOptions,
    RetryOptions,
    TaskRef,
)

ROOT = "tr_dev_surface_responses"
ADDITIONAL = "tr_dev_sk_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
ONCE = RequestOptions(retry=RetryOptions(max_attempts=1))

Call = Callable[[AsyncTriggerClient, AsyncTriggerClient], Awaitable[Any]]
CASES: list[tuple[str, str, str, Any, Call]] = [
    (
        "minted-token-null",
        "POST",
        "/api/v1/auth/public-tokens",
        {"token": None},  # returned today as the token "None"
        lambda root, additional: additional.auth.create_public_token(scopes={"read": {"runs": "run_1"}}),
    ),
    (
        "bulk-id-null",
        "POST",
        "/api/v1/bulk-actions",
        {"id": None},  # returned today as the bulk action id "None"
        lambda root, additional: root.runs.bulk.cancel(run_ids=["run_1"]),
    ),
    (
        "schedule-delete-id-object",
        "DELETE",
        "/api/v1/schedules/sched_1",
        {"id": {"nested": 1}},  # returned today as "{'nested': 1}"
        lambda root, additional: root.schedules.delete("sched_1"),
    ),
    (
        "envvar-success-string",
        "PUT",
        "/api/v1/projects/proj_1/envvars/dev/A",
        {"success": "false"},  # returned today as True
        lambda root, additional: root.envvars.update("proj_1", "dev", "A", value="v"),
    ),
    (
        "prompts-data-object",
        "GET",
        "/api/v1/prompts",
        {"data": {}},  # returned today as []
        lambda root, additional: root.prompts.list(),
    ),
    (
        "queue-paused-string",
        "GET",
        "/api/v1/queues/queue_1",
        {"id": "queue_1", "name": "q", "type": "task", "running": 0, "queued": 0, "paused": "false"},
        lambda root, additional: root.queues.retrieve("queue_1"),
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "call"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_wrong_typed_body_is_a_schema_error(method: str, path: str, body: Any, call: Call) -> None:
    async with Recorder() as rec:
        rec.script(method, path, Answer(200, body))
        async with AsyncTriggerClient(access_token=ROOT, base_url=rec.url, request_options=ONCE) as root:
            async with AsyncTriggerClient(access_token=ADDITIONAL, base_url=rec.url, request_options=ONCE) as extra:
                with pytest.raises(ApiSchemaValidationError):
                    result = await call(root, extra)
                    print("accepted as", repr(result))


async def test_timezones_string_is_a_schema_error() -> None:
    # Today: ["U", "T", "C"].
    async with Recorder() as rec:
        rec.script("GET", "/api/v1/timezones", Answer(200, {"timezones": "UTC"}))
        trigger_async.configure(base_url=rec.url)
        with pytest.raises(ApiSchemaValidationError):
            await trigger_async.schedules.timezones()
        await trigger_async.aclose()


@dataclasses.dataclass
class Summary:
    count: int
    tags: list[str]


@attrs.frozen
class Receipt:
    order_id: int


@pytest.mark.parametrize(
    ("output_type", "output"),
    [
        (Summary, {"count": 1, "tags": "abc"}),  # today Summary(count=1, tags=["a", "b", "c"])
        (Summary, {"count": 1, "tags": [1, {"a": 1}]}),  # today tags=["1", "{'a': 1}"]
        (Summary, {"count": 1.7, "tags": []}),  # today count=1
        (Receipt, {"order_id": True}),  # today Receipt(order_id=1)
    ],
    ids=["str-as-list", "objects-as-str", "float-as-int", "bool-as-int"],
)
async def test_taskref_output_that_does_not_match_is_not_coerced(output_type: type, output: Any) -> None:
    ref: TaskRef[dict[str, Any], Any] = TaskRef("summarise", output_type=output_type)
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        handle = await client.tasks.trigger(ref, {})
        rec.script("GET", f"/api/v3/runs/{handle.id}", Answer(body=run_body(handle.id, output=output)))
        with pytest.raises(ApiSchemaValidationError):
            run = await client.runs.retrieve(handle)
            print("accepted as", run.output)


async def test_poll_of_a_typed_handle_types_the_output_like_retrieve() -> None:
    # runs.retrieve(handle) builds Receipt; runs.poll(handle) returns the raw dict.
    ref: TaskRef[dict[str, Any], Receipt] = TaskRef("process-order", output_type=Receipt)
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        handle = await client.tasks.trigger(ref, {})
        rec.script("GET", f"/api/v3/runs/{handle.id}", Answer(body=run_body(handle.id, output={"order_id": 7})))
        run = await client.runs.poll(handle, poll_interval_ms=1)
    assert run.output == Receipt(order_id=7)
