"""``auth.with_auth`` scopes: composition, non-LIFO closing, scopes crossing tasks."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import trigger_async
from tests.recorder import Recorder
from trigger_async import auth

BASE = "tr_dev_configured"


async def _sent_with(rec: Recorder) -> tuple[str, str | None]:
    """(Authorization token, x-trigger-branch) of a module-level call made now."""
    await trigger_async.runs.retrieve("run_1")
    headers = rec.seen[-1].headers
    return headers["authorization"].removeprefix("Bearer "), headers.get("x-trigger-branch")


async def test_non_lifo_close_does_not_resurrect_a_closed_scope() -> None:
    async with Recorder() as rec:
        trigger_async.configure(access_token=BASE, base_url=rec.url)
        first = auth.with_auth(access_token="tr_dev_first")
        second = auth.with_auth(access_token="tr_dev_second")
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # closed out of order: must raise nothing ...
        while_second_open = (await _sent_with(rec))[0]
        second.__exit__(None, None, None)
        after_both_closed = (await _sent_with(rec))[0]
        # "second" is still open after "first" closed; once both are closed the configured
        # token applies again (today: the configured one, then "tr_dev_first" for good).
        assert (while_second_open, after_both_closed) == ("tr_dev_second", BASE)
        await trigger_async.aclose()


async def test_async_generator_scope_closed_inside_callers_scope() -> None:
    async def producer() -> AsyncIterator[int]:
        async with auth.with_auth(access_token="tr_dev_generator"):
            yield 1
            yield 2

    async with Recorder() as rec:
        trigger_async.configure(access_token=BASE, base_url=rec.url)
        items = producer()
        await items.__anext__()
        async with auth.with_auth(access_token="tr_dev_caller"):
            await items.aclose()  # the generator's scope closes inside the caller's
            inside_caller_scope = (await _sent_with(rec))[0]
        after_caller_scope = (await _sent_with(rec))[0]
        # Today: the configured token inside the caller's scope, then the generator's
        # token for good after both scopes closed.
        assert (inside_caller_scope, after_caller_scope) == ("tr_dev_caller", BASE)
        await trigger_async.aclose()


async def test_closing_another_tasks_scope_leaves_own_scope_alone() -> None:
    async with Recorder() as rec:
        trigger_async.configure(access_token=BASE, base_url=rec.url)
        shared = auth.with_auth(access_token="tr_dev_a")
        entered = asyncio.Event()
        release = asyncio.Event()

        async def task_a() -> None:
            shared.__enter__()
            entered.set()
            await release.wait()

        async def task_b() -> str:
            async with auth.with_auth(access_token="tr_dev_b"):
                await entered.wait()
                shared.__exit__(None, None, None)  # entered in A, exited in B
                token, _ = await _sent_with(rec)
            release.set()
            return token

        _, seen_by_b = await asyncio.gather(task_a(), task_b())
        assert seen_by_b == "tr_dev_b"  # B's own scope is still open
        await trigger_async.aclose()


async def test_scope_composes_with_the_scope_it_is_entered_in() -> None:
    async with Recorder() as rec:
        trigger_async.configure(access_token=BASE, base_url=rec.url)
        inner = auth.with_auth(access_token="tr_dev_inner")  # built before the outer opens
        async with auth.with_auth(preview_branch="feature-x"):
            async with inner:
                assert await _sent_with(rec) == ("tr_dev_inner", "feature-x")
        async with auth.with_auth(preview_branch="feature-y"):
            later = auth.with_auth(access_token="tr_dev_later")  # built inside, used outside
        async with later:
            assert await _sent_with(rec) == ("tr_dev_later", None)
        await trigger_async.aclose()


async def test_scope_closed_by_async_generator_finaliser_stops_applying() -> None:
    # `break` leaves the generator suspended inside its scope; the scope's credentials are
    # then visible to the consumer (generators share the caller's context). When the
    # generator is finalised, the event loop's asyncgen finaliser closes it in a *new* task,
    # so the scope exits in another context. Once closed, it must stop applying everywhere.
    async def producer() -> AsyncIterator[int]:
        async with auth.with_auth(access_token="tr_dev_generator"):
            yield 1
            yield 2

    async with Recorder() as rec:
        trigger_async.configure(access_token=BASE, base_url=rec.url)
        items = producer()
        async for _ in items:
            break
        del items
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)  # let the finaliser's aclose() task run
        assert (await _sent_with(rec))[0] == BASE
        await trigger_async.aclose()
