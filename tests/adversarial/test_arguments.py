"""Bad arguments must raise an InvalidArgument(Type)Error naming the argument, before any
request is sent."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.recorder import Recorder
from trigger_async import (
    AsyncTriggerClient,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    RequestOptions,
    RetryOptions,
    task_context,
)

BAD = (InvalidArgumentError, InvalidArgumentTypeError)
ONE_ATTEMPT = RequestOptions(retry=RetryOptions(max_attempts=1))


@pytest.mark.parametrize("machine", [["small-1x"], {"preset": "small-1x"}])
async def test_unhashable_machine_is_named(machine: object) -> None:
    async with Recorder() as rec:
        async with AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url) as client:
            with pytest.raises(BAD, match="machine"):
                await client.tasks.trigger("t", {}, machine=machine)  # type: ignore[arg-type]
            with pytest.raises(BAD, match="machine"):
                await client.runs.replay("run_1", machine=machine)  # type: ignore[arg-type]
        assert rec.seen == []


@pytest.mark.parametrize(
    "expiration",
    ["not a duration", datetime(2030, 1, 1), ["1h"]],
    ids=["garbage-string", "naive-datetime", "list"],
)
async def test_public_token_expiration_is_checked_before_sending(expiration: object) -> None:
    options = RequestOptions(public_access_token={"expiration_time": expiration})
    async with Recorder() as rec:
        async with AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url) as client:
            with pytest.raises(BAD, match="expiration_time"):
                await client.tasks.trigger("t", {}, request_options=options)
        assert rec.seen == []  # a run must not be created for a call that then fails


async def test_poll_interval_none_is_rejected_before_any_request() -> None:
    async with Recorder() as rec:
        async with AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url) as client:
            with pytest.raises(BAD, match="poll_interval_ms"):
                await client.runs.poll("run_1", poll_interval_ms=None, max_attempts=2)  # type: ignore[arg-type]
        assert rec.seen == []


@pytest.mark.parametrize("max_attempts", [None, 2.5])
async def test_poll_max_attempts_is_named(max_attempts: object) -> None:
    async with Recorder() as rec:
        async with AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url) as client:
            with pytest.raises(BAD, match="max_attempts"):
                await client.runs.poll("run_1", max_attempts=max_attempts, poll_interval_ms=1)  # type: ignore[arg-type]
        assert rec.seen == []


async def test_task_context_fields_are_validated() -> None:
    # run_id=5 / is_test="yes" end up on the wire as "parentRunId": 5, "test": "yes".
    with pytest.raises(BAD):
        task_context(run_id=5)
    with pytest.raises(BAD):
        task_context(run_id="run_1", is_test="yes")


@pytest.mark.parametrize("token", ["tr_dev_abc\r\nX-Injected: 1", "tr_dev_abc\x00"])
def test_access_token_with_control_characters_is_rejected_at_construction(token: str) -> None:
    # Today the client is built and the first call fails inside aiohttp with a bare
    # ValueError("Forbidden control character detected in headers...").
    with pytest.raises(InvalidArgumentError, match="access_token"):
        AsyncTriggerClient(access_token=token, base_url="http://127.0.0.1:1")


async def test_integral_float_limit_is_sent_as_js_number() -> None:
    # JS: String(1.0) === "1"; the official SDK sends page[size]=1.
    async with Recorder() as rec:
        async with AsyncTriggerClient(access_token="tr_dev_x", base_url=rec.url) as client:
            await client.runs.list(limit=5.0)
        assert rec.seen[-1].query == "page%5Bsize%5D=5"


@pytest.mark.parametrize(
    "base_url",
    ["http://", "https://", "http://[::1", "http://host:99999", "http://exa mple.com"],
)
def test_malformed_base_url_is_rejected_at_construction(base_url: str) -> None:
    # Today only the scheme prefix is checked: "http://" becomes "http:/" and the first call
    # goes to host "api" (http:/ + /api/v3/...) with the bearer token; "[::1" and the bad
    # port fail later with a bare ValueError from yarl.
    with pytest.raises(InvalidArgumentError, match="base_url"):
        AsyncTriggerClient(access_token="tr_dev_x", base_url=base_url)
