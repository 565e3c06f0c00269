"""Every namespace through the emulator: what a user sees against real server semantics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from trigger_async import (
    AsyncTriggerClient,
    BadRequestError,
    BatchItem,
    BatchTriggerError,
    NotFoundError,
    QueueRef,
    UnprocessableEntityError,
)
from trigger_async._jwt import decode_unverified
from trigger_async.testing import Emulator


async def test_batches_and_large_payloads_end_to_end() -> None:
    async with Emulator() as emu, AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url) as client:
        handle = await client.tasks.batch_trigger(
            "send-email", [{"payload": {"n": 1}}, BatchItem({"n": 2}, tags=["vip"])], idempotency_key="b1"
        )
        batch = await client.batch.retrieve(handle.batch_id)
        assert (batch.run_count, len(batch.runs)) == (2, 2)
        second = await client.runs.retrieve(batch.runs[1])
        assert (second.payload, second.tags, second.batch_id) == ({"n": 2}, ["vip"], handle.batch_id)
        with pytest.raises(BatchTriggerError) as caught:
            await client.tasks.batch_trigger("send-email", [{"payload": 1}], idempotency_key="b1")
        assert caught.value.phase == "create" and caught.value.api_error is not None
        assert caught.value.api_error.status == 422
        mixed = await client.batch.trigger([{"id": "a", "payload": 1}, {"id": "b", "payload": 2}])
        assert mixed.run_count == 2

        big = {"blob": "x" * 140_000}
        run_handle = await client.tasks.trigger("big", big)
        run = await client.runs.retrieve(run_handle)
        assert run.payload == big  # stored through the packet store, read back via its URL
        assert any(r.path.startswith("/api/v2/packets/") for r in emu.requests)


async def test_schedules_envvars_queues_end_to_end() -> None:
    async with Emulator() as emu, AsyncTriggerClient(access_token=emu.prod_key, base_url=emu.url) as client:
        created = await client.schedules.create(
            task="daily-report", cron="0 9 * * 1-5", deduplication_key="user-42", timezone="Europe/London"
        )
        assert created.next_run is not None and created.next_run > datetime.now(timezone.utc)
        again = await client.schedules.create(task="daily-report", cron="0 10 * * *", deduplication_key="user-42")
        assert again.id == created.id and again.generator.expression == "0 10 * * *"
        assert (await client.schedules.retrieve("user-42")).id == created.id
        assert (await client.schedules.deactivate(created.id)).active is False
        assert [s.id async for s in client.schedules.list(per_page=1)] == [created.id]
        with pytest.raises(UnprocessableEntityError, match="Invalid IANA timezone"):
            await client.schedules.create(task="t", cron="0 0 * * *", deduplication_key="k", timezone="Mars/Base")
        assert await client.schedules.delete(created.id) == created.id

        assert await client.envvars.create("proj_emulator", "prod", name="API_URL", value="https://x")
        assert await client.envvars.upload("proj_emulator", "prod", variables={"A": "1"}, is_secret=True)
        assert await client.envvars.update("proj_emulator", "prod", "API_URL", value="https://y")
        names = {v.name: v for v in await client.envvars.list("proj_emulator", "prod")}
        assert names["API_URL"].value == "https://y" and names["A"].value == "<redacted>"
        with pytest.raises(BadRequestError, match="Some of the variables are already set"):
            await client.envvars.upload("proj_emulator", "prod", variables={"A": "2"})

        await client.tasks.trigger("send-email", 1, queue="shared")
        queue = await client.queues.retrieve(QueueRef("task", "send-email"))
        assert (queue.name, queue.type, queue.queued) == ("send-email", "task", 0)
        paused = await client.queues.pause(QueueRef("custom", "shared"))
        assert (paused.paused, paused.queued) == (True, 1)
        limited = await client.queues.override_concurrency_limit(queue.id, 5)
        assert limited.concurrency_limit == 5
        with pytest.raises(BadRequestError, match="cannot exceed the environment limit"):
            await client.queues.override_concurrency_limit(queue.id, 500)
        await client.queues.reset_concurrency_limit(queue.id)
        with pytest.raises(BadRequestError, match="Queue is not overridden"):
            await client.queues.reset_concurrency_limit(queue.id)
        assert {(q.type, q.name) async for q in client.queues.list()} == {("task", "send-email"), ("custom", "shared")}


async def test_deployments_prompts_tokens_bulk_end_to_end() -> None:
    async with Emulator() as emu, AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url) as client:
        with pytest.raises(NotFoundError):
            await client.deployments.retrieve_current()
        emu.add_deployment(emu.dev_key, "20260101.1")
        emu.add_deployment(emu.dev_key, "20260102.1")
        assert (await client.deployments.retrieve_current()).version == "20260102.1"
        assert [d.version async for d in client.deployments.list(limit=5)] == ["20260102.1", "20260101.1"]

        emu.add_prompt(emu.dev_key, "greeting", "Hello {{name}}!")
        resolved = await client.prompts.resolve("greeting", {"name": "Ada"})
        assert resolved.text == "Hello Ada!"
        override = await client.prompts.create_override("greeting", text_content="Hi {{name}}")
        assert (await client.prompts.resolve("greeting", {"name": "Bo"})).text == "Hi Bo"
        assert await client.prompts.remove_override("greeting")
        assert override.version >= 2 and [p.slug for p in await client.prompts.list()] == ["greeting"]

        token = await client.auth.create_public_token(
            scopes={"read": {"runs": True}}, expiration_time=timedelta(hours=1)
        )
        reader = AsyncTriggerClient(access_token=token, base_url=emu.url)
        run = await client.tasks.trigger("t", 1)
        assert (await reader.runs.retrieve(run)).id == run.id
        await reader.aclose()
        assert decode_unverified(token)[1]["scopes"] == ["read:runs"]

        for _ in range(2):
            await client.tasks.trigger("cleanup", 1)
        action_id = await client.runs.bulk.cancel(filter={"taskIdentifier": ["cleanup"]}, name="tidy")
        action = await client.runs.bulk.poll(action_id, poll_interval_ms=10)
        assert (action.status, action.counts.total, action.name) == ("COMPLETED", 2, "tidy")
        statuses = {r.status async for r in client.runs.list(task_identifier="cleanup")}
        assert statuses == {"CANCELED"}
