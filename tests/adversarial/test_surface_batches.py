"""The two-phase batch flow (offload, create, NDJSON stream) against scripted servers.

Reference: wire-spec §2.4.3, §2.5, §2.7.3, §4.2, and the official SDK 4.8.3
(``streamBatchItemsWithRetry``, ``executeBatchTwoPhase``, ``BatchTriggerError``).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.recorder import Answer, Recorder
from trigger_async import (
    ApiSchemaValidationError,
    AsyncTriggerClient,
    BatchItem,
    BatchTriggerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    RequestOptions,
    RetryOptions,
    TriggerError,
)

KEY = "tr_dev_surface_batches"
CREATED = {"id": "batch_1", "runCount": 3, "isCached": False}
SEALED = {"id": "batch_1", "itemsAccepted": 3, "itemsDeduplicated": 0, "sealed": True}
ITEMS_PATH = "/api/v3/batches/batch_1/items"
FAST = RequestOptions(retry=RetryOptions(max_attempts=5, min_timeout=0.001, max_timeout=0.002))
BAD = (InvalidArgumentError, InvalidArgumentTypeError)


def three() -> list[dict[str, object]]:
    return [{"id": "t", "payload": i} for i in range(3)]


# --- responses that do not match the schema ------------------------------------------------


async def test_create_answer_with_string_is_cached_does_not_drop_the_items() -> None:
    # CreateBatchResponse.isCached is a boolean. "false" is coerced to True by bool("false"),
    # so the items stream is skipped and the call "succeeds": the batch never gets its items.
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, {**CREATED, "isCached": "false"}))
        rec.script("POST", ITEMS_PATH, Answer(200, SEALED))
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger(three())
    assert caught.value.phase == "create"
    assert isinstance(caught.value.api_error, ApiSchemaValidationError)


async def test_stream_answer_with_string_sealed_is_not_taken_as_sealed() -> None:
    # StreamBatchItemsResponse.sealed is a boolean; the official SDK fails "Invalid response
    # from server for batch ..." (phase stream). Today "false" counts as sealed.
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, CREATED))
        rec.script("POST", ITEMS_PATH, Answer(200, {**SEALED, "sealed": "false"}), repeat=True)
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger(three(), request_options=FAST)
    assert caught.value.phase == "stream"


async def test_create_answer_with_null_id_is_a_schema_error() -> None:
    # Today id=None becomes the string "None" and the items go to /api/v3/batches/None/items.
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, {**CREATED, "id": None}))
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger(three(), request_options=FAST)
    assert caught.value.phase == "create"
    assert isinstance(caught.value.api_error, ApiSchemaValidationError)
    assert [s.path for s in rec.seen] == ["/api/v3/batches"]


# --- the items stream's retry policy and messages -----------------------------------------


async def test_stream_attempts_share_one_budget_across_errors_and_unsealed_answers() -> None:
    # Official: one attempt counter for HTTP failures *and* sealed:false (maxAttempts 5 in
    # all). Today every sealed:false round gets its own 5 HTTP attempts: 10 requests here.
    unsealed = {**SEALED, "sealed": False, "enqueuedCount": 1, "expectedCount": 3}
    script = [Answer(500, {"error": "ingest"}), Answer(200, unsealed)] * 20
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, CREATED))
        rec.script("POST", ITEMS_PATH, *script)
        with pytest.raises(BatchTriggerError):
            await client.batch.trigger(three(), request_options=FAST)
    assert len(rec.requests_to(ITEMS_PATH)) == 5


async def test_not_sealed_message_without_counts_reads_zero() -> None:
    # Official: enqueuedCount ?? 0, expectedCount ?? 0. Today: "received None of None".
    unsealed = {**SEALED, "sealed": False}
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, CREATED))
        rec.script("POST", ITEMS_PATH, Answer(200, unsealed), repeat=True)
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger(three(), request_options=FAST)
    assert str(caught.value) == (
        "Failed to stream items for batch batch_1 (3 items): Batch batch_1 was not sealed: "
        "received 0 of 0 expected items (accepted: 3, deduplicated: 0)"
    )


async def test_rate_limit_message_with_zero_wait_still_names_the_wait() -> None:
    # The batch-create 429 sends X-RateLimit-Reset in *seconds*: millisecondsUntilReset is 0,
    # which is defined, so the official message is "... - retry after 0s" (§2.5, §7.6).
    reset_seconds = str(int(time.time()) + 5)
    once = RequestOptions(retry=RetryOptions(max_attempts=1))
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script(
            "POST",
            "/api/v3/batches",
            Answer(429, {"error": "Batch rate limit exceeded"}, {"x-ratelimit-reset": reset_seconds}),
        )
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger(three(), request_options=once)
    assert caught.value.retry_after_ms == 0
    assert str(caught.value) == "Failed to create batch with 3 items: Rate limit exceeded - retry after 0s"


async def test_stream_connection_failure_message_names_the_stream() -> None:
    # Official: ApiConnectionError("Failed to stream batch items for batch <id>: <cause>").
    retry = RequestOptions(retry=RetryOptions(max_attempts=2, min_timeout=0.001))
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, CREATED))
        rec.script("POST", ITEMS_PATH, Answer(drop=True), repeat=True)
        with pytest.raises(BatchTriggerError) as caught:
            await client.batch.trigger(three(), request_options=retry)
    assert "Failed to stream batch items for batch batch_1: " in str(caught.value)


# --- offload --------------------------------------------------------------------------------


def _presign(rec: Recorder, count: int, url: str | None = None) -> None:
    answer = Answer(200, {"presignedUrl": url or f"{rec.url}/store/u", "storagePath": "trigger/p/payload.txt"})
    rec.script_prefix("PUT", "/api/v2/packets/", *[answer] * count)


LONE_SURROGATE_TEXT = "\ud800" + "x" * 131072  # text/plain, 131075 bytes as Node counts them


async def test_offloaded_text_with_lone_surrogate_uploads_like_node() -> None:
    # payloadSize counts the lone surrogate as Node does (3 bytes, U+FFFD), but the upload
    # does data.encode("utf-8"): a bare UnicodeEncodeError escapes after the presign call.
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        _presign(rec, 1)
        rec.script("PUT", "/store/u", Answer(200, None))
        await client.tasks.trigger("t", LONE_SURROGATE_TEXT)
    (upload,) = rec.requests_to("/store/u")
    assert upload.body == ("\ufffd" + "x" * 131072).encode()


async def test_offload_failure_of_lone_surrogate_batch_item_is_a_batch_error() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        _presign(rec, 1)
        rec.script("PUT", "/store/u", Answer(200, None))
        rec.script("POST", "/api/v3/batches", Answer(202, {**CREATED, "runCount": 1}))
        rec.script("POST", ITEMS_PATH, Answer(200, SEALED))
        try:
            await client.tasks.batch_trigger("t", [{"payload": LONE_SURROGATE_TEXT}])
        except BatchTriggerError as error:  # acceptable: a typed, phase-tagged failure
            assert error.phase == "offload"


@pytest.mark.parametrize("url", ["http://[::1/upload", "http://127.0.0.1:99999/upload"])
async def test_unusable_presigned_url_is_a_typed_error(url: str) -> None:
    # yarl/aiohttp raise a bare ValueError ("Invalid IPv6 URL", "Port out of range") that
    # escapes both tasks.trigger and the batch's offload phase unwrapped.
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        _presign(rec, 2, url)
        with pytest.raises(TriggerError):
            await client.tasks.trigger("t", "x" * 131072)
        with pytest.raises(BatchTriggerError) as caught:
            await client.tasks.batch_trigger("t", [{"payload": "x" * 131072}])
    assert caught.value.phase == "offload"


async def test_failed_offload_stops_the_other_uploads() -> None:
    # asyncio.gather() raises the first failure but leaves the other uploads running: presigns
    # and PUTs keep reaching the server after the caller got BatchTriggerError.
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        _presign(rec, 12)
        rec.script("PUT", "/store/u", Answer(400, {"error": "denied"}), *[Answer(200, None, delay=0.3)] * 11)
        with pytest.raises(BatchTriggerError) as caught:
            await client.tasks.batch_trigger("t", [{"payload": "x" * 131072}] * 12)
        at_failure = len(rec.seen)
        await asyncio.sleep(0.8)
        after = len(rec.seen)
    assert caught.value.phase == "offload"
    assert after == at_failure, f"{after - at_failure} requests were sent after the call failed"


# --- items ----------------------------------------------------------------------------------


async def test_tasks_batch_trigger_never_sends_items_to_another_task() -> None:
    # tasks.batch_trigger("a", items) triggers task "a" (official: task is the taskId for every
    # item). A dict item naming another task is refused, but BatchItem(task="b") is obeyed
    # silently and its run goes to task "b".
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, {**CREATED, "runCount": 1}))
        rec.script("POST", ITEMS_PATH, Answer(200, SEALED))
        try:
            await client.tasks.batch_trigger("a", [BatchItem({"n": 1}, task="b")])
        except BAD:
            assert rec.seen == []
            return
    create, stream = rec.seen
    assert create.json()["taskIdentifiers"] == ["a"]
    assert stream.json()["task"] == "a"
