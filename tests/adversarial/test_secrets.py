"""The access token must never appear in a log record or an exception (chain)."""

from __future__ import annotations

import logging
import traceback

import pytest

from tests.recorder import Answer, Recorder
from trigger_async import ApiConnectionError, AsyncTriggerClient, RequestOptions, RetryOptions

TOKEN = "tr_dev_TOPSECRETTOKEN"


def _chain(error: BaseException | None) -> list[BaseException]:
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


async def test_malformed_response_does_not_leak_token(caplog: pytest.LogCaptureFixture) -> None:
    # A response header longer than aiohttp's 8190-byte limit makes aiohttp raise
    # ClientResponseError, whose repr carries request_info.headers (Authorization: Bearer ...).
    caplog.set_level(logging.DEBUG)
    async with Recorder() as rec:
        answer = Answer(200, {"id": "run_1"}, {"X-Big": "a" * 9000})
        rec.script("GET", "/api/v3/runs/run_1", answer, repeat=True)
        async with AsyncTriggerClient(
            access_token=TOKEN,
            base_url=rec.url,
            request_options=RequestOptions(retry=RetryOptions(max_attempts=1)),
        ) as client:
            with pytest.raises(ApiConnectionError) as info:
                await client.runs.retrieve("run_1")
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.getMessage()
    for error in _chain(info.value):
        assert TOKEN not in repr(error)
        assert TOKEN not in str(error)
    assert TOKEN not in "".join(traceback.format_exception(info.value))
