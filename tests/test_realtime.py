"""Realtime subscriptions and streams through the emulator (long-polls held and woken)."""

from __future__ import annotations

import asyncio

import pytest

from trigger_async import AsyncTriggerClient, InvalidArgumentError, NotFoundError
from trigger_async.testing import Emulator

from .recorder import Answer, Recorder


async def test_subscribe_to_run_follows_the_run_until_it_finishes() -> None:
    async with (
        Emulator(realtime_poll_timeout=0.5) as emu,
        AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url) as client,
    ):
        handle = await client.tasks.trigger("hello", {"n": 1}, tags=["t1"])
        seen: list[str] = []
        changed = asyncio.Event()

        async def follow() -> None:
            async for run in client.runs.subscribe_to_run(handle):
                seen.append(run.status)
                changed.set()

        async def next_status() -> None:
            # Move the run only once the subscription has seen its current state.
            await asyncio.wait_for(changed.wait(), 5)
            changed.clear()

        follower = asyncio.create_task(follow())
        await next_status()
        emu.start_run(handle.id)
        await next_status()
        emu.complete_run(handle.id, output={"ok": True})
        await asyncio.wait_for(follower, 5)
    assert seen == ["QUEUED", "EXECUTING", "COMPLETED"]
    shape_requests = [r for r in emu.requests if r.path.startswith("/realtime/")]
    assert shape_requests[0].query_string == "log=full&offset=-1"
    assert "live=true" in shape_requests[-1].query_string
    assert {k: shape_requests[0].headers[k] for k in ("x-trigger-electric-version", "x-trigger-api-version")} == {
        "x-trigger-electric-version": "1.0.0-beta.1",
        "x-trigger-api-version": "2025-07-16",
    }
    assert "x-trigger-source" not in shape_requests[0].headers


async def test_final_run_fields_and_tag_and_batch_subscriptions() -> None:
    async with (
        Emulator(realtime_poll_timeout=0.3) as emu,
        AsyncTriggerClient(access_token=emu.prod_key, base_url=emu.url) as client,
    ):
        handle = await client.tasks.trigger("hello", {"n": 1}, tags=["user:1"])
        emu.start_run(handle.id)
        emu.complete_run(handle.id, output={"ok": True})
        run = await anext(aiter(client.runs.subscribe_to_run(handle)))
        assert (run.id, run.status, run.payload, run.output, run.tags) == (
            handle.id,
            "COMPLETED",
            {"n": 1},
            {"ok": True},
            ["user:1"],
        )
        assert run.is_success and run.is_completed and run.finished_at is not None
        tagged = client.runs.subscribe_to_runs_with_tag(["user:1"], skip_columns=["payload"])
        first = await anext(aiter(tagged))
        assert first.id == handle.id and first.payload is None
        await tagged.aclose()  # type: ignore[attr-defined]
        batch = await client.batch.trigger([{"id": "a", "payload": 1}, {"id": "b", "payload": 2}])
        ids = set()
        async for item in client.runs.subscribe_to_batch(batch.batch_id):
            ids.add(item.task_identifier)
            if len(ids) == 2:
                break
        assert ids == {"a", "b"}
        with pytest.raises(NotFoundError):
            await anext(aiter(client.runs.subscribe_to_run("run_missing")))


async def test_fetch_stream_yields_chunks_until_the_stream_closes() -> None:
    async with Emulator() as emu, AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url) as client:
        handle = await client.tasks.trigger("writer", None)
        emu.append_stream(handle.id, "out", {"delta": "Hel"})
        chunks: list[object] = []

        async def read() -> None:
            async for chunk in client.runs.fetch_stream(handle, "out"):
                chunks.append(chunk)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.1)
        emu.append_stream(handle.id, "out", {"delta": "lo"})
        emu.close_stream(handle.id, "out")
        await asyncio.wait_for(reader, 5)
    assert chunks == [{"delta": "Hel"}, {"delta": "lo"}]
    stream = next(r for r in emu.requests if r.path.startswith("/realtime/v1/streams/"))
    assert stream.headers["accept"] == "text/event-stream"
    assert "x-trigger-request-idempotency-key" not in stream.headers


async def test_rotated_shapes_start_over_and_bad_arguments_are_refused() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token="tr_dev_rt", base_url=rec.url) as client:
        row = {
            "id": "internal_1",
            "friendlyId": "run_1",
            "taskIdentifier": "t",
            "status": "EXECUTING",
            "createdAt": "2024-01-01T00:00:00.000",
            "updatedAt": "2024-01-01T00:00:00.000",
        }
        done = {**row, "status": "COMPLETED_SUCCESSFULLY", "completedAt": "2024-01-01T00:01:00.000"}
        up = {"headers": {"control": "up-to-date"}}
        shape = {"electric-handle": "h1", "electric-offset": "0_0", "electric-up-to-date": ""}
        rec.script(
            "GET",
            "/realtime/v1/runs/run_1",
            Answer(200, [{"key": "k", "value": row, "headers": {"operation": "insert"}}, up], shape),
            Answer(409, [{"headers": {"control": "must-refetch"}}], {"electric-handle": "h2"}),
            Answer(
                200,
                [{"key": "k", "value": done, "headers": {"operation": "insert"}}, up],
                {**shape, "electric-handle": "h2"},
            ),
        )
        statuses = [run.status async for run in client.runs.subscribe_to_run("run_1")]
        with pytest.raises(InvalidArgumentError, match="skip_columns: 'nope' is not one of"):
            client.runs.subscribe_to_run("run_1", skip_columns=["nope"])
        with pytest.raises(InvalidArgumentError, match="tag: name at least one tag"):
            client.runs.subscribe_to_runs_with_tag([])
    assert statuses == ["EXECUTING", "COMPLETED"]
    queries = [s.query for s in rec.seen]
    assert queries == [
        "log=full&offset=-1",
        "handle=h1&live=true&log=full&offset=0_0",
        "expired_handle=h1&handle=h2&log=full&offset=-1",
    ]
