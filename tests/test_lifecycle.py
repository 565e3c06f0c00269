"""Sessions, event loops and closing: no errors, no warnings, no leaks."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import trigger_async
from trigger_async import AsyncTriggerClient, ClientClosedError, configure

from .recorder import Answer, Recorder, ThreadedRecorder, run_body


@pytest.fixture
def threaded() -> Iterator[Recorder]:
    with ThreadedRecorder() as rec:
        yield rec


@pytest.fixture
def loop_problems(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Everything asyncio or aiohttp complained about, plus every warning raised."""
    caplog.set_level(logging.DEBUG, logger="asyncio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problems: list[str] = []
        yield problems
        gc.collect()
        problems.extend(str(w.message) for w in caught)
        problems.extend(r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.WARNING)


def _install_handler(errors: list[dict[str, Any]]) -> None:
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))


def test_b11_one_client_across_successive_event_loops(threaded: Recorder, loop_problems: list[str]) -> None:
    client = AsyncTriggerClient(access_token="tr_dev_k", base_url=threaded.url)  # outside any loop
    errors: list[dict[str, Any]] = []

    async def retrieve(run_id: str) -> str:
        _install_handler(errors)
        return (await client.runs.retrieve(run_id)).id

    assert asyncio.run(retrieve("run_1")) == "run_1"
    assert asyncio.run(retrieve("run_2")) == "run_2"
    asyncio.run(client.aclose())
    assert [s.path for s in threaded.seen] == ["/api/v3/runs/run_1", "/api/v3/runs/run_2"]
    assert errors == []
    assert loop_problems == []


def test_b11_module_level_calls_across_three_event_loops(threaded: Recorder, loop_problems: list[str]) -> None:
    configure(access_token="tr_dev_global", base_url=threaded.url)

    async def retrieve(run_id: str) -> str:
        return (await trigger_async.runs.retrieve(run_id)).id

    assert [asyncio.run(retrieve(f"run_{n}")) for n in range(3)] == ["run_0", "run_1", "run_2"]
    asyncio.run(trigger_async.aclose())
    assert len(threaded.seen) == 3
    assert loop_problems == []


def test_a_loop_closed_without_shutting_down_async_generators(threaded: Recorder, loop_problems: list[str]) -> None:
    client = AsyncTriggerClient(access_token="tr_dev_k", base_url=threaded.url)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(client.runs.retrieve("run_1"))
    loop.close()  # no shutdown_asyncgens(): the session is still open on a dead loop
    assert asyncio.run(client.runs.retrieve("run_2")).id == "run_2"
    asyncio.run(client.aclose())
    assert loop_problems == []


def test_p1_unclosed_clients_on_short_lived_loops_never_touch_a_dead_loop(
    threaded: Recorder, loop_problems: list[str]
) -> None:
    errors: list[dict[str, Any]] = []

    async def use_once() -> None:
        _install_handler(errors)
        client = AsyncTriggerClient(access_token="tr_dev_x", base_url=threaded.url)
        await client.runs.retrieve("run_1")  # never closed

    for _ in range(10):
        asyncio.run(use_once())
        gc.collect()
    assert errors == []
    assert loop_problems == []


async def test_b12_sessions_are_lazy_closed_once_and_closed_clients_refuse(
    loop_problems: list[str],
) -> None:
    async with Recorder() as rec:
        async with AsyncTriggerClient(access_token="tr_dev_k", base_url=rec.url) as c:
            await c.runs.retrieve("run_1")
        unused = AsyncTriggerClient(access_token="tr_dev_k", base_url=rec.url)
        assert not unused._transport.has_sessions
        del unused
        c3 = AsyncTriggerClient(access_token="tr_dev_k", base_url=rec.url)
        await c3.runs.retrieve("run_2")
        session = await c3._transport.session()
        await c3.aclose()
        await c3.aclose()  # a no-op
        assert session.closed and c3.closed
        with pytest.raises(ClientClosedError):
            await c3.runs.retrieve("run_3")
        with pytest.raises(ClientClosedError):
            c3.runs.list()
        gc.collect()
        await asyncio.sleep(0)
    assert len(rec.seen) == 2
    assert loop_problems == []


async def test_with_options_shares_the_pool_and_closing_the_copy_leaves_it_open() -> None:
    async with Recorder() as rec:
        parent = AsyncTriggerClient(access_token="tr_dev_parent", base_url=rec.url)
        await parent.runs.retrieve("run_1")
        child = parent.with_options(access_token="tr_dev_child", preview_branch="b")
        assert child._transport is parent._transport
        await child.runs.retrieve("run_2")
        await child.aclose()
        await parent.runs.retrieve("run_3")
        assert parent.config.access_token == "tr_dev_parent"
        await parent.aclose()
    assert [s.headers["authorization"] for s in rec.seen] == [
        "Bearer tr_dev_parent",
        "Bearer tr_dev_child",
        "Bearer tr_dev_parent",
    ]
    assert rec.seen[1].headers["x-trigger-branch"] == "b"


async def test_cancelled_calls_give_their_connections_back() -> None:
    async with Recorder() as rec:
        rec.script("GET", "/api/v3/runs/slow", Answer(body=run_body("slow"), delay=5), repeat=True)
        client = AsyncTriggerClient(access_token="tr_dev_k", base_url=rec.url)
        client._transport._limit = 2
        for _ in range(3):
            tasks = [asyncio.create_task(client.runs.retrieve("slow")) for _ in range(2)]
            await asyncio.sleep(0.05)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # With a pool of two, a leaked connection would make this wait for ever.
        run = await asyncio.wait_for(client.runs.retrieve("run_ok"), 2)
        await client.aclose()
    assert run.id == "run_ok"


THROWAWAY = """
import asyncio, gc
from trigger_async import AsyncTriggerClient
from trigger_async.testing import Emulator

async def main():
    async with Emulator() as emu:
        for i in range(5):
            await AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url).tasks.trigger("t", {"i": i})
        client = AsyncTriggerClient(access_token=emu.dev_key, base_url=emu.url)
        await client.runs.list()
        del client
        gc.collect()
        await asyncio.sleep(0.05)
        print(len(emu.requests))

asyncio.run(main())
"""


def test_throwaway_clients_are_closed_when_collected() -> None:
    """A client dropped without aclose() (``await AsyncTriggerClient(...).tasks.trigger(...)``)
    closes its session on its loop: nothing is printed, even in development mode."""
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", THROWAWAY],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "6\n", "")
