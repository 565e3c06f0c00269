"""Batches, large payloads and typed task handles, over loopback HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest

from trigger_async import (
    AsyncTriggerClient,
    BatchItem,
    BatchTriggerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    RequestOptions,
    RetryOptions,
    TaskRef,
)

from .recorder import Answer, Recorder, now_ms_plus, run_body

KEY = "tr_dev_batches_key_00000000000"
CREATED = {"id": "batch_1", "runCount": 3, "isCached": False}
SEALED = {"id": "batch_1", "itemsAccepted": 3, "itemsDeduplicated": 0, "sealed": True}


def client_for(rec: Recorder, **kwargs: Any) -> AsyncTriggerClient:
    return AsyncTriggerClient(access_token=KEY, base_url=rec.url, **kwargs)


async def test_tasks_batch_trigger_wire_matches_the_official_capture() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, {**CREATED, "runCount": 2}))
        rec.script("POST", "/api/v3/batches/batch_1/items", Answer(200, SEALED))
        handle = await client.tasks.batch_trigger(
            "my-task",
            [
                {"payload": {"a": 1}},
                BatchItem("str", tags=["t"], idempotency_key="item-key", delay="5m", queue="q1"),
            ],
            idempotency_key="batch-key",
            idempotency_key_ttl="2h",
        )
    create, items = rec.seen
    assert create.body.decode() == (
        '{"runCount":2,"taskIdentifiers":["my-task"],"idempotencyKey":'
        '"9d8db2a67d146638c07fbb5652ad998062e2e2fa857eef026c40c444b07e3872",'
        '"idempotencyKeyOptions":{"key":"batch-key","scope":"run"}}'
    )
    assert items.headers["content-type"] == "application/x-ndjson"
    assert "x-trigger-request-idempotency-key" not in items.headers
    assert items.body.decode() == (
        '{"index":0,"task":"my-task","payload":"{\\"json\\":{\\"a\\":1}}","options":{"payloadType":'
        '"application/super+json","idempotencyKey":"0877fad4ca7ecd0015e9d4edf73ce492bd66e2ceb520d3c1371e06b4bce178cc",'
        '"idempotencyKeyTTL":"2h","payloadSize":16}}\n'
        '{"index":1,"task":"my-task","payload":"str","options":{"queue":{"name":"q1"},"payloadType":"text/plain",'
        '"delay":"5m","tags":["t"],"idempotencyKey":"84e0e2e893febb737a0fee0c89d53f4bb7fcb44c57cdf3d32ce7363f5d597760",'
        '"idempotencyKeyTTL":"2h","idempotencyKeyOptions":{"key":"item-key","scope":"run"},"payloadSize":3}}\n'
    )
    assert (handle.batch_id, handle.run_count) == ("batch_1", 2)


async def test_batch_trigger_by_id_and_by_task_sort_tasks_and_send_no_key_options() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, CREATED), Answer(202, {**CREATED, "runCount": 2}))
        rec.script("POST", "/api/v3/batches/batch_1/items", Answer(200, SEALED), Answer(200, SEALED))

        async def items() -> AsyncIterator[dict[str, Any]]:
            yield {"id": "task-b", "payload": 1, "options": {"idempotency_key": "own"}}
            yield {"id": "task-a", "payload": 2}
            yield {"id": "task-b", "payload": 3}

        await client.batch.trigger(items(), idempotency_key="batch-key")
        ref: TaskRef[dict[str, int], Any] = TaskRef("task-a")
        await client.batch.trigger_by_task([{"task": ref, "payload": {"n": 1}}, BatchItem({"n": 2}, task="task-b")])
    create, stream, create2, _ = rec.seen
    assert create.json() == {
        "runCount": 3,
        "taskIdentifiers": ["task-a", "task-b"],
        "idempotencyKey": hashlib.sha256(b"batch-key").hexdigest(),
    }
    lines = [json.loads(line) for line in stream.body.decode().splitlines()]
    assert [line["task"] for line in lines] == ["task-b", "task-a", "task-b"]
    assert lines[0]["options"]["idempotencyKey"] == hashlib.sha256(b"own").hexdigest()
    assert "idempotencyKeyOptions" not in lines[0]["options"]
    assert lines[1]["options"]["idempotencyKey"] == hashlib.sha256(b"batch-key-1").hexdigest()
    assert create2.json() == {"runCount": 2, "taskIdentifiers": ["task-a", "task-b"]}


async def test_b10_s1_stream_failure_names_the_phase_and_batch() -> None:
    options = RequestOptions(retry=RetryOptions(max_attempts=2, min_timeout=0.01))
    async with Recorder() as rec, client_for(rec, request_options=options) as client:
        rec.script("POST", "/api/v3/batches", Answer(200, CREATED))
        rec.script("POST", "/api/v3/batches/batch_1/items", Answer(500, {"error": "ingest down"}), repeat=True)
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger([{"id": "t", "payload": i} for i in range(3)], request_options=options)
    error = caught.value
    assert (error.phase, error.batch_id, error.item_count, error.is_rate_limited) == ("stream", "batch_1", 3, False)
    assert error.api_error is not None and error.api_error.status == 500
    assert "ingest down" in str(error)
    assert str(error) == "Failed to stream items for batch batch_1 (3 items): ingest down"


async def test_b10_s2_rate_limited_create() -> None:
    options = RequestOptions(retry=RetryOptions(max_attempts=2, min_timeout=0.01))
    async with Recorder() as rec, client_for(rec, request_options=options) as client:
        rec.script(
            "POST",
            "/api/v3/batches",
            Answer(429, {"error": "slow down"}, {"x-ratelimit-reset": now_ms_plus(50)}),
            repeat=True,
        )
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger([{"id": "t", "payload": i} for i in range(3)])
    error = caught.value
    assert (error.phase, error.batch_id, error.item_count, error.is_rate_limited) == ("create", None, 3, True)
    assert isinstance(error.retry_after_ms, int) and 0 <= error.retry_after_ms <= 2050
    assert len(rec.seen) == 2
    assert str(error).startswith("Failed to create batch with 3 items: Rate limit exceeded")


async def test_b10_s3_cached_batch_skips_the_items_stream() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("POST", "/api/v3/batches", Answer(200, {**CREATED, "isCached": True}))
        handle = await client.batch.trigger([{"id": "t", "payload": i} for i in range(3)])
    assert (handle.batch_id, handle.run_count) == ("batch_1", 3)
    assert len(rec.seen) == 1


async def test_unsealed_stream_is_resent_whole_then_raises() -> None:
    options = RequestOptions(retry=RetryOptions(max_attempts=2, min_timeout=0.01, max_timeout=0.02))
    unsealed = {**SEALED, "sealed": False, "itemsAccepted": 2, "enqueuedCount": 2, "expectedCount": 3}
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("POST", "/api/v3/batches", Answer(200, CREATED), Answer(200, CREATED))
        rec.script("POST", "/api/v3/batches/batch_1/items", Answer(200, unsealed), Answer(200, SEALED))
        await client.batch.trigger([{"id": "t", "payload": i} for i in range(3)], request_options=options)
        rec.script("POST", "/api/v3/batches/batch_1/items", Answer(200, unsealed), repeat=True)
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger([{"id": "t", "payload": i} for i in range(3)], request_options=options)
    streams = rec.requests_to("/api/v3/batches/batch_1/items")
    assert len(streams) == 4 and streams[0].body == streams[1].body
    assert str(caught.value) == (
        "Failed to stream items for batch batch_1 (3 items): Batch batch_1 was not sealed: "
        "received 2 of 3 expected items (accepted: 2, deduplicated: 0)"
    )


async def test_b08_large_payloads_go_through_the_packet_store() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script_prefix(
            "PUT",
            "/api/v2/packets/trigger/packet_",
            Answer(200, {"presignedUrl": f"{rec.url}/store/upload", "storagePath": "trigger/p/payload.json"}),
        )
        rec.script("PUT", "/store/upload", Answer(200, None))
        # 131072 bytes once serialized: the threshold is inclusive.
        await client.tasks.trigger("big", {"blob": "x" * (131072 - len('{"json":{"blob":""}}'))})
    presign_call, upload, trigger = rec.seen
    assert presign_call.method == "PUT" and presign_call.raw_path.startswith("/api/v2/packets/trigger%2Fpacket_")
    assert presign_call.raw_path.endswith("%2Fpayload.json") and presign_call.body == b""
    assert upload.raw_path == "/store/upload" and "authorization" not in upload.headers
    assert upload.headers["content-type"] == "application/super+json"
    assert len(upload.body) == 131072
    assert trigger.json() == {
        "payload": "trigger/p/payload.json",
        "options": {"payloadType": "application/store", "payloadSize": 131072},
    }


async def test_a_payload_one_byte_under_the_threshold_is_sent_inline() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        await client.tasks.trigger("big", {"blob": "x" * (131071 - len('{"json":{"blob":""}}'))})
    (trigger,) = rec.seen
    assert trigger.json()["options"]["payloadSize"] == 131071


@attrs.frozen
class Receipt:
    order_id: int
    total_cents: int


async def test_task_refs_type_the_output() -> None:
    ref = TaskRef[dict[str, int], Receipt]("process-order", output_type=Receipt)
    async with Recorder() as rec, client_for(rec) as client:
        handle = await client.tasks.trigger(ref, {"order_id": 7})
        rec.script(
            "GET",
            f"/api/v3/runs/{handle.id}",
            Answer(body=run_body(handle.id, output={"order_id": 7, "total_cents": 990})),
        )
        run = await client.runs.retrieve(handle)
        untyped = await client.runs.retrieve(handle.id)
    assert run.output == Receipt(order_id=7, total_cents=990)
    assert untyped.output is None or isinstance(untyped.output, dict)
    assert rec.seen[0].raw_path == "/api/v1/tasks/process-order/trigger"


BAD_BATCHES: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    ("batch.trigger", ([],), {}, InvalidArgumentError, "items: a batch needs at least one item"),
    ("batch.trigger", ("abc",), {}, InvalidArgumentTypeError, "items: expected a sequence"),
    ("batch.trigger", ([{"payload": 1}],), {}, InvalidArgumentError, "items[0]: needs a task ('id')"),
    (
        "batch.trigger",
        ([{"id": "t", "payload": 1, "extra": 2}],),
        {},
        InvalidArgumentError,
        "items[0]: unknown key(s) extra",
    ),
    (
        "batch.trigger",
        ([{"id": "t", "options": {"tagz": 1}}],),
        {},
        InvalidArgumentError,
        "items[0].options: unknown option(s) tagz",
    ),
    (
        "batch.trigger",
        ([{"id": "t", "options": {"max_attempts": 0}}],),
        {},
        InvalidArgumentError,
        "items[0].max_attempts: must be >= 1",
    ),
    (
        "batch.trigger",
        ([{"id": "t", "payload": 1}],),
        {"idempotency_key_ttl": "soon"},
        InvalidArgumentError,
        "idempotency_key_ttl",
    ),
    (
        "batch.trigger_by_task",
        ([{"task": 5, "payload": 1}],),
        {},
        InvalidArgumentTypeError,
        "task: expected a task id or a TaskRef",
    ),
    (
        "tasks.batch_trigger",
        ("t", [7]),
        {},
        InvalidArgumentTypeError,
        "items[0]: expected a BatchItem or a dict, got int",
    ),
    ("batch.retrieve", ("",), {}, InvalidArgumentError, "batch_id: must be a non-empty str"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "error", "message"), BAD_BATCHES)
async def test_bad_batch_arguments_raise_before_any_request(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with Recorder() as rec, client_for(rec) as client:
        namespace, name = method.split(".")
        with pytest.raises(error) as caught:
            await getattr(getattr(client, namespace), name)(*args, **kwargs)
    assert message in str(caught.value)
    assert rec.seen == []
