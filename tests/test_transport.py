"""Headers, request keys, retries and error mapping, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import platform
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import aiohttp
import pytest

from trigger_async import (
    ApiConnectionError,
    ApiError,
    ApiSchemaValidationError,
    ApiTimeoutError,
    AsyncTriggerClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestOptions,
    RetryOptions,
    Timeout,
    UnprocessableEntityError,
)

from .conftest import FAST, FAST_RETRY
from .recorder import Answer, Recorder, now_ms_plus, run_body

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TOKEN = "tr_dev_transport_secret_123"


def client_for(rec: Recorder, **kwargs: object) -> AsyncTriggerClient:
    kwargs.setdefault("access_token", TOKEN)
    kwargs.setdefault("request_options", FAST)
    return AsyncTriggerClient(base_url=rec.url, **kwargs)  # type: ignore[arg-type]


async def test_standard_headers_of_a_get() -> None:
    async with Recorder() as rec, client_for(rec, preview_branch="feat/x") as client:
        await client.runs.retrieve("run_abc")
    (seen,) = rec.seen
    headers = dict(seen.headers)
    key = headers.pop("x-trigger-request-idempotency-key")
    assert UUID4.match(key)
    assert headers.pop("user-agent") == (
        f"trigger-async/0.1.0 Python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
    )
    for transport in ("host", "accept", "accept-encoding"):
        headers.pop(transport, None)
    assert headers == {
        "content-type": "application/json",
        "authorization": f"Bearer {TOKEN}",
        "trigger-version": "4.8.3",
        "x-trigger-source": "sdk",
        "x-trigger-branch": "feat/x",
        "x-trigger-api-version": "2025-07-16",
        "x-trigger-realtime-streams-version": "v2",
        "cache-control": "max-age=0",
    }
    assert seen.method == "GET" and seen.raw_path == "/api/v3/runs/run_abc" and seen.body == b""


async def test_body_less_post_sends_json_content_type_and_zero_length() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        assert await client.runs.cancel("run_1") == "run_1"
    (seen,) = rec.seen
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["content-length"] == "0"
    assert seen.body == b""


async def test_additional_headers_never_override_sdk_headers_except_source() -> None:
    options = RequestOptions(
        additional_headers={
            "x-custom": "1",
            "Authorization": "Bearer stolen",
            "x-trigger-api-version": "1999-01-01",
            "x-trigger-source": "mysvc",
        }
    )
    async with Recorder() as rec, client_for(rec) as client:
        await client.runs.retrieve(
            "run_1",
            request_options=RequestOptions(additional_headers={"x-per-call": "yes", "x-custom": "2"}),
        )
        await client.with_options(request_options=options).runs.retrieve("run_2")
    first, second = rec.seen
    assert first.headers["x-per-call"] == "yes" and first.headers["x-custom"] == "2"
    assert second.headers["x-custom"] == "1"
    assert second.headers["authorization"] == f"Bearer {TOKEN}"
    assert second.headers["x-trigger-api-version"] == "2025-07-16"
    assert second.headers["x-trigger-source"] == "mysvc"


async def test_request_key_is_stable_across_retries_and_new_per_call() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(500, {"error": "a"}), Answer(502, {"error": "b"}))
        await client.runs.retrieve("run_1")
        await client.runs.retrieve("run_1")
    keys = [s.headers["x-trigger-request-idempotency-key"] for s in rec.seen]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2] != keys[3]


async def test_fast_retry_policy_timing() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(503, {"error": "down"}), repeat=True)
        with pytest.raises(InternalServerError) as caught:
            await client.runs.retrieve("run_1")
    assert caught.value.status == 503 and str(caught.value) == "down"
    times = [s.at for s in rec.seen]
    assert len(times) == 3
    assert 0.010 <= times[1] - times[0] < 0.2
    assert 0.020 <= times[2] - times[1] < 0.2


@pytest.mark.parametrize(
    ("status", "headers", "attempts"),
    [
        (400, {"x-should-retry": "true"}, 3),
        (500, {"x-should-retry": "false"}, 1),
        (408, {}, 3),
        (409, {}, 3),
        (404, {}, 1),
        (422, {}, 1),
        (413, {}, 1),
        (502, {}, 3),
    ],
)
async def test_which_responses_are_retried(status: int, headers: dict[str, str], attempts: int) -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(status, {"error": "nope"}, headers), repeat=True)
        with pytest.raises(ApiError) as caught:
            await client.runs.retrieve("run_1")
    assert len(rec.seen) == attempts
    assert caught.value.status == status
    assert caught.value.body == {"error": "nope"}
    assert caught.value.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (504, InternalServerError),
        (405, ApiError),
    ],
)
async def test_status_to_error_class(status: int, cls: type[ApiError]) -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(status, {"error": "msg", "code": "c1"}), repeat=True)
        with pytest.raises(ApiError) as caught:
            await client.runs.retrieve("run_1")
    assert type(caught.value) is cls
    assert caught.value.message == "msg" and caught.value.code == "c1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "nested msg", "code": "x"}}, "nested msg"),
        ({"message": "top level is ignored"}, "422 status code (no body)"),
        (None, "422 status code (no body)"),
        ("plain words", "422 plain words"),
        ({"error": ["a", 1]}, '["a", 1]'),
    ],
)
async def test_error_messages_follow_the_official_rules(body: object, message: str) -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(422, body))
        with pytest.raises(UnprocessableEntityError) as caught:
            await client.runs.retrieve("run_1")
    assert str(caught.value) == message


async def test_b08_413_is_a_plain_api_error_sent_once() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("POST", "/api/v1/tasks/big/trigger", Answer(413, {"error": "Request body too large"}))
        with pytest.raises(ApiError) as caught:
            await client.tasks.trigger("big", {"blob": "x" * 200})
    assert len(rec.seen) == 1
    assert type(caught.value) is ApiError
    assert caught.value.status == 413 and str(caught.value) == "Request body too large"
    assert not isinstance(caught.value, (InternalServerError, ApiConnectionError))


async def test_b05_ratelimit_reset_is_read_in_milliseconds() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script(
            "GET",
            "/api/v3/runs/run_1",
            Answer(429, {"error": "Rate limit exceeded"}, {"x-ratelimit-reset": now_ms_plus(1500)}),
        )
        run = await asyncio.wait_for(client.runs.retrieve("run_1"), 5)
    assert run.id == "run_1"
    assert len(rec.seen) == 2
    assert 1.45 <= rec.seen[1].at - rec.seen[0].at < 2.7


async def test_b05_exhausted_rate_limit_reports_milliseconds_until_reset() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script(
            "GET",
            "/api/v3/runs/run_1",
            Answer(429, {"error": "Rate limit exceeded"}, {"x-ratelimit-reset": now_ms_plus(50)}),
            repeat=True,
        )
        with pytest.raises(RateLimitError) as caught:
            await asyncio.wait_for(client.runs.retrieve("run_1"), 5)
    assert len(rec.seen) == 3
    error = caught.value
    assert error.status == 429
    assert isinstance(error.milliseconds_until_reset, int)
    assert 0 <= error.milliseconds_until_reset <= 2050
    assert "x-ratelimit-reset" in error.headers


async def test_b14_r1_retry_after_seconds_is_honoured() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(503, {"error": "busy"}, {"Retry-After": "2"}))
        await client.runs.retrieve("run_1")
    assert len(rec.seen) == 2
    assert rec.seen[1].at - rec.seen[0].at >= 2.0


async def test_b14_r2_ratelimit_reset_takes_precedence_over_retry_after() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script(
            "GET",
            "/api/v3/runs/run_1",
            Answer(429, {"error": "slow"}, {"x-ratelimit-reset": now_ms_plus(300), "Retry-After": "5"}),
        )
        await client.runs.retrieve("run_1")
    assert 0.28 <= rec.seen[1].at - rec.seen[0].at <= 1.5


async def test_b14_r3_should_retry_false_stops_at_once() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(503, {"error": "no"}, {"x-should-retry": "false"}))
        with pytest.raises(InternalServerError) as caught:
            await client.runs.retrieve("run_1")
    assert len(rec.seen) == 1 and caught.value.status == 503


async def test_b14_r4_a_huge_retry_after_raises_without_sleeping() -> None:
    retry = RequestOptions(retry=FAST_RETRY.over(RetryOptions()).over(RetryOptions(max_timeout=1.0)))
    async with Recorder() as rec, client_for(rec, request_options=retry) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(503, {"error": "later"}, {"Retry-After": "3600"}))
        started = time.monotonic()
        with pytest.raises(InternalServerError) as caught:
            await client.runs.retrieve("run_1")
    assert time.monotonic() - started < 1.2
    assert len(rec.seen) == 1
    assert caught.value.retry_after == 3600.0


async def test_b14_r5_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2), usegmt=True)
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(503, {"error": "x"}, {"Retry-After": when}))
        await client.runs.retrieve("run_1")
    assert rec.seen[1].at - rec.seen[0].at >= 1.0


async def test_final_error_exposes_retry_after() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script(
            "GET",
            "/api/v3/runs/run_1",
            Answer(503, {"error": "x"}, {"Retry-After": "0"}),
            repeat=True,
        )
        with pytest.raises(InternalServerError) as caught:
            await client.runs.retrieve("run_1")
    assert caught.value.retry_after == 0.0


async def test_dropped_connections_use_exactly_the_policy_attempts() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(drop=True), repeat=True)
        with pytest.raises(ApiConnectionError) as caught:
            await client.runs.retrieve("run_1")
        assert str(caught.value) == "Connection error."
        # A kept-alive connection that dies must not be re-sent silently by aiohttp.
        rec.script("GET", "/api/v3/runs/run_2", Answer(drop=True))
        await client.runs.retrieve("run_0")
        await client.runs.retrieve("run_2")
    assert [s.path for s in rec.seen] == ["/api/v3/runs/run_1"] * 3 + [
        "/api/v3/runs/run_0",
        "/api/v3/runs/run_2",
        "/api/v3/runs/run_2",
    ]


async def test_timeouts_raise_api_timeout_error_after_the_attempts() -> None:
    options = RequestOptions(retry=RetryOptions(max_attempts=2, min_timeout=0.01), timeout=Timeout(total=0.1))
    async with Recorder() as rec, client_for(rec, request_options=options) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(body=run_body("run_1"), delay=1.0), repeat=True)
        with pytest.raises(ApiTimeoutError):
            await client.runs.retrieve("run_1")
    assert len(rec.seen) == 2


async def test_schema_mismatch_raises_and_is_not_retried() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(200, {"id": "run_1"}))
        with pytest.raises(ApiSchemaValidationError) as caught:
            await client.runs.retrieve("run_1")
    assert len(rec.seen) == 1
    assert caught.value.status == 200
    assert str(caught.value).startswith("200 Validation error: ")
    assert "status" in str(caught.value)


async def test_unknown_response_fields_are_ignored() -> None:
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(200, run_body("run_1", brandNew={"x": 1})))
        run = await client.runs.retrieve("run_1")
    assert run.id == "run_1" and run.created_at.tzinfo is not None


async def test_token_never_appears_in_reprs_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Recorder() as rec, client_for(rec) as client:
        rec.script("GET", "/api/v3/runs/run_1", Answer(401, {"error": "Invalid API key"}))
        with pytest.raises(AuthenticationError) as caught:
            await client.runs.retrieve("run_1")
        texts = [
            repr(client),
            str(client),
            repr(client.config),
            str(client.config),
            repr(caught.value),
            str(caught.value),
            repr(caught.value.__dict__),
            caplog.text,
        ]
    assert all(TOKEN not in text for text in texts)
    assert "'***'" in repr(client.config)
