"""The client against the emulator: real server semantics, end to end, and the demo."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from trigger_async import (
    AsyncTriggerClient,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RequestOptions,
    RetryOptions,
    UnprocessableEntityError,
)
from trigger_async.demo.__main__ import run_demo
from trigger_async.testing import Emulator, ThreadedEmulator

FAST = RequestOptions(retry=RetryOptions(max_attempts=2, min_timeout=0.01))


async def test_run_lifecycle_through_the_emulator() -> None:
    async with (
        Emulator() as emu,
        AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url, request_options=FAST) as client,
    ):
        handle = await client.tasks.trigger("hello", {"n": 1}, tags=["b", "a"], idempotency_key="once")
        again = await client.tasks.trigger("hello", {"n": 2}, idempotency_key="once")
        assert again.id == handle.id and again.is_cached is True and handle.is_cached is False
        run = await client.runs.retrieve(handle)
        assert (run.status, run.payload, run.tags, run.idempotency_key) == (
            "QUEUED",
            {"n": 1},
            ["a", "b"],
            "once",
        )
        emu.start_run(handle.id)
        emu.complete_run(handle.id, output={"ok": True})
        done = await client.runs.poll(handle, poll_interval_ms=10)
        assert (done.status, done.output, done.is_success) == ("COMPLETED", {"ok": True}, True)
        assert done.finished_at is not None and done.finished_at.tzinfo is not None

        assert await client.runs.cancel(handle) == handle.id  # finished: unchanged, no error
        replayed = await client.runs.replay(handle)
        assert replayed != handle.id
        assert (await client.runs.retrieve(replayed)).payload == {"n": 1}
        assert await client.runs.cancel(replayed) == replayed
        assert (await client.runs.retrieve(replayed)).status == "CANCELED"

        delayed = await client.tasks.trigger("later", None, delay="1h")
        moved = await client.runs.reschedule(delayed, delay=datetime.now(timezone.utc) + timedelta(hours=2))
        assert moved.status == "DELAYED" and moved.delayed_until is not None
        with pytest.raises(BadRequestError, match="Cannot reschedule a run that is not delayed"):
            await client.runs.reschedule(handle, delay="1h")
        with pytest.raises(NotFoundError) as missing:
            await client.runs.retrieve("run_missing")
        assert missing.value.headers["x-should-retry"] == "true"
        with pytest.raises(UnprocessableEntityError, match="Runs can only have 10 tags"):
            await _eleven_tags(client)


async def _eleven_tags(client: AsyncTriggerClient) -> None:
    # Our own check refuses 11 tags before sending; go around it to see the server's answer.
    scope = client.tasks._scope()
    await client.tasks._request(
        "POST",
        "/api/v1/tasks/hello/trigger",
        scope=scope,
        body={
            "options": {
                "tags": [str(i) for i in range(11)],
                "payloadType": "application/json",
                "payloadSize": 0,
            }
        },
    )


async def test_b03_preview_key_without_branch_gets_the_servers_401() -> None:
    async with Emulator() as emu:
        async with AsyncTriggerClient(access_token=emu.preview_key, base_url=emu.url, preview_branch="") as bare:
            with pytest.raises(AuthenticationError) as caught:
                await bare.runs.list()
        assert str(caught.value) == "x-trigger-branch header required for preview env"
        async with (
            AsyncTriggerClient(access_token=emu.preview_key, base_url=emu.url, preview_branch="signup-flow") as branch,
            AsyncTriggerClient(access_token=emu.preview_key, base_url=emu.url, preview_branch="other") as other,
        ):
            mine = await branch.tasks.trigger("send-email", {"to": "a@example.com"})
            assert [r.id async for r in branch.runs.list()] == [mine.id]
            assert [r.id async for r in other.runs.list()] == []


async def test_pagination_walks_every_run_once_with_filters() -> None:
    async with (
        Emulator() as emu,
        AsyncTriggerClient(access_token=emu.prod_key, base_url=emu.url) as client,
    ):
        ids = [(await client.tasks.trigger("t", {"i": i}, tags=["x"])).id for i in range(7)]
        await client.tasks.trigger("other", 1, tags=["x"])
        emu.clear_requests()
        seen = [r.id async for r in client.runs.list(task_identifier="t", limit=3)]
        page = await client.runs.list(task_identifier="t", limit=3)
        second = await page.get_next_page()
        back = await second.get_previous_page()
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    assert [r.id for r in back.data] == [r.id for r in page.data]
    listing = [r for r in emu.requests if r.path == "/api/v1/runs"][:3]
    assert all("filter%5BtaskIdentifier%5D=t&page%5Bsize%5D=3" in r.query_string for r in listing)


async def test_demo_shows_both_clients_and_no_cross_talk() -> None:
    async with Emulator() as emu:
        async with (
            AsyncTriggerClient(access_token=emu.prod_key, base_url=emu.url, preview_branch="") as prod,
            AsyncTriggerClient(access_token=emu.preview_key, base_url=emu.url, preview_branch="signup-flow") as preview,
        ):
            out = io.StringIO()
            assert await run_demo(prod, preview, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["client", "environment", "run", "id", "task", "status"]
    rows = [line.split() for line in lines[2:8]]
    assert [(r[0], r[1]) for r in rows] == [("production", "prod")] * 3 + [("preview", "preview")] * 3
    assert all(r[2] == "(signup-flow)" for r in rows[3:])
    assert lines[-1] == "3 + 3 runs triggered; each client saw exactly its own runs: no cross-talk"


def test_demo_command_runs_against_the_embedded_emulator() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGER_")}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "trigger_async.demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "using the embedded emulator" in done.stdout
    assert done.stdout.rstrip().endswith("no cross-talk")
    assert done.stderr == ""


def test_pytest_fixture_emulator_serves_several_event_loops(
    trigger_emulator: ThreadedEmulator,
) -> None:
    client = AsyncTriggerClient(access_token=trigger_emulator.dev_key, base_url=trigger_emulator.url)
    first = asyncio.run(client.tasks.trigger("t", 1))
    run = asyncio.run(client.runs.retrieve(first))
    asyncio.run(client.aclose())
    assert run.id == first.id and run.status == "QUEUED"
