"""tasks.trigger: the exact request for each option, and bad arguments refused up front."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from trigger_async import (
    AsyncTriggerClient,
    IdempotencyKey,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    RequestOptions,
    task_context,
)
from trigger_async._idempotency import create
from trigger_async._jwt import decode_unverified, verify_hs256

from .recorder import Answer, Recorder

KEY = "tr_dev_tasks_key_0000000000"


async def trigger(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], Any, Recorder]:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        handle = await client.tasks.trigger(*args, **kwargs)
    (seen,) = rec.seen
    return seen.json(), handle, rec


async def test_minimal_trigger_body_and_handle() -> None:
    _, handle, rec = await trigger("my-task", {"hello": "world", "when": datetime(2024, 5, 1, tzinfo=timezone.utc)})
    assert rec.seen[0].body == (
        b'{"payload":"{\\"json\\":{\\"hello\\":\\"world\\",\\"when\\":\\"2024-05-01T00:00:00.000Z\\"},'
        b'\\"meta\\":{\\"values\\":{\\"when\\":[\\"Date\\"]}}}","options":'
        b'{"payloadType":"application/super+json","payloadSize":96}}'
    )
    assert rec.seen[0].raw_path == "/api/v1/tasks/my-task/trigger"
    assert handle.id == "run_0001" and handle.task_identifier == "my-task" and handle.is_cached is None
    header, claims = decode_unverified(handle.public_access_token)
    assert header == {"alg": "HS256"}
    assert list(claims) == ["scopes", "iss", "aud", "exp", "iat"]
    assert claims["scopes"] == ["read:runs:run_0001"] and claims["exp"] - claims["iat"] == 3600
    assert verify_hs256(handle.public_access_token, KEY) == claims


async def test_every_option_in_the_official_order() -> None:
    body, _, _ = await trigger(
        "my-task",
        "just a string",
        queue="my-queue",
        concurrency=["lim_a"],
        concurrency_key="user_1",
        idempotency_key="my-key",
        idempotency_key_ttl="1h",
        delay=datetime(2030, 1, 1, tzinfo=timezone.utc),
        ttl="10m",
        tags=["a", "b"],
        max_attempts=3,
        metadata={"x": 1},
        max_duration=300,
        machine="small-2x",
        priority=10,
        region="us-east-1",
        version="20240101.1",
        external_deployment_id="sha123",
        debounce={"key": "d", "delay": "5s"},
    )
    assert json.dumps(body, separators=(",", ":")) == (
        '{"payload":"just a string","options":{"queue":{"name":"my-queue"},"concurrency":["lim_a"],'
        '"concurrencyKey":"user_1","payloadType":"text/plain","payloadSize":13,"idempotencyKey":'
        '"5e78863ed1ffb9fc66b1d61634b126bf8eb20267e7996297eeeb9b19c8c0f732","idempotencyKeyTTL":"1h",'
        '"idempotencyKeyOptions":{"key":"my-key","scope":"run"},"delay":"2030-01-01T00:00:00.000Z",'
        '"ttl":"10m","tags":["a","b"],"maxAttempts":3,"metadata":{"x":1},"maxDuration":300,'
        '"machine":"small-2x","priority":10,"region":"us-east-1","lockToVersion":"20240101.1",'
        '"externalDeploymentId":"sha123","debounce":{"key":"d","delay":"5s"}}}'
    )


async def test_no_payload_and_python_values() -> None:
    body, _, _ = await trigger("t")
    assert body == {"options": {"payloadType": "application/json", "payloadSize": 0}}
    body, _, _ = await trigger("t", None)
    assert body["payload"] == '{"json":null}'

    @attrs.frozen
    class Order:
        order_id: int
        created_at: datetime

    @dataclasses.dataclass
    class Line:
        sku_code: str

    body, _, _ = await trigger(
        "t",
        {"order": Order(7, datetime(2024, 1, 1, 12, tzinfo=timezone.utc)), "lines": [Line("A-1")]},
    )
    assert json.loads(body["payload"]) == {
        "json": {
            "order": {"order_id": 7, "created_at": "2024-01-01T12:00:00.000Z"},
            "lines": [{"sku_code": "A-1"}],
        },
        "meta": {"values": {"order.created_at": ["Date"]}},
    }


async def test_durations_and_tags_forms() -> None:
    body, _, _ = await trigger(
        "t",
        1,
        delay=timedelta(minutes=90),
        ttl=timedelta(hours=1),
        idempotency_key_ttl=timedelta(days=1),
        tags="single",
        max_duration=timedelta(seconds=30),
    )
    options = body["options"]
    assert options["delay"] == "5400s" and options["ttl"] == 3600
    assert options["idempotencyKeyTTL"] == "86400s" and options["tags"] == "single"
    assert options["maxDuration"] == 30


async def test_idempotency_key_forms() -> None:
    body, _, _ = await trigger("t", 1, idempotency_key=["user", "42", "welcome"])
    assert body["options"]["idempotencyKey"] == hashlib.sha256(b"user-42-welcome").hexdigest()
    assert body["options"]["idempotencyKeyOptions"] == {"key": "user-42-welcome", "scope": "run"}
    hashed = "a" * 64
    body, _, _ = await trigger("t", 1, idempotency_key=hashed)
    assert body["options"]["idempotencyKey"] == hashed and "idempotencyKeyOptions" not in body["options"]
    made = create("k", scope="global")
    assert isinstance(made, IdempotencyKey) and made == hashlib.sha256(b"k").hexdigest()
    body, _, _ = await trigger("t", 1, idempotency_key=made)
    assert body["options"]["idempotencyKeyOptions"] == {"key": "k", "scope": "global"}
    with task_context(run_id="run_p", attempt_number=2):
        assert create("k", scope="attempt") == hashlib.sha256(b"k-run_p-2").hexdigest()
        assert create("k") == hashlib.sha256(b"k-run_p").hexdigest()
        assert create("k", scope="global") == hashlib.sha256(b"k").hexdigest()


async def test_task_ids_are_encoded_as_one_path_segment() -> None:
    _, _, rec = await trigger("team/my task ü", 1)
    assert rec.seen[0].raw_path == "/api/v1/tasks/team%2Fmy%20task%20%C3%BC/trigger"


async def test_server_token_and_cached_flag_are_returned_verbatim() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script(
            "POST",
            "/api/v1/tasks/t/trigger",
            Answer(
                body={"id": "run_existing", "isCached": True},
                headers={"x-trigger-jwt": "server-token"},
            ),
        )
        handle = await client.tasks.trigger("t", 1)
    assert (handle.id, handle.is_cached, handle.public_access_token) == (
        "run_existing",
        True,
        "server-token",
    )


async def test_local_token_uses_server_claims_and_per_call_expiry() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script(
            "POST",
            "/api/v1/tasks/t/trigger",
            Answer(
                body={"id": "run_1"},
                headers={"x-trigger-jwt-claims": '{"sub":"env_1","pub":true,"scopes":["x"]}'},
            ),
        )
        handle = await client.tasks.trigger(
            "t", 1, request_options=RequestOptions(public_access_token={"expiration_time": "2h"})
        )
    claims = verify_hs256(handle.public_access_token, KEY)
    assert claims is not None
    assert list(claims) == ["sub", "pub", "scopes", "iss", "aud", "exp", "iat"]
    assert claims["scopes"] == ["read:runs:run_1"] and claims["exp"] - claims["iat"] == 7200


BAD_ARGUMENTS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"task": ""}, InvalidArgumentError, "task: must not be empty"),
    ({"task": 3}, InvalidArgumentTypeError, "task: expected a task id or a TaskRef, got int"),
    (
        {"task": "a\ud800"},
        ValueError,
        'Invalid task id "a\\ud800": it contains characters that cannot be encoded',
    ),
    ({"payload": {"when": datetime(2024, 1, 1)}}, ValueError, "payload.when: naive datetime"),
    ({"payload": {"b": b"x"}}, TypeError, "payload.b"),
    (
        {"concurrency": ["a", "b", "c"]},
        InvalidArgumentError,
        "The concurrency option accepts at most two named limits.",
    ),
    (
        {"concurrency": [""]},
        InvalidArgumentError,
        "The concurrency option takes limit names: non-empty strings.",
    ),
    (
        {"concurrency": "bad name"},
        InvalidArgumentError,
        'Concurrency limit "bad name": names are 1-122 characters',
    ),
    ({"delay": datetime(2030, 1, 1)}, ValueError, "delay"),
    (
        {"delay": timedelta(milliseconds=5)},
        InvalidArgumentError,
        "delay: must be a non-negative whole number",
    ),
    ({"delay": 5}, InvalidArgumentTypeError, "delay: expected a duration string"),
    ({"ttl": -1}, InvalidArgumentError, "ttl: must be >= 0"),
    ({"ttl": 1.5}, InvalidArgumentError, "ttl: must be a whole number"),
    ({"tags": ["x"] * 11}, InvalidArgumentError, "tags: a run has at most 10 tags, got 11"),
    ({"tags": ["y" * 129]}, InvalidArgumentError, "tags: a tag is at most 128 characters, got 129"),
    ({"tags": [1]}, InvalidArgumentTypeError, "tags: tags must be str, got int"),
    ({"max_attempts": 0}, InvalidArgumentError, "max_attempts: must be >= 1"),
    ({"max_attempts": "3"}, InvalidArgumentTypeError, "max_attempts: expected a number, got str"),
    ({"metadata": [1]}, InvalidArgumentTypeError, "metadata: expected a mapping, got list"),
    ({"metadata": {"when": datetime(2024, 1, 1)}}, ValueError, "metadata.when: naive datetime"),
    ({"metadata": {"blob": b"x"}}, TypeError, "metadata.blob"),
    ({"machine": "huge"}, InvalidArgumentError, "machine: must be one of"),
    (
        {"idempotency_key_ttl": "2 hours"},
        InvalidArgumentError,
        "idempotency_key_ttl: must look like",
    ),
    (
        {"idempotency_key": 5},
        InvalidArgumentTypeError,
        "idempotency_key: expected a str or a sequence of str",
    ),
    ({"debounce": {"key": "k"}}, InvalidArgumentError, "debounce.delay"),
    (
        {"request_options": {"retry": 1}},
        InvalidArgumentTypeError,
        "request_options: expected RequestOptions",
    ),
    ({"priority": float("nan")}, InvalidArgumentError, "priority: must be a finite number"),
]


@pytest.mark.parametrize(("arguments", "error", "message"), BAD_ARGUMENTS)
async def test_bad_arguments_raise_before_any_request(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    call = {"task": "t", "payload": {"a": 1}, **arguments}
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        with pytest.raises(error) as caught:
            await client.tasks.trigger(call.pop("task"), call.pop("payload"), **call)
    assert message in str(caught.value)
    assert rec.seen == []


async def test_metadata_is_plain_json_with_dates_as_iso_strings() -> None:
    body, _, _ = await trigger("t", 1, metadata={"at": datetime(2024, 1, 2, 3, 4, 5, 678900, tzinfo=timezone.utc)})
    assert body["options"]["metadata"] == {"at": "2024-01-02T03:04:05.678Z"}


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((5,), {}, InvalidArgumentTypeError, "key: expected a str or a sequence of str, got int"),
        (("",), {}, InvalidArgumentError, "key: must not be empty"),
        (([],), {}, InvalidArgumentError, "key: must not be an empty list"),
        ((["a", 1],), {}, InvalidArgumentTypeError, "key: parts must be str, got int"),
        (("k",), {"scope": "task"}, InvalidArgumentError, "scope: must be one of 'run', 'attempt', 'global'"),
    ],
)
def test_idempotency_keys_create_rejects_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    import trigger_async

    with pytest.raises(error) as caught:
        trigger_async.idempotency_keys.create(*args, **kwargs)
    assert message in str(caught.value)


def test_module_level_namespaces_mirror_the_instance_ones() -> None:
    import trigger_async

    client = AsyncTriggerClient(access_token=KEY)
    for name in ("tasks", "runs", "batch", "schedules", "envvars", "queues", "deployments", "prompts", "auth"):
        instance = {m for m in dir(getattr(client, name)) if not m.startswith("_")}
        module = {m for m in dir(getattr(trigger_async, name)) if not m.startswith("_")}
        assert instance <= module, name
    assert {m for m in dir(trigger_async.schedules) if not m.startswith("_")} - {
        m for m in dir(client.schedules) if not m.startswith("_")
    } == {"timezones"}
    assert {"with_auth", "configure"} <= set(dir(trigger_async.auth))
    assert not hasattr(client.auth, "with_auth")
