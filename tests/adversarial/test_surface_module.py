"""Module-level namespaces under ``configure()`` and ``auth.with_auth``."""

from __future__ import annotations

import pytest

import trigger_async
from tests.recorder import Answer, Recorder
from trigger_async import ApiConnectionError, RequestOptions, RetryOptions, auth

SEALED = {"id": "batch_1", "itemsAccepted": 1, "itemsDeduplicated": 0, "sealed": True}


@pytest.mark.parametrize("where", ["configure", "outer_scope"])
async def test_with_auth_composes_with_request_options(where: str) -> None:
    # _Overrides.over() uses attrs.astuple(), which recurses into RequestOptions and turns it
    # into a tuple: every module-level call in the scope raises
    # InvalidArgumentTypeError("request_options: expected RequestOptions, got tuple").
    options = RequestOptions(retry=RetryOptions(max_attempts=1))
    async with Recorder() as rec:
        rec.script("POST", "/api/v3/batches", Answer(202, {"id": "batch_1", "runCount": 1, "isCached": False}))
        rec.script("POST", "/api/v3/batches/batch_1/items", Answer(200, SEALED))
        if where == "configure":
            trigger_async.configure(access_token="tr_dev_configured", base_url=rec.url, request_options=options)
            async with auth.with_auth(access_token="tr_dev_scoped"):
                await trigger_async.batch.trigger([{"id": "t", "payload": 1}])
        else:
            trigger_async.configure(access_token="tr_dev_configured", base_url=rec.url)
            async with auth.with_auth(request_options=options):
                async with auth.with_auth(access_token="tr_dev_scoped"):
                    await trigger_async.batch.trigger([{"id": "t", "payload": 1}])
        await trigger_async.aclose()
    assert {s.headers["authorization"] for s in rec.seen} == {"Bearer tr_dev_scoped"}


async def test_timezones_does_not_retry_connection_errors() -> None:
    # Official schedules.timezones(): zodfetch without retry options, so a connection error
    # is not retried (wire-spec §2.4.3); only statuses are (3 attempts). Today: 3 requests.
    async with Recorder() as rec:
        rec.script(
            "GET", "/api/v1/timezones", Answer(drop=True), Answer(drop=True), Answer(200, {"timezones": ["UTC"]})
        )
        trigger_async.configure(base_url=rec.url)
        with pytest.raises(ApiConnectionError):
            await trigger_async.schedules.timezones()
        await trigger_async.aclose()
    assert len(rec.requests_to("/api/v1/timezones")) == 1
