"""The typed option classes send exactly what the equivalent official-name dicts send."""

from __future__ import annotations

from datetime import datetime, timezone

import attrs

from trigger_async import (
    AsyncTriggerClient,
    Debounce,
    QueueRef,
    RealtimeOptions,
    RunFilter,
    Scopes,
    TaskRef,
)
from trigger_async._jwt import verify_hs256
from trigger_async.testing import Emulator

from .recorder import Answer, Recorder

KEY = "tr_dev_options_key_000000000"


async def test_typed_options_equal_their_dict_forms() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v1/bulk-actions", Answer(body={"id": "bulk_1"}), Answer(body={"id": "bulk_2"}))
        rec.script(
            "POST",
            "/api/v1/auth/jwt/claims",
            Answer(body={"sub": "env_1", "pub": True}),
            Answer(body={"sub": "env_1", "pub": True}),
        )
        await client.tasks.trigger("t", 1, debounce=Debounce(key="d", delay="5s", max_delay="1m"))
        await client.tasks.trigger("t", 1, debounce={"key": "d", "delay": "5s", "maxDelay": "1m"})
        when = datetime(2024, 1, 1, tzinfo=timezone.utc)
        await client.runs.bulk.cancel(
            filter=RunFilter(status=["FAILED"], task_identifier="a", from_=when, queue=QueueRef("task", "a"))
        )
        await client.runs.bulk.cancel(
            filter={"status": ["FAILED"], "taskIdentifier": "a", "from": when, "queue": {"type": "task", "name": "a"}}
        )
        typed = await client.auth.create_public_token(
            scopes=Scopes(read={"runs": ["run_1"]}, batch_trigger={"tasks": "t"}),
            realtime=RealtimeOptions(skip_columns=["payload"]),
        )
        plain = await client.auth.create_public_token(
            scopes={"read": {"runs": ["run_1"]}, "batchTrigger": {"tasks": "t"}}, realtime={"skipColumns": ["payload"]}
        )
    first, second, bulk_typed, bulk_plain = (s.body for s in rec.seen[:4])
    assert first == second
    assert b'"debounce":{"key":"d","delay":"5s","maxDelay":"1m"}' in first
    assert (
        bulk_typed
        == bulk_plain
        == (
            b'{"filter":{"status":["FAILED"],"taskIdentifier":"a","from":"2024-01-01T00:00:00.000Z",'
            b'"queue":{"type":"task","name":"a"}},"action":"cancel"}'
        )
    )
    typed_claims, plain_claims = verify_hs256(typed, KEY), verify_hs256(plain, KEY)
    assert typed_claims is not None and plain_claims is not None
    assert typed_claims["scopes"] == plain_claims["scopes"] == ["read:runs:run_1", "batchTrigger:tasks:t"]
    assert typed_claims["realtime"] == plain_claims["realtime"] == {"skipColumns": ["payload"]}


@attrs.frozen
class Receipt:
    total_cents: int


async def test_subscriptions_type_task_ref_outputs() -> None:
    ref = TaskRef[dict[str, int], Receipt]("checkout", output_type=Receipt)
    async with Emulator() as emu, AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url) as client:
        handle = await client.tasks.trigger(ref, {"n": 1})
        emu.start_run(handle.id)
        emu.complete_run(handle.id, output={"total_cents": 990})
        runs = [run async for run in client.runs.subscribe_to_run(handle)]
    assert runs[-1].output == Receipt(total_cents=990)
