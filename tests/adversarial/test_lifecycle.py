"""Sessions, closing, garbage collection and the retry loop's arithmetic."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from tests.recorder import Answer, Recorder, ThreadedRecorder, listed_run
from trigger_async import (
    AsyncTriggerClient,
    ClientClosedError,
    InternalServerError,
    RequestOptions,
    RetryOptions,
)


async def test_pager_awaited_after_close_raises_client_closed() -> None:
    async with Recorder() as rec:
        client = AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url)
        pager = client.runs.list()
        await client.aclose()
        with pytest.raises(ClientClosedError):
            await pager
        with pytest.raises(ClientClosedError):
            async for _ in pager:
                pass
        assert rec.seen == []
        assert not client._transport.has_sessions  # closing must not be undone


async def test_next_page_after_close_raises_client_closed() -> None:
    async with Recorder() as rec:
        rec.script(
            "GET",
            "/api/v1/runs",
            Answer(body={"data": [listed_run("run_a")], "pagination": {"next": "cursor_2"}}),
        )
        client = AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url)
        page = await client.runs.list()
        await client.aclose()
        with pytest.raises(ClientClosedError):
            await page.get_next_page()
        assert len(rec.seen) == 1


def _resource_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_gc_of_unclosed_client_inside_running_loop_warns_nothing() -> None:
    with ThreadedRecorder() as rec:

        async def use_and_forget() -> None:
            client = AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url)
            await client.runs.retrieve("run_1")

        async def main() -> None:
            await use_and_forget()
            gc.collect()  # the client (a reference cycle) is collected while the loop runs
            await asyncio.sleep(0.05)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(main())
            gc.collect()
    assert _resource_warnings(caught) == []


def test_gc_after_loop_closed_without_shutdown_asyncgens_warns_nothing() -> None:
    with ThreadedRecorder() as rec:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url)
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(client.runs.retrieve("run_1"))
            finally:
                loop.close()  # no shutdown_asyncgens(): a hand-rolled runner
            del client
            gc.collect()
    assert _resource_warnings(caught) == []


async def test_huge_backoff_factor_does_not_overflow() -> None:
    # min_timeout=0 keeps the test fast; attempt 3 computes 1e300 ** 2 -> OverflowError.
    retry = RetryOptions(max_attempts=4, min_timeout=0, factor=1e300)
    async with Recorder() as rec:
        rec.script("GET", "/api/v3/runs/run_1", Answer(500, {"error": "boom"}), repeat=True)
        async with AsyncTriggerClient(
            access_token="tr_dev_x", base_url=rec.url, request_options=RequestOptions(retry=retry)
        ) as client:
            with pytest.raises(InternalServerError):
                await client.runs.retrieve("run_1")
        assert len(rec.seen) == 4


async def test_call_in_flight_during_aclose_does_not_reopen_the_client() -> None:
    async with Recorder() as rec:
        rec.script("GET", "/api/v3/runs/run_1", Answer(body=None, delay=0.3))
        client = AsyncTriggerClient(
            access_token="tr_dev_x",
            base_url=rec.url,
            request_options=RequestOptions(retry=RetryOptions(min_timeout=0.05)),
        )
        call = asyncio.create_task(client.runs.retrieve("run_1"))
        await asyncio.sleep(0.1)
        await client.aclose()
        # Today the cut connection is "retried": a new session is opened on the closed
        # client, the request is sent again and the call succeeds.
        with pytest.raises(ClientClosedError):
            await call
        assert len(rec.seen) == 1
        assert not client._transport.has_sessions
