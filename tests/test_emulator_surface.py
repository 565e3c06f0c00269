"""The emulator beyond tasks and runs, over real HTTP: batches, packets, bulk actions,
schedules, timezones, env vars, queues, deployments, prompts and public tokens.

Statuses and bodies are the server-behaviour spec's (Appendix C examples, Appendix D texts,
Appendix E checklist items of these areas).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import zoneinfo
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from trigger_async._jwt import decode_unverified, sign_hs256, verify_hs256
from trigger_async.testing import PROJECT_REF, Emulator, ThreadedEmulator

from .emulator_http import Answer, fetch

NEW_API = {"x-trigger-api-version": "2025-07-16"}
NDJSON = {"Content-Type": "application/x-ndjson"}
SK_KEY = "tr_dev_sk_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
PAT = "tr_pat_" + "a" * 40
FORBIDDEN = {"error": "Unauthorized", "code": "unauthorized", "param": "access_token", "type": "authorization"}


class Api:
    """Requests against one emulator with one credential."""

    def __init__(self, session: aiohttp.ClientSession, emu: Emulator, key: str) -> None:
        self.session = session
        self.emu = emu
        self.key = key

    def as_key(self, key: str) -> Api:
        return Api(self.session, self.emu, key)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Answer:
        sent = {"Authorization": f"Bearer {self.key}", **NEW_API} if auth else {}
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return await fetch(self.session, method, self.emu.url + path, data=data, headers=sent)

    async def ok(self, method: str, path: str, **kw: Any) -> Any:
        status, body, _ = await self.request(method, path, **kw)
        assert status in (200, 202), (status, body)
        return body

    async def trigger(self, task: str = "hello-world", **options: Any) -> str:
        body: dict[str, Any] = {"payload": {"n": 1}}
        if options:
            body["options"] = options
        answer = await self.ok("POST", f"/api/v1/tasks/{quote(task, safe='')}/trigger", body=body)
        return str(answer["id"])

    async def items(self, batch_id: str, lines: list[Any] | bytes, headers: Mapping[str, str] = NDJSON) -> Answer:
        if isinstance(lines, bytes):
            data = lines
        else:
            data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        return await self.request("POST", f"/api/v3/batches/{batch_id}/items", data=data, headers=headers)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator, session: aiohttp.ClientSession) -> Api:
    return Api(session, emu, emu.dev_key)


def _item(index: int, task: str = "t", **options: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"index": index, "task": task, "payload": f'{{"json":{{"i":{index}}}}}'}
    line["options"] = {"payloadType": "application/super+json", **options}
    return line


async def _batch(api: Api, run_count: int, **body: Any) -> str:
    answer = await api.ok("POST", "/api/v3/batches", body={"runCount": run_count, **body})
    return str(answer["id"])


# --------------------------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------------------------


async def test_create_batch(api: Api) -> None:
    status, body, headers = await api.request(
        "POST", "/api/v3/batches", body={"runCount": 2, "taskIdentifiers": ["t"], "idempotencyKey": "k1"}
    )
    assert status == 202
    batch_id = body["id"]
    assert body == {"id": batch_id, "runCount": 2, "isCached": False, "idempotencyKey": "k1"}
    assert batch_id.startswith("batch_") and batch_id.count("_") == 1
    claims = verify_hs256(headers["x-trigger-jwt"], api.key)
    assert claims is not None
    assert claims["scopes"] == [f"read:batch:{batch_id}"]
    assert claims["exp"] - claims["iat"] == 3600
    assert json.loads(headers["x-trigger-jwt-claims"]) == {"sub": claims["sub"], "pub": True}
    assert headers["x-ratelimit-limit"] == "750"
    # Browser clients also get write access for phase two.
    _, _, browser = await api.request(
        "POST", "/api/v3/batches", body={"runCount": 1}, headers={"x-trigger-client": "browser"}
    )
    browser_claims = verify_hs256(browser["x-trigger-jwt"], api.key)
    assert browser_claims is not None and len(browser_claims["scopes"]) == 2
    assert browser_claims["scopes"][1].startswith("write:batch:batch_")


async def test_create_batch_errors(api: Api) -> None:
    status, body, _ = await api.request("POST", "/api/v3/batches", body={"runCount": 1001})
    assert (status, body) == (400, {"error": "Batch runCount of 1001 exceeds maximum allowed of 1000."})
    status, body, _ = await api.request("POST", "/api/v3/batches", body={"runCount": 0})
    assert (status, body) == (400, {"error": 'Validation error: Number must be greater than 0 at "runCount"'})
    status, body, _ = await api.request("POST", "/api/v3/batches", body={"runCount": 1, "taskIdentifiers": []})
    assert (status, body) == (
        400,
        {"error": 'Validation error: Array must contain at least 1 element(s) at "taskIdentifiers"'},
    )
    await _batch(api, 1, idempotencyKey="same")
    status, body, _ = await api.request("POST", "/api/v3/batches", body={"runCount": 1, "idempotencyKey": "same"})
    assert (status, body) == (
        422,
        {"error": "Cannot create batch as it has already been created with the same idempotency key."},
    )
    # Batch keys are per environment.
    other = api.as_key(api.emu.prod_key)
    assert (await other.request("POST", "/api/v3/batches", body={"runCount": 1, "idempotencyKey": "same"}))[0] == 202
    status, body, _ = await api.request("GET", "/api/v3/batches")
    assert (status, body) == (405, None)


async def test_batch_idempotency_cached_option(session: aiohttp.ClientSession) -> None:
    async with Emulator(batch_idempotency_cached=True) as emu:
        api = Api(session, emu, emu.dev_key)
        first = await _batch(api, 3, idempotencyKey="again")
        status, body, headers = await api.request(
            "POST", "/api/v3/batches", body={"runCount": 3, "idempotencyKey": "again"}
        )
        assert (status, body) == (200, {"id": first, "runCount": 3, "isCached": True})
        assert "x-trigger-jwt" in headers


async def test_batch_stream_appendix_c(api: Api) -> None:
    batch_id = await _batch(api, 3)
    status, body, headers = await api.items(batch_id, [_item(0), _item(1)])
    assert (status, body) == (
        200,
        {
            "id": batch_id,
            "itemsAccepted": 2,
            "itemsDeduplicated": 0,
            "sealed": False,
            "enqueuedCount": 2,
            "expectedCount": 3,
            "runCount": 3,
        },
    )
    # The first stream requests of a batch skip the rate limiter.
    assert "x-ratelimit-limit" not in headers
    status, body, _ = await api.items(batch_id, [_item(0), _item(1), _item(2)])
    assert (status, body) == (
        200,
        {"id": batch_id, "itemsAccepted": 1, "itemsDeduplicated": 2, "sealed": True, "runCount": 3},
    )
    status, body, _ = await api.items(batch_id, [_item(0), _item(1), _item(2)])
    assert (status, body) == (
        200,
        {"id": batch_id, "itemsAccepted": 0, "itemsDeduplicated": 0, "sealed": True, "runCount": 3},
    )
    # Already sealed: the items are not even read.
    status, body, _ = await api.items(batch_id, b"not json\n")
    assert (status, body["sealed"], body["itemsAccepted"]) == (200, True, 0)

    retrieved = await api.ok("GET", f"/api/v2/batches/{batch_id}")
    assert retrieved["status"] == "PENDING"
    assert len(retrieved["runs"]) == 3
    assert retrieved["processing"]["errors"] == []
    assert set(retrieved) == {
        "id",
        "status",
        "createdAt",
        "updatedAt",
        "processingCompletedAt",
        "runCount",
        "runs",
        "processing",
    }
    for index, run_id in enumerate(retrieved["runs"]):
        run = await api.ok("GET", f"/api/v3/runs/{run_id}")
        assert run["batchId"] == batch_id
        assert run["triggerFunction"] == "batchTrigger"
        assert run["payload"] == {"i": index}
    _, page, _ = await api.request("GET", f"/api/v1/runs?filter%5Bbatch%5D={batch_id}")
    assert len(page["data"]) == 3
    # Every run final: the batch is COMPLETED.
    for run_id in retrieved["runs"]:
        api.emu.complete_run(run_id, {"ok": True})
    assert (await api.ok("GET", f"/api/v2/batches/{batch_id}"))["status"] == "COMPLETED"
    v1 = await api.ok("GET", f"/api/v1/batches/{batch_id}")
    assert set(v1) == {"id", "status", "createdAt", "updatedAt", "runCount", "runs"}
    assert api.emu.batches(api.key)[0]["sealed"] is True


async def test_batch_stream_errors(api: Api) -> None:
    batch_id = await _batch(api, 2)
    status, body, _ = await api.items(batch_id, [_item(0)], headers={"Content-Type": "application/json"})
    assert (status, body) == (415, {"error": "Content-Type must be application/x-ndjson or application/ndjson"})
    status, body, _ = await api.items(batch_id, json.dumps(_item(0)).encode() + b"\nnot json\n")
    assert (status, body) == (
        400,
        {"error": "Invalid JSON at line 2: Unexpected token 'o', \"not json\" is not valid JSON"},
    )
    status, body, _ = await api.items(batch_id, [_item(2)])
    assert (status, body) == (422, {"error": "Item index 2 exceeds batch runCount 2"})
    status, body, _ = await api.items("batch_doesnotexist", [_item(0)])
    assert (status, body) == (422, {"error": "Batch batch_doesnotexist not found"})
    status, body, _ = await api.items("nobatch", [_item(0)])
    assert (status, body) == (422, {"error": "Invalid batchFriendlyId: nobatch"})
    status, body, _ = await api.items(batch_id, [{"index": 0, "task": 5}])
    assert status == 422
    assert body["error"].startswith("Invalid item at index 0: [\n  {\n")
    issues = json.loads(body["error"].split(": ", 1)[1])
    assert issues == [
        {
            "code": "invalid_type",
            "expected": "string",
            "received": "number",
            "path": ["task"],
            "message": "Expected string, received number",
        }
    ]
    status, body, _ = await api.items(batch_id, [{"task": "t"}])
    assert status == 422 and body["error"].startswith("Invalid item at unknown index: ")
    # Blank lines are skipped; the line numbers still count them.
    status, body, _ = await api.items(batch_id, b'\n\n{"index": 0,\n')
    assert status == 400 and body["error"].startswith("Invalid JSON at line 3: ")
    status, body, _ = await api.request("GET", f"/api/v3/batches/{batch_id}/items")
    assert (status, body) == (405, {"error": "Method not allowed. Use POST to stream batch items."})
    # Nothing was sealed by the failed streams, and good items still count.
    status, body, _ = await api.items(batch_id, [_item(0), _item(1)])
    assert (status, body["sealed"]) == (200, True)


async def test_batch_items_that_cannot_trigger_become_failed_runs(api: Api) -> None:
    batch_id = await _batch(api, 2)
    too_many_tags = [f"t{i}" for i in range(11)]
    await api.items(batch_id, [_item(0), _item(1, tags=too_many_tags)])
    body = await api.ok("GET", f"/api/v2/batches/{batch_id}")
    assert body["status"] == "PARTIAL_FAILED"
    assert body["processing"]["errors"] == [
        {
            "index": 1,
            "taskIdentifier": "t",
            "error": "Runs can only have 10 tags, you're trying to set 11.",
            "errorCode": "BATCH_ITEM_COULD_NOT_TRIGGER",
        }
    ]
    failed = await api.ok("GET", f"/api/v3/runs/{body['runs'][1]}")
    assert failed["status"] == "SYSTEM_FAILURE"
    v1 = await api.ok("GET", f"/api/v1/batches/{batch_id}")
    assert v1["errors"] == body["processing"]["errors"]


async def test_batch_retrieve_not_found_and_tokens(api: Api) -> None:
    status, body, headers = await api.request("GET", "/api/v2/batches/batch_missing")
    assert (status, body, headers["x-should-retry"]) == (404, {"error": "Not found"}, "true")
    status, _, headers = await api.request("GET", "/api/v1/batches/batch_missing")
    assert (status, headers["x-should-retry"]) == (404, "true")
    _, created, headers = await api.request("POST", "/api/v3/batches", body={"runCount": 1})
    other = await _batch(api, 1)
    reader = api.as_key(headers["x-trigger-jwt"])
    assert (await reader.request("GET", f"/api/v2/batches/{created['id']}"))[0] == 200
    assert (await reader.request("GET", f"/api/v2/batches/{other}"))[:2] == (403, FORBIDDEN)
    # A token with write:batch may stream any items of that batch; others need per-task scopes.
    _, claims, _ = await api.request("POST", "/api/v1/auth/jwt/claims")
    now = int(time.time())

    def token(scopes: list[str]) -> str:
        base = {"iss": "https://id.trigger.dev", "aud": "https://api.trigger.dev", "exp": now + 600, "iat": now}
        return sign_hs256({**claims, "scopes": scopes, **base}, api.key)

    assert (await api.as_key(token([f"write:batch:{other}"])).items(other, [_item(0)]))[0] == 200
    third = await _batch(api, 1)
    assert (await api.as_key(token(["batchTrigger:tasks:other"])).items(third, [_item(0)]))[:2] == (
        403,
        {"error": "Unauthorized"},
    )
    assert (await api.as_key(token(["batchTrigger:tasks:t"])).items(third, b""))[:2] == (
        403,
        {"error": "Unauthorized"},
    )
    assert (await api.as_key(token(["batchTrigger:tasks:t"])).items(third, [_item(0)]))[0] == 200
    # Creating needs batchTrigger on every declared task.
    status, body, _ = await api.as_key(token(["batchTrigger:tasks:a"])).request(
        "POST", "/api/v3/batches", body={"runCount": 1, "taskIdentifiers": ["a", "b"]}
    )
    assert (status, body) == (403, FORBIDDEN)


async def test_v2_batch_array_api(api: Api) -> None:
    status, body, _ = await api.request("POST", "/api/v2/tasks/batch", body={"items": []})
    assert (status, body) == (400, {"error": "Batch cannot be triggered with no items"})
    items = [{"task": "t", "payload": {"i": i}} for i in range(501)]
    status, body, _ = await api.request("POST", "/api/v2/tasks/batch", body={"items": items})
    assert (status, body) == (400, {"error": "Batch size of 501 is too large. Maximum allowed batch size is 500."})
    status, body, headers = await api.request("POST", "/api/v2/tasks/batch", body={"items": items[:3]})
    assert status == 202
    assert body == {"id": body["id"], "isCached": False, "runCount": 3}
    assert json.loads(headers["x-trigger-jwt-claims"])["pub"] is True
    retrieved = await api.ok("GET", f"/api/v2/batches/{body['id']}")
    assert len(retrieved["runs"]) == 3
    run = await api.ok("GET", f"/api/v3/runs/{retrieved['runs'][2]}")
    assert run["payload"] == {"i": 2}


async def test_batch_item_quota(session: aiohttp.ClientSession) -> None:
    async with Emulator(rate_limit=True) as emu:
        api = Api(session, emu, emu.prod_key)
        assert (await api.request("POST", "/api/v3/batches", body={"runCount": 1000}))[0] == 202
        before = int(time.time())
        status, body, headers = await api.request("POST", "/api/v3/batches", body={"runCount": 1000})
        assert status == 429
        assert body["error"].startswith("Batch rate limit exceeded. Limit resets at ")
        reset = int(headers["X-RateLimit-Reset"])
        assert before <= reset <= before + 11  # unix seconds, unlike the general limiter
        assert headers["X-RateLimit-Limit"] == "1200"
        assert headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(headers["Retry-After"]) <= 10
        resets_at = datetime.strptime(body["error"].rsplit(" ", 1)[1], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert int(resets_at.replace(tzinfo=timezone.utc).timestamp()) == reset
        assert (await api.request("POST", "/api/v3/batches", body={"runCount": 200}))[0] == 202


async def test_batch_stream_grants(api: Api) -> None:
    batch_id = await _batch(api, 20)
    for index in range(10):
        _, _, headers = await api.items(batch_id, [_item(index)])
        assert "x-ratelimit-limit" not in headers
    _, _, headers = await api.items(batch_id, [_item(10)])
    assert headers["x-ratelimit-limit"] == "750"


# --------------------------------------------------------------------------------------------
# packets and the object store
# --------------------------------------------------------------------------------------------

PACKET = "trigger/packet_mzqu3t4sxknuow2cu75mb/payload.json"


async def test_packet_presign_upload_and_download(api: Api) -> None:
    status, body, headers = await api.request(
        "PUT", "/api/v2/packets/trigger%2Fpacket_mzqu3t4sxknuow2cu75mb%2Fpayload.json"
    )
    assert status == 200
    assert body == {
        "presignedUrl": f"{api.emu.url}/__objectstore/upload/{PACKET}",
        "storagePath": PACKET,
    }
    assert "x-ratelimit-limit" not in headers
    status, body, _ = await api.request("PUT", "/api/v2/packets/x.json", auth=False)
    assert (status, body) == (401, {"error": "Invalid or Missing API key"})
    content = b'{"json":{"big":"' + b"x" * 200_000 + b'"}}'
    async with api.session.put(
        f"{api.emu.url}/__objectstore/upload/{PACKET}", data=content, headers={"Content-Type": "application/super+json"}
    ) as response:
        assert response.status == 200
    assert api.emu.stored_object(PACKET) == (content, "application/super+json")

    answer = await api.ok(
        "POST",
        "/api/v1/tasks/t/trigger",
        body={"payload": PACKET, "options": {"payloadType": "application/store", "payloadSize": len(content)}},
    )
    run_id = answer["id"]
    run = await api.ok("GET", f"/api/v3/runs/{run_id}")
    assert "payload" not in run
    download = f"{api.emu.url}/__objectstore/download/{PACKET}"
    assert run["payloadPresignedUrl"] == download
    async with api.session.get(download) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/super+json"
        assert await response.read() == content
    body = await api.ok("GET", "/api/v1/packets/trigger%2Fpacket_mzqu3t4sxknuow2cu75mb%2Fpayload.json")
    assert body == {"presignedUrl": download}
    async with api.session.get(f"{api.emu.url}/__objectstore/download/nothing/here.json") as response:
        assert response.status == 404


async def test_store_payload_batch_item_and_server_side_offload(api: Api) -> None:
    async with api.session.put(
        f"{api.emu.url}/__objectstore/upload/{PACKET}", data=b"hello", headers={"Content-Type": "text/plain"}
    ) as response:
        assert response.status == 200
    batch_id = await _batch(api, 1)
    line = {"index": 0, "task": "t", "payload": PACKET, "options": {"payloadType": "application/store"}}
    await api.items(batch_id, [line])
    run_id = (await api.ok("GET", f"/api/v2/batches/{batch_id}"))["runs"][0]
    run = await api.ok("GET", f"/api/v3/runs/{run_id}")
    assert run["payloadPresignedUrl"].endswith(f"/__objectstore/download/{PACKET}")
    # A payload of 512 KiB or more is offloaded by the server itself.
    big = "y" * 524_288
    answer = await api.ok(
        "POST", "/api/v1/tasks/t/trigger", body={"payload": big, "options": {"payloadType": "text/plain"}}
    )
    run = await api.ok("GET", f"/api/v3/runs/{answer['id']}")
    assert "payload" not in run
    async with api.session.get(run["payloadPresignedUrl"]) as response:
        assert response.headers["Content-Type"] == "text/plain"
        assert await response.text() == big
    # And so is a large output.
    api.emu.complete_run(answer["id"], {"data": "z" * 524_288})
    run = await api.ok("GET", f"/api/v3/runs/{answer['id']}")
    assert "output" not in run
    async with api.session.get(run["outputPresignedUrl"]) as response:
        assert (await response.json())["data"] == "z" * 524_288


# --------------------------------------------------------------------------------------------
# bulk actions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"action": "cancel"}, "Exactly one of filter or runIds must be provided"),
        (
            {"action": "cancel", "runIds": ["run_1"], "filter": {"tag": "a"}},
            "Exactly one of filter or runIds must be provided",
        ),
        (
            {"action": "delete", "runIds": ["run_1"]},
            "Invalid discriminator value. Expected 'cancel' | 'replay' at \"action\"",
        ),
        ({"action": "cancel", "filter": {"tag": " "}}, 'At least one filter must be provided at "filter"'),
        ({"action": "cancel", "runIds": []}, 'Array must contain at least 1 element(s) at "runIds"'),
        (
            {"action": "cancel", "runIds": ["r"], "targetRegion": "eu"},
            'Expected never, received string at "targetRegion"',
        ),
        ({"action": "cancel", "filter": {"status": "RUNNING"}}, None),
    ],
)
async def test_bulk_action_validation(api: Api, body: dict[str, Any], message: str | None) -> None:
    status, answer, _ = await api.request("POST", "/api/v1/bulk-actions", body=body)
    assert status == 400
    if message is not None:
        assert answer == {"error": f"Validation error: {message}"}
    else:
        assert answer["error"].startswith("Validation error: ")


async def test_bulk_cancel_and_replay(api: Api) -> None:
    queued = [await api.trigger("a", tags=["bulk"]) for _ in range(3)]
    done = await api.trigger("a", tags=["bulk"])
    api.emu.complete_run(done, None)
    other = await api.trigger("b")
    status, body, headers = await api.request(
        "POST", "/api/v1/bulk-actions", body={"filter": {"tag": "bulk"}, "name": "stop", "action": "cancel"}
    )
    assert status == 202
    bulk_id = body["id"]
    assert body == {"id": bulk_id}
    assert headers["x-ratelimit-limit"] == "750"
    retrieved = await api.ok("GET", f"/api/v1/bulk-actions/{bulk_id}")
    assert retrieved == {
        "id": bulk_id,
        "name": "stop",
        "type": "CANCEL",
        "status": "COMPLETED",
        "counts": {"total": 4, "success": 3, "failure": 1},
        "createdAt": retrieved["createdAt"],
        "completedAt": retrieved["completedAt"],
    }
    for run_id in queued:
        assert (await api.ok("GET", f"/api/v3/runs/{run_id}"))["status"] == "CANCELED"
    assert (await api.ok("GET", f"/api/v3/runs/{other}"))["status"] == "QUEUED"
    _, page, _ = await api.request("GET", f"/api/v1/runs?filter%5BbulkAction%5D={bulk_id}")
    assert sorted(r["id"] for r in page["data"]) == sorted(queued)

    status, body, _ = await api.request(
        "POST", "/api/v1/bulk-actions", body={"runIds": [done, other], "action": "replay"}
    )
    replay_id = body["id"]
    replay = await api.ok("GET", f"/api/v1/bulk-actions/{replay_id}")
    assert (replay["type"], replay["counts"]) == ("REPLAY", {"total": 2, "success": 2, "failure": 0})
    assert "name" not in replay
    _, page, _ = await api.request("GET", f"/api/v1/runs?filter%5BbulkAction%5D={replay_id}")
    assert len(page["data"]) == 2

    status, body, _ = await api.request("POST", f"/api/v1/bulk-actions/{bulk_id}/abort")
    assert (status, body) == (409, {"error": f"Bulk action group already completed: {bulk_id}"})
    status, body, _ = await api.request("POST", "/api/v1/bulk-actions/bulk_missing/abort")
    assert (status, body) == (404, {"error": "Resource not found"})
    status, body, headers = await api.request("GET", "/api/v1/bulk-actions/bulk_missing")
    assert (status, body, headers["x-should-retry"]) == (404, {"error": "Not found"}, "false")
    # Public tokens are not accepted here.
    _, _, trigger_headers = await api.request("POST", "/api/v1/tasks/t/trigger", body={})
    jwt = api.as_key(trigger_headers["x-trigger-jwt"])
    assert (await jwt.request("GET", f"/api/v1/bulk-actions/{bulk_id}"))[:2] == (401, {"error": "Invalid API key"})
    assert [a["id"] for a in api.emu.bulk_actions(api.key)] == [bulk_id, replay_id]


async def test_bulk_action_list_pages(api: Api) -> None:
    run_id = await api.trigger()
    ids = []
    for _ in range(5):
        ids.append((await api.ok("POST", "/api/v1/bulk-actions", body={"runIds": [run_id], "action": "cancel"}))["id"])
    newest_first = ids[::-1]
    first = await api.ok("GET", "/api/v1/bulk-actions?page%5Bsize%5D=2")
    assert [a["id"] for a in first["data"]] == newest_first[:2]
    assert set(first["pagination"]) == {"next"}
    second = await api.ok("GET", f"/api/v1/bulk-actions?page%5Bsize%5D=2&page%5Bafter%5D={first['pagination']['next']}")
    assert [a["id"] for a in second["data"]] == newest_first[2:4]
    assert set(second["pagination"]) == {"next", "previous"}
    back = await api.ok(
        "GET", f"/api/v1/bulk-actions?page%5Bsize%5D=2&page%5Bbefore%5D={second['pagination']['previous']}"
    )
    assert [a["id"] for a in back["data"]] == newest_first[:2]
    last = await api.ok("GET", f"/api/v1/bulk-actions?page%5Bsize%5D=2&page%5Bafter%5D={second['pagination']['next']}")
    assert [a["id"] for a in last["data"]] == newest_first[4:]
    assert set(last["pagination"]) == {"previous"}
    status, body, _ = await api.request("GET", "/api/v1/bulk-actions?page%5Bsize%5D=101")
    assert status == 400 and body["error"] == "Query Error"
    assert body["details"][0]["message"] == "Number must be less than or equal to 100"
    assert (await api.request("GET", "/api/v1/bulk-actions?page%5Bafter%5D=a&page%5Bbefore%5D=b"))[0] == 500


# --------------------------------------------------------------------------------------------
# schedules and timezones
# --------------------------------------------------------------------------------------------

SCHEDULE = {
    "task": "daily-report",
    "cron": "0 9 * * 1-5",
    "deduplicationKey": "report-user-1",
    "timezone": "Europe/London",
    "externalId": "user_1",
}


def _next_weekday_nine_london(now: datetime) -> datetime:
    zone = zoneinfo.ZoneInfo("Europe/London")
    local = now.astimezone(zone)
    day = local.date()
    while True:
        candidate = datetime(day.year, day.month, day.day, 9, tzinfo=zone)
        if candidate.weekday() < 5 and candidate > now:
            return candidate.astimezone(timezone.utc)
        day += timedelta(days=1)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_create_schedule_appendix_c(api: Api) -> None:
    prod = api.as_key(api.emu.prod_key)
    status, body, _ = await prod.request("POST", "/api/v1/schedules", body=SCHEDULE)
    assert status == 200
    expected_next = _iso(_next_weekday_nine_london(datetime.now(timezone.utc)))
    env = body["environments"][0]
    assert body == {
        "id": body["id"],
        "type": "IMPERATIVE",
        "task": "daily-report",
        "active": True,
        "generator": {"type": "CRON", "expression": "0 9 * * 1-5", "description": "At 09:00 AM, Monday through Friday"},
        "timezone": "Europe/London",
        "externalId": "user_1",
        "deduplicationKey": "report-user-1",
        "environments": [{"id": env["id"], "shortcode": env["shortcode"], "type": "PRODUCTION"}],
        "nextRun": expected_next,
        "nextRunEffectiveAt": expected_next,
    }
    assert body["id"].startswith("sched_") and len(body["id"]) == 27
    # Same deduplication key: the same schedule, updated; the task never changes.
    status, again, _ = await prod.request(
        "POST", "/api/v1/schedules", body={**SCHEDULE, "task": "other", "cron": "0 0 * * *", "externalId": None}
    )
    assert status == 400  # externalId must be a string
    again = await prod.ok(
        "POST", "/api/v1/schedules", body={"task": "other", "cron": "0 0 * * *", "deduplicationKey": "report-user-1"}
    )
    assert again["id"] == body["id"]
    assert again["task"] == "daily-report"
    assert again["timezone"] == "UTC"
    assert "externalId" not in again
    assert again["generator"]["description"] == "At 12:00 AM"
    # The upsert moves the schedule to the caller's environment.
    moved = await api.ok("POST", "/api/v1/schedules", body={**SCHEDULE, "cron": "*/5 * * * *"})
    assert moved["id"] == body["id"]
    assert [e["type"] for e in moved["environments"]] == ["DEVELOPMENT"]
    assert moved["generator"]["description"] == "Every 5 minutes"
    assert (await prod.request("GET", f"/api/v1/schedules/{body['id']}"))[:2] == (404, {"error": "Schedule not found"})


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 0 9 * * *", "Invalid cron expression: CRON expressions with seconds are not allowed"),
        ("", "Invalid cron expression: CRON expression is required"),
        ("99 * * * *", "Invalid cron expression: Constraint error, got value 99 expected range 0-59"),
        ("* * * * foo", 'Invalid cron expression: Validation error, cannot resolve alias "foo"'),
        ("x * * * *", "Invalid cron expression: Invalid characters, got value: x"),
        ("5-1 * * * *", "Invalid cron expression: Invalid range: 5-1"),
    ],
)
async def test_schedule_cron_validation(api: Api, cron: str, message: str) -> None:
    status, body, _ = await api.request("POST", "/api/v1/schedules", body={**SCHEDULE, "cron": cron})
    assert (status, body) == (422, {"error": message})


async def test_schedule_validation(api: Api) -> None:
    status, body, _ = await api.request("POST", "/api/v1/schedules", body={"task": "daily-report", "cron": "0 9 * * *"})
    assert (status, body) == (
        400,
        {
            "error": "Invalid request body",
            "issues": [
                {
                    "code": "invalid_type",
                    "expected": "string",
                    "received": "undefined",
                    "path": ["deduplicationKey"],
                    "message": "Required",
                }
            ],
        },
    )
    status, body, _ = await api.request("POST", "/api/v1/schedules", body={**SCHEDULE, "timezone": "Mars/Olympus"})
    assert (status, body) == (
        422,
        {
            "error": "Invalid IANA timezone: 'Mars/Olympus'. View the list of valid timezones at "
            "https://cloud.trigger.dev/timezones"
        },
    )
    status, body, _ = await api.request("POST", "/api/v1/schedules", body={**SCHEDULE, "window": "25h"})
    assert status == 400
    assert body["issues"] == [
        {"code": "custom", "message": "Schedule window duration cannot exceed 24 hours", "path": ["window"]}
    ]
    status, body, _ = await api.request("POST", "/api/v1/schedules", body={**SCHEDULE, "window": "101%"})
    assert body["issues"][0]["message"] == "Schedule window percentage cannot exceed 100%"
    status, body, _ = await api.request("POST", "/api/v1/schedules", body={**SCHEDULE, "window": "1d"})
    assert body["issues"][0]["message"] == (
        'Schedule window must be a whole duration such as "30m" or "2h", or a percentage such as "30%"'
    )
    body = await api.ok("POST", "/api/v1/schedules", body={**SCHEDULE, "window": "60m"})
    assert body["window"] == "1h"
    nominal = datetime.strptime(body["nextRun"], "%Y-%m-%dT%H:%M:%S.%fZ")
    effective = datetime.strptime(body["nextRunEffectiveAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert timedelta(0) <= effective - nominal < timedelta(hours=1)
    # An update without a window clears it.
    body = await api.ok("PUT", f"/api/v1/schedules/{body['id']}", body={"task": "x", "cron": "0 9 * * *"})
    assert "window" not in body


async def test_schedule_auth(api: Api) -> None:
    for key in ("tr_dev_", api.emu.preview_key):
        status, body, _ = await api.as_key(key).request("GET", "/api/v1/schedules")
        assert (status, body) == (401, {"error": "Invalid or Missing API Key"})
    _, _, headers = await api.request("POST", "/api/v1/tasks/t/trigger", body={})
    status, body, _ = await api.as_key(headers["x-trigger-jwt"]).request("GET", "/api/v1/schedules")
    assert (status, body) == (401, {"error": "Invalid or Missing API Key"})
    status, body, _ = await api.request("GET", "/api/v1/schedules", auth=False)
    assert status == 401 and body["error"] == "No authorization header provided"


async def test_schedule_crud_and_addressing(api: Api) -> None:
    created = await api.ok("POST", "/api/v1/schedules", body=SCHEDULE)
    sched_id = created["id"]
    by_id = await api.ok("GET", f"/api/v1/schedules/{sched_id}")
    by_key = await api.ok("GET", "/api/v1/schedules/report-user-1")
    assert by_id == by_key
    assert by_id["environments"] == [{"id": created["environments"][0]["id"], "type": "DEVELOPMENT"}]
    assert list(by_id)[:6] == ["id", "type", "task", "active", "nextRun", "nextRunEffectiveAt"]
    status, body, _ = await api.request("GET", "/api/v1/schedules/sched_unknown")
    assert (status, body) == (404, {"error": "Schedule not found"})

    off = await api.ok("POST", f"/api/v1/schedules/{sched_id}/deactivate")
    assert (off["active"], off["nextRun"], off["nextRunEffectiveAt"]) == (False, None, None)
    on = await api.ok("POST", "/api/v1/schedules/report-user-1/activate")
    assert on["active"] is True and on["nextRun"] is not None
    status, body, _ = await api.request("GET", f"/api/v1/schedules/{sched_id}/activate")
    assert status == 405

    updated = await api.ok(
        "PUT", "/api/v1/schedules/report-user-1", body={"task": "ignored", "cron": "30 14 1 * *", "externalId": "u2"}
    )
    assert (updated["id"], updated["task"], updated["externalId"]) == (sched_id, "daily-report", "u2")
    assert updated["generator"]["description"] == "At 02:30 PM, on day 1 of the month"
    # PUT on an unknown id creates a brand-new schedule with a random key.
    fresh = await api.ok("PUT", "/api/v1/schedules/sched_doesnotexist", body={"task": "t", "cron": "0 * * * *"})
    assert fresh["id"] not in (sched_id, "sched_doesnotexist")
    assert "deduplicationKey" not in fresh
    assert fresh["generator"]["description"] == "Every hour"

    deleted = await api.ok("DELETE", f"/api/v1/schedules/{sched_id}")
    assert deleted == {"id": sched_id}
    assert (await api.request("DELETE", f"/api/v1/schedules/{sched_id}"))[:2] == (404, {"error": "Schedule not found"})


async def test_declarative_schedules(api: Api) -> None:
    sched_id = api.emu.add_declarative_schedule(api.key, "nightly", "0 0 * * *")
    body = await api.ok("GET", f"/api/v1/schedules/{sched_id}")
    assert (body["type"], body["task"], body["timezone"]) == ("DECLARATIVE", "nightly", "UTC")
    assert "deduplicationKey" not in body
    status, answer, _ = await api.request(
        "PUT", f"/api/v1/schedules/{sched_id}", body={"task": "nightly", "cron": "0 1 * * *"}
    )
    assert (status, answer) == (422, {"error": "Cannot update a declarative schedule"})
    assert (await api.ok("POST", f"/api/v1/schedules/{sched_id}/deactivate"))["active"] is False
    assert await api.ok("DELETE", f"/api/v1/schedules/{sched_id}") == {"id": sched_id}
    with pytest.raises(ValueError, match="seconds"):
        api.emu.add_declarative_schedule(api.key, "t", "0 0 0 * * *")


async def test_schedule_list_pages(api: Api) -> None:
    ids = [
        (await api.ok("POST", "/api/v1/schedules", body={**SCHEDULE, "deduplicationKey": f"k{i}"}))["id"]
        for i in range(23)
    ]
    page = await api.ok("GET", "/api/v1/schedules")
    assert page["pagination"] == {"currentPage": 1, "totalPages": 2, "count": 23}
    assert [s["id"] for s in page["data"]] == ids[::-1][:20]
    item = page["data"][0]
    assert item["environments"][0]["slug"] == "dev"
    assert item["deduplicationKey"] == "k22" and item["externalId"] == "user_1"
    second = await api.ok("GET", "/api/v1/schedules?perPage=20&page=2")
    assert [s["id"] for s in second["data"]] == ids[::-1][20:]
    clamped = await api.ok("GET", "/api/v1/schedules?perPage=500")
    assert clamped["pagination"] == {"currentPage": 1, "totalPages": 1, "count": 23}
    status, body, _ = await api.request("GET", "/api/v1/schedules?page=0")
    assert status == 400
    assert body == {
        "error": "Invalid request parameters",
        "issues": [
            {
                "code": "too_small",
                "minimum": 0,
                "type": "number",
                "inclusive": False,
                "exact": False,
                "message": "Number must be greater than 0",
                "path": ["page"],
            }
        ],
    }
    # Other environments see none of them.
    other = await api.as_key(api.emu.prod_key).ok("GET", "/api/v1/schedules")
    assert other == {"data": [], "pagination": {"currentPage": 1, "totalPages": 0, "count": 0}}
    assert len(api.emu.schedules(api.key)) == 23


async def test_timezones(api: Api) -> None:
    status, body, headers = await api.request("GET", "/api/v1/timezones", auth=False)
    assert status == 200
    zones = body["timezones"]
    assert zones[0] == "UTC"
    assert zones[1:] == sorted(zones[1:])
    assert "Europe/London" in zones and "UTC" not in zones[1:]
    assert "x-ratelimit-limit" not in headers
    _, excluded, _ = await api.request("GET", "/api/v1/timezones?excludeUtc=true", auth=False)
    assert excluded["timezones"] == zones[1:]
    _, kept, _ = await api.request("GET", "/api/v1/timezones?excludeUtc=1", auth=False)
    assert kept["timezones"] == zones


# --------------------------------------------------------------------------------------------
# environment variables
# --------------------------------------------------------------------------------------------

ENVVARS = f"/api/v1/projects/{PROJECT_REF}/envvars"


async def test_envvars_crud(api: Api) -> None:
    assert await api.ok("GET", f"{ENVVARS}/dev") == []
    assert await api.ok("POST", f"{ENVVARS}/dev", body={"name": "FOO", "value": "bar"}) == {"success": True}
    assert await api.ok("POST", f"{ENVVARS}/dev", body={"name": "TOKEN", "value": "s3cret", "isSecret": True}) == {
        "success": True
    }
    assert await api.ok("GET", f"{ENVVARS}/dev") == [
        {"name": "FOO", "value": "bar", "isSecret": False},
        {"name": "TOKEN", "value": "<redacted>", "isSecret": True},
    ]
    # Create overwrites, keeping the secret flag.
    await api.ok("POST", f"{ENVVARS}/dev", body={"name": "TOKEN", "value": "other"})
    assert await api.ok("GET", f"{ENVVARS}/dev/TOKEN") == {"name": "TOKEN", "value": "<redacted>", "isSecret": True}
    assert api.emu.env_vars(api.key)["TOKEN"] == {"value": "other", "isSecret": True}
    assert await api.ok("PUT", f"{ENVVARS}/dev/FOO", body={"value": "baz"}) == {"success": True}
    assert await api.ok("POST", f"{ENVVARS}/dev/FOO", body={"value": "qux"}) == {"success": True}
    assert await api.ok("GET", f"{ENVVARS}/dev/FOO") == {"name": "FOO", "value": "qux", "isSecret": False}
    # An empty value is a no-op that still succeeds.
    assert await api.ok("PUT", f"{ENVVARS}/dev/FOO", body={"value": "  "}) == {"success": True}
    assert api.emu.env_vars(api.key)["FOO"]["value"] == "qux"
    status, body, _ = await api.request("PUT", f"{ENVVARS}/dev/FOO", body={"value": 1})
    assert status == 400 and body["error"] == "Invalid request body" and body["issues"][0]["path"] == ["value"]
    status, body, _ = await api.request("POST", f"{ENVVARS}/dev", body={"name": "A"})
    assert (status, body["error"], body["issues"][0]["path"]) == (400, "Invalid request body", ["value"])

    # Values are per environment of a project-level key.
    prod = api.as_key(api.emu.prod_key)
    status, body, _ = await prod.request("GET", f"{ENVVARS}/prod/FOO")
    assert (status, body) == (404, {"error": "Environment variable not found"})
    status, body, _ = await prod.request("DELETE", f"{ENVVARS}/prod/FOO")
    assert (status, body) == (400, {"error": "Environment variable value not found"})
    assert await prod.ok("PUT", f"{ENVVARS}/prod/FOO", body={"value": "p"}) == {"success": True}
    assert await prod.ok("GET", f"{ENVVARS}/prod") == [{"name": "FOO", "value": "p", "isSecret": False}]

    assert await api.ok("DELETE", f"{ENVVARS}/dev/FOO") == {"success": True}
    assert await prod.ok("DELETE", f"{ENVVARS}/prod/FOO") == {"success": True}
    status, body, _ = await api.request("DELETE", f"{ENVVARS}/dev/FOO")
    assert (status, body) == (404, {"error": "Environment variable not found"})
    status, body, _ = await api.request("GET", f"{ENVVARS}/dev/NOPE")
    assert (status, body) == (404, {"error": "Environment variable not found"})


async def test_envvars_import(api: Api) -> None:
    prod = api.as_key(api.emu.prod_key)
    await prod.ok("POST", f"{ENVVARS}/prod/import", body={"variables": {"DATABASE_URL": "postgres://a", "B": "1"}})
    status, body, _ = await prod.request(
        "POST", f"{ENVVARS}/prod/import", body={"variables": {"DATABASE_URL": "postgres://b", "NEW": "x"}}
    )
    assert (status, body) == (
        400,
        {
            "error": "Some of the variables are already set for these environments. "
            "Set override to true to override them.",
            "variableErrors": [{"key": "DATABASE_URL", "error": "Variable already set in Production."}],
        },
    )
    assert "NEW" not in api.emu.env_vars(api.emu.prod_key)  # all or nothing
    await prod.ok(
        "POST",
        f"{ENVVARS}/prod/import",
        body={"variables": {"DATABASE_URL": "postgres://b", "NEW": "x"}, "override": True},
    )
    assert api.emu.env_vars(api.emu.prod_key)["DATABASE_URL"]["value"] == "postgres://b"
    status, body, _ = await prod.request(
        "POST", f"{ENVVARS}/prod/import", body={"variables": {"TRIGGER_SECRET_KEY": "x", "E": " "}}
    )
    assert (status, body) == (
        400,
        {"error": "You must set at least one valid variable. All the variables submitted are not allowed."},
    )
    status, body, _ = await prod.request("POST", f"{ENVVARS}/prod/import", body={"variables": {"A": 1}})
    assert (status, body) == (400, {"error": "Invalid body"})
    # A dotenv file upload.
    form = aiohttp.FormData()
    form.add_field("variables", b'# comment\nFROM_FILE=yes\nQUOTED="a b"\n', filename=".env")
    form.add_field("override", "true")
    async with api.session.post(
        api.emu.url + f"{ENVVARS}/prod/import", data=form, headers={"Authorization": f"Bearer {api.emu.prod_key}"}
    ) as response:
        assert response.status == 200 and await response.json() == {"success": True}
    values = api.emu.env_vars(api.emu.prod_key)
    assert (values["FROM_FILE"]["value"], values["QUOTED"]["value"]) == ("yes", "a b")


async def test_envvars_auth_and_environments(api: Api) -> None:
    status, body, _ = await api.request("GET", "/api/v1/projects/proj_other/envvars/dev")
    assert (status, body) == (
        400,
        {
            "error": "Invalid project ref for this API key. "
            "Make sure you are using an API key associated with that project."
        },
    )
    # Without a branch header the slug is not checked (a prod key reads prod through /dev).
    prod = api.as_key(api.emu.prod_key)
    await prod.ok("POST", f"{ENVVARS}/prod", body={"name": "P", "value": "1"})
    assert await prod.ok("GET", f"{ENVVARS}/dev") == [{"name": "P", "value": "1", "isSecret": False}]
    status, body, _ = await prod.request("GET", f"{ENVVARS}/dev", headers={"x-trigger-branch": "feature"})
    assert (status, body) == (
        400,
        {
            "error": "Invalid environment slug for this API key. "
            "Make sure you are using an API key associated with that environment."
        },
    )
    assert (await api.as_key(api.emu.staging_key).request("GET", f"{ENVVARS}/staging"))[0] == 200
    # Preview branches are separate environments that see the parent's values.
    preview = api.as_key(api.emu.preview_key)
    status, body, _ = await preview.request("GET", f"{ENVVARS}/preview")
    assert (status, body) == (401, {"error": "x-trigger-branch header required for preview env"})
    a = {"x-trigger-branch": "feature-a"}
    b = {"x-trigger-branch": "feature-b"}
    await preview.ok("POST", f"{ENVVARS}/preview", body={"name": "ONLY_A", "value": "a"}, headers=a)
    assert await preview.ok("GET", f"{ENVVARS}/preview", headers=b) == []
    assert api.emu.env_vars(api.emu.preview_key, "feature-a") == {"ONLY_A": {"value": "a", "isSecret": False}}
    await preview.ok(
        "POST",
        f"{ENVVARS}/preview/import",
        body={"variables": {"CHILD": "c"}, "parentVariables": {"SHARED": "s"}},
        headers=a,
    )
    names = [v["name"] for v in await preview.ok("GET", f"{ENVVARS}/preview", headers=b)]
    assert names == ["SHARED"]
    # Personal access tokens pick the environment by slug; a malformed one is an unknown key.
    assert await api.as_key(PAT).ok("GET", f"{ENVVARS}/prod") == [{"name": "P", "value": "1", "isSecret": False}]
    assert (await api.as_key(PAT).request("GET", "/api/v1/projects/proj_other/envvars/prod"))[:2] == (
        404,
        {"error": "Project not found"},
    )
    assert (await api.as_key(PAT).request("GET", f"{ENVVARS}/qa"))[:2] == (404, {"error": "Environment not found"})
    assert (await api.as_key(PAT).request("GET", f"{ENVVARS}/preview", headers={"x-trigger-branch": "nope"}))[:2] == (
        404,
        {"error": "Branch not found"},
    )
    assert (await api.as_key("tr_pat_short").request("GET", f"{ENVVARS}/prod"))[:2] == (
        401,
        {"error": "Invalid API key"},
    )
    _, _, headers = await api.request("POST", "/api/v1/tasks/t/trigger", body={})
    assert (await api.as_key(headers["x-trigger-jwt"]).request("GET", f"{ENVVARS}/dev"))[:2] == (
        401,
        {"error": "Invalid API key"},
    )


# --------------------------------------------------------------------------------------------
# queues
# --------------------------------------------------------------------------------------------


async def test_queues_from_triggers(api: Api) -> None:
    assert await api.ok("GET", "/api/v1/queues") == {
        "data": [],
        "pagination": {"currentPage": 1, "totalPages": 0, "count": 0},
    }
    await api.trigger("my/task")
    await api.trigger("b-task", queue={"name": "shared/q"})
    page = await api.ok("GET", "/api/v1/queues")
    assert [(q["name"], q["type"]) for q in page["data"]] == [
        ("b-task", "task"),
        ("my/task", "task"),
        ("shared/q", "custom"),
    ]
    assert page["pagination"] == {"currentPage": 1, "totalPages": 1, "count": 3}
    task_queue = page["data"][1]
    assert task_queue == {
        "id": task_queue["id"],
        "name": "my/task",
        "type": "task",
        "running": 0,
        "queued": 1,
        "paused": False,
        "concurrencyLimit": None,
        "concurrency": {"current": None, "base": None, "override": None, "overriddenBy": None, "overriddenAt": None},
        "releaseConcurrencyOnWaitpoint": True,
        "concurrencyLimitOverridePercent": None,
    }
    assert task_queue["id"].startswith("queue_")
    assert await api.ok("GET", f"/api/v1/queues/{task_queue['id']}?type=id") == task_queue
    assert await api.ok("GET", "/api/v1/queues/my%252Ftask?type=task") == task_queue
    assert await api.ok("GET", "/api/v1/queues/task%252Fmy%252Ftask?type=task") == task_queue
    custom = await api.ok("GET", "/api/v1/queues/shared%252Fq?type=custom")
    assert custom["name"] == "shared/q"
    assert (await api.ok("GET", "/api/v1/queues/shared%2Fq?type=custom"))["id"] == custom["id"]
    status, body, _ = await api.request("GET", "/api/v1/queues/nope?type=custom")
    assert (status, body) == (404, {"error": "queue-not-found"})
    status, body, _ = await api.request("GET", "/api/v1/queues/nope?type=other")
    assert status == 400 and body["error"] == "Query Error"
    assert body["details"][0]["code"] == "invalid_enum_value"
    small = await api.ok("GET", "/api/v1/queues?perPage=2&page=2")
    assert [q["name"] for q in small["data"]] == ["shared/q"]
    assert small["pagination"] == {"currentPage": 2, "totalPages": 2, "count": 3}
    status, body, _ = await api.request("GET", "/api/v1/queues?page=0")
    assert (status, body["error"]) == (400, "Query Error")
    assert len(api.emu.queues(api.key)) == 3


async def test_queue_pause_override_reset(api: Api) -> None:
    await api.trigger("q-task")
    path = "/api/v1/queues/q-task"
    paused = await api.ok("POST", f"{path}/pause", body={"type": "task", "action": "pause"})
    assert paused["paused"] is True
    assert (await api.ok("POST", f"{path}/pause", body={"type": "task", "action": "resume"}))["paused"] is False
    status, body, _ = await api.request("POST", "/api/v1/queues/nope/pause", body={"action": "pause"})
    assert (status, body) == (404, {"error": "queue-not-found"})
    status, body, _ = await api.request("POST", f"{path}/pause", body={"type": "task", "action": "stop"})
    assert status == 400 and body["error"].startswith("Validation error: Invalid enum value.")

    exactly_one = {"error": "Validation error: Provide exactly one of `concurrencyLimit` or `percent`"}
    assert (await api.request("POST", f"{path}/concurrency/override", body={"type": "task"}))[:2] == (400, exactly_one)
    both = {"type": "task", "concurrencyLimit": 1, "percent": 5}
    assert (await api.request("POST", f"{path}/concurrency/override", body=both))[:2] == (400, exactly_one)
    status, body, _ = await api.request(
        "POST", f"{path}/concurrency/override", body={"type": "task", "concurrencyLimit": 500}
    )
    assert (status, body) == (400, {"error": "Concurrency limit (500) cannot exceed the environment limit (100)"})
    status, body, _ = await api.request(
        "POST", f"{path}/concurrency/override", body={"type": "task", "concurrencyLimit": 100001}
    )
    assert (status, body) == (
        400,
        {"error": 'Validation error: Number must be less than or equal to 100000 at "concurrencyLimit"'},
    )
    status, body, _ = await api.request("POST", "/api/v1/queues/x/concurrency/override", body={"concurrencyLimit": 1})
    assert (status, body) == (404, {"error": "Queue not found"})
    status, body, _ = await api.request("POST", f"{path}/concurrency/reset", body={"type": "task"})
    assert (status, body) == (400, {"error": "Queue is not overridden"})
    status, body, _ = await api.request(
        "POST", f"{path}/concurrency/reset", data=b"", headers={"Content-Type": "application/json"}
    )
    assert (status, body) == (400, {"error": "Request body is empty"})

    overridden = await api.ok("POST", f"{path}/concurrency/override", body={"type": "task", "concurrencyLimit": 7})
    assert overridden["concurrencyLimit"] == 7
    assert overridden["concurrency"]["override"] == 7
    assert overridden["concurrency"]["base"] is None
    assert overridden["concurrency"]["overriddenAt"] is not None
    by_percent = await api.ok("POST", f"{path}/concurrency/override", body={"type": "task", "percent": 25})
    assert by_percent["concurrencyLimit"] == 25
    retrieved = await api.ok("GET", f"{path}?type=task")
    assert retrieved["concurrencyLimitOverridePercent"] == 25
    reset = await api.ok("POST", f"{path}/concurrency/reset", body={"type": "task"})
    assert reset["concurrencyLimit"] is None
    assert reset["concurrency"] == {
        "current": None,
        "base": None,
        "override": None,
        "overriddenBy": None,
        "overriddenAt": None,
    }
    # Public tokens may read a queue with read:queues, never change one.
    _, claims, _ = await api.request("POST", "/api/v1/auth/jwt/claims")
    now = int(time.time())
    base = {"iss": "https://id.trigger.dev", "aud": "https://api.trigger.dev", "exp": now + 600, "iat": now}
    reader = api.as_key(sign_hs256({**claims, "scopes": ["read:queues"], **base}, api.key))
    assert (await reader.request("GET", f"{path}?type=task"))[0] == 200
    assert (await reader.request("GET", "/api/v1/queues"))[:2] == (401, {"error": "Invalid API key"})
    no_scope = api.as_key(sign_hs256({**claims, "scopes": ["read:runs"], **base}, api.key))
    assert (await no_scope.request("GET", f"{path}?type=task"))[:2] == (403, FORBIDDEN)


# --------------------------------------------------------------------------------------------
# deployments
# --------------------------------------------------------------------------------------------


async def test_current_deployment(api: Api) -> None:
    status, body, headers = await api.request("GET", "/api/v1/deployments/current")
    assert (status, body, headers["x-should-retry"]) == (404, {"error": "Not found"}, "false")
    assert "x-ratelimit-limit" not in headers
    status, body, _ = await api.request("GET", "/api/v1/deployments/current", auth=False)
    assert (status, body) == (401, {"error": "Invalid or Missing API key"})
    deployment_id = api.emu.add_deployment(api.key, "20250101.1")
    api.emu.add_deployment(api.key, "20250101.2", status="FAILED")
    body = await api.ok("GET", "/api/v1/deployments/current")
    assert body == {
        "id": deployment_id,
        "createdAt": body["createdAt"],
        "shortCode": body["shortCode"],
        "version": "20250101.1",
        "runtime": None,
        "runtimeVersion": None,
        "status": "DEPLOYED",
        "deployedAt": body["deployedAt"],
    }
    assert deployment_id.startswith("deployment_")
    # Other environments have no deployment.
    assert (await api.as_key(api.emu.prod_key).request("GET", "/api/v1/deployments/current"))[0] == 404


async def test_list_deployments(api: Api) -> None:
    ids = [api.emu.add_deployment(api.key, f"20250101.{i}") for i in range(1, 8)]
    failed = api.emu.add_deployment(api.key, "20250102.1", status="FAILED")
    first = await api.ok("GET", "/api/v1/deployments?page%5Bsize%5D=1")
    assert [d["id"] for d in first["data"]] == [failed, *ids[::-1][:4]]  # sizes below 5 become 5
    assert first["pagination"] == {"next": ids[3]}
    # The server sends "git": null, which the official SDK's schema rejects: the emulator omits it.
    assert first["data"][0]["deployedAt"] is None and "git" not in first["data"][0]
    assert first["data"][1]["deployedAt"] is not None
    rest = await api.ok("GET", f"/api/v1/deployments?page%5Bsize%5D=5&page%5Bafter%5D={first['pagination']['next']}")
    assert [d["id"] for d in rest["data"]] == ids[:3][::-1]
    assert rest["pagination"] == {}
    only_failed = await api.ok("GET", "/api/v1/deployments?status=FAILED")
    assert [d["id"] for d in only_failed["data"]] == [failed]
    recent = await api.ok("GET", "/api/v1/deployments?period=1h")
    assert len(recent["data"]) == 8
    assert (await api.ok("GET", "/api/v1/deployments?from=2000-01-01&to=2000-01-02"))["data"] == []
    status, body, _ = await api.request("GET", "/api/v1/deployments?page%5Bsize%5D=101")
    assert status == 400
    assert body["error"] == "Query Error"
    assert body["details"][0]["message"] == "Limit must be less than 100"
    status, body, _ = await api.request("GET", "/api/v1/deployments?status=INSTALLING")
    assert (status, body["error"]) == (400, "Query Error")
    status, body, _ = await api.request("GET", "/api/v1/deployments?period=soon")
    assert (status, body) == (500, {"error": "Internal Server Error"})


# --------------------------------------------------------------------------------------------
# prompts
# --------------------------------------------------------------------------------------------


def _seed_prompt(emu: Emulator, key: str) -> str:
    return emu.add_prompt(
        key,
        "greeting",
        [
            {"textContent": "Hello {{name}}!", "model": "gpt-4o"},
            {"textContent": "Hi {{ name }}{{#vip}}, dear {{name}}{{/vip}}. {{missing}}", "commitMessage": "v2"},
        ],
        description="Says hello",
        tags=["demo"],
        default_model="gpt-4o-mini",
    )


async def test_prompts_read(api: Api) -> None:
    assert await api.ok("GET", "/api/v1/prompts") == {"data": []}
    prompt_id = _seed_prompt(api.emu, api.key)
    listed = await api.ok("GET", "/api/v1/prompts")
    assert listed["data"] == [
        {
            "slug": "greeting",
            "friendlyId": prompt_id,
            "description": "Says hello",
            "tags": ["demo"],
            "defaultModel": "gpt-4o-mini",
            "currentVersion": 2,
            "hasOverride": False,
            "updatedAt": listed["data"][0]["updatedAt"],
        }
    ]
    body = await api.ok("GET", "/api/v1/prompts/greeting")
    assert body["data"]["id"] == prompt_id
    assert body["data"]["version"]["version"] == 2
    assert body["data"]["version"]["labels"] == ["current"]
    assert body["data"]["version"]["source"] == "code"
    assert len(body["data"]["version"]["contentHash"]) == 16
    assert (await api.ok("GET", "/api/v1/prompts/greeting?version=1"))["data"]["version"]["model"] == "gpt-4o"
    status, answer, _ = await api.request("GET", "/api/v1/prompts/greeting?label=staging")
    assert (status, answer) == (404, {"error": "No version found"})
    status, answer, headers = await api.request("GET", "/api/v1/prompts/nope")
    assert (status, answer, headers["x-should-retry"]) == (404, {"error": "Not found"}, "false")
    assert (await api.request("GET", "/api/v1/prompts/nope/versions"))[:2] == (404, {"error": "Not found"})
    versions = await api.ok("GET", "/api/v1/prompts/greeting/versions")
    assert [v["version"] for v in versions["data"]] == [2, 1]
    assert versions["data"][0]["commitMessage"] == "v2"

    resolved = await api.ok("POST", "/api/v1/prompts/greeting", body={"variables": {"name": "Ada", "vip": True}})
    assert resolved["data"] == {
        "promptId": prompt_id,
        "slug": "greeting",
        "version": 2,
        "labels": ["current"],
        "template": "Hi {{ name }}{{#vip}}, dear {{name}}{{/vip}}. {{missing}}",
        "text": "Hi Ada, dear Ada. ",
        "model": "gpt-4o-mini",
        "config": None,
    }
    plain = await api.ok("POST", "/api/v1/prompts/greeting", body={"variables": {"name": 42, "vip": 0}})
    assert plain["data"]["text"] == "Hi 42. "
    v1 = await api.ok("POST", "/api/v1/prompts/greeting", body={"version": 1, "variables": {"name": ["a", "b"]}})
    assert (v1["data"]["text"], v1["data"]["model"]) == ("Hello a,b!", "gpt-4o")
    assert (await api.ok("POST", "/api/v1/prompts/greeting", body={}))["data"]["text"] == "Hi . "
    assert (await api.request("POST", "/api/v1/prompts/nope", body={}))[:2] == (404, {"error": "Prompt not found"})
    assert (await api.request("POST", "/api/v1/prompts/greeting", body={"version": 9}))[:2] == (
        404,
        {"error": "No version found"},
    )
    status, answer, _ = await api.request("POST", "/api/v1/prompts/greeting", body={"variables": []})
    assert (status, answer) == (400, {"error": 'Validation error: Expected object, received array at "variables"'})
    api.emu.add_prompt(api.key, "empty", [{"textContent": ""}])
    assert (await api.request("POST", "/api/v1/prompts/empty", body={}))[:2] == (
        404,
        {"error": "Prompt has no content"},
    )


async def test_prompt_overrides_and_promotion(api: Api) -> None:
    _seed_prompt(api.emu, api.key)
    base = "/api/v1/prompts/greeting"
    status, body, _ = await api.request("POST", f"{base}/promote", body={"version": 9})
    assert (status, body) == (404, {"error": "Version 9 not found"})
    assert await api.ok("POST", f"{base}/promote", body={"version": 1}) == {"ok": True}
    assert (await api.ok("GET", base))["data"]["version"]["version"] == 1

    status, body, _ = await api.request("PUT", f"{base}/override", body={"textContent": "x"})
    assert (status, body) == (400, {"error": "No active override to update"})
    status, body, _ = await api.request("POST", f"{base}/override", body={"textContent": "x", "source": "code"})
    assert (status, body) == (400, {"error": 'Validation error: Invalid input at "source"'})
    created = await api.ok("POST", f"{base}/override", body={"textContent": "Yo {{name}}", "model": "m1"})
    assert created == {"ok": True, "version": 3}
    # The override wins, even over an explicit label.
    body = await api.ok("GET", f"{base}?label=current")
    assert (body["data"]["version"]["version"], body["data"]["version"]["source"]) == (3, "api")
    listed = (await api.ok("GET", "/api/v1/prompts"))["data"][0]
    assert (listed["hasOverride"], listed["defaultModel"], listed["currentVersion"]) == (True, "m1", 1)
    assert await api.ok("PATCH", f"{base}/override", body={"textContent": "Hey {{name}}"}) == {"ok": True}
    resolved = await api.ok("POST", base, body={"variables": {"name": "Bo"}})
    assert (resolved["data"]["version"], resolved["data"]["text"], resolved["data"]["model"]) == (3, "Hey Bo", "m1")
    status, body, _ = await api.request("POST", f"{base}/promote", body={"version": 3})
    assert (status, body) == (
        400,
        {"error": "Only code-sourced versions can be promoted. Use the override API instead."},
    )
    assert await api.ok("DELETE", f"{base}/override") == {"ok": True}
    assert (await api.ok("GET", base))["data"]["version"]["version"] == 1
    status, body, _ = await api.request("POST", f"{base}/override/reactivate", body={"version": 2})
    assert (status, body) == (400, {"error": "Code-sourced versions cannot be reactivated as overrides"})
    assert await api.ok("POST", f"{base}/override/reactivate", body={"version": 3}) == {"ok": True}
    assert (await api.ok("GET", base))["data"]["version"]["labels"] == ["override"]
    status, body, _ = await api.request("POST", "/api/v1/prompts/nope/override", body={"textContent": "x"})
    assert (status, body) == (404, {"error": "Prompt not found"})
    status, body, _ = await api.request("GET", f"{base}/override")
    assert (status, body) == (405, None)
    status, body, headers = await api.request("PUT", f"{base}/promote", body={"version": 1})
    assert (status, body, headers["Allow"]) == (405, {"error": "Method not allowed"}, "POST")
    status, body, headers = await api.request("OPTIONS", f"{base}/override", headers={"Origin": "https://a.example"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://a.example"
    # Public tokens need update:prompts:<slug> to change a prompt.
    _, claims, _ = await api.request("POST", "/api/v1/auth/jwt/claims")
    now = int(time.time())
    base_claims = {"iss": "https://id.trigger.dev", "aud": "https://api.trigger.dev", "exp": now + 600, "iat": now}
    reader = api.as_key(sign_hs256({**claims, "scopes": ["read:prompts:greeting"], **base_claims}, api.key))
    assert (await reader.request("GET", base))[0] == 200
    assert (await reader.request("GET", "/api/v1/prompts"))[:2] == (403, FORBIDDEN)
    assert (await reader.request("DELETE", f"{base}/override"))[:2] == (403, FORBIDDEN)
    writer = api.as_key(sign_hs256({**claims, "scopes": ["update:prompts:greeting"], **base_claims}, api.key))
    assert (await writer.request("DELETE", f"{base}/override"))[0] == 200


# --------------------------------------------------------------------------------------------
# public tokens and additional keys
# --------------------------------------------------------------------------------------------


async def test_public_tokens_for_additional_keys(api: Api) -> None:
    sk = api.as_key(SK_KEY)
    # An additional key is a key of the example environment of its kind.
    run_id = await api.trigger()
    assert (await sk.ok("GET", f"/api/v3/runs/{run_id}"))["id"] == run_id
    now = int(time.time())
    status, body, headers = await sk.request(
        "POST", "/api/v1/auth/public-tokens", body={"scopes": [f"read:runs:{run_id}"], "oneTimeUse": True}
    )
    assert status == 200 and set(body) == {"token"}
    assert headers["x-ratelimit-limit"] == "750"
    claims = verify_hs256(body["token"], api.emu.dev_key)  # signed with the environment's root key
    assert claims is not None
    jwt_header, _ = decode_unverified(body["token"])
    assert jwt_header == {"alg": "HS256"}
    _, env_claims, _ = await api.request("POST", "/api/v1/auth/jwt/claims")
    assert claims["sub"] == env_claims["sub"]
    assert (claims["pub"], claims["scopes"], claims["otu"]) == (True, [f"read:runs:{run_id}"], True)
    assert now + 895 <= claims["exp"] <= now + 905  # 15 minutes by default
    token = api.as_key(body["token"])
    assert (await token.request("GET", f"/api/v3/runs/{run_id}"))[0] == 200
    other = await api.trigger()
    assert (await token.request("GET", f"/api/v3/runs/{other}"))[:2] == (403, FORBIDDEN)

    absolute = await sk.ok(
        "POST", "/api/v1/auth/public-tokens", body={"scopes": ["read:runs"], "expirationTime": now + 60}
    )
    absolute_claims = verify_hs256(absolute["token"], api.emu.dev_key)
    assert absolute_claims is not None and absolute_claims["exp"] == now + 60
    day = await sk.ok(
        "POST",
        "/api/v1/auth/public-tokens",
        body={"scopes": ["read:runs"], "expirationTime": "24hr", "realtime": {"skipColumns": ["payload"]}},
    )
    day_claims = verify_hs256(day["token"], api.emu.dev_key)
    assert day_claims is not None and day_claims["realtime"] == {"skipColumns": ["payload"]}
    assert now + 86395 <= day_claims["exp"] <= now + 86405
    assert "otu" not in day_claims


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ({"scopes": ["read:runs"], "expirationTime": "-5m"}, {"error": "Expiration time must be in the future"}),
        ({"scopes": ["read:runs"], "expirationTime": "5m ago"}, {"error": "Expiration time must be in the future"}),
        ({"scopes": ["read:runs"], "expirationTime": 1}, {"error": "Expiration time must be in the future"}),
        ({"scopes": ["read:runs"], "expirationTime": "31d"}, {"error": "Expiration time cannot exceed 30 days"}),
        ({"scopes": ["read:runs"], "expirationTime": "soon"}, {"error": "Invalid expiration time"}),
        (
            {"scopes": []},
            {
                "error": "Invalid request body",
                "issues": [
                    {
                        "code": "too_small",
                        "minimum": 1,
                        "type": "array",
                        "inclusive": True,
                        "exact": False,
                        "message": "Array must contain at least 1 element(s)",
                        "path": ["scopes"],
                    }
                ],
            },
        ),
    ],
)
async def test_public_token_errors(api: Api, body: dict[str, Any], answer: dict[str, Any]) -> None:
    assert (await api.as_key(SK_KEY).request("POST", "/api/v1/auth/public-tokens", body=body))[:2] == (400, answer)


async def test_public_token_auth(api: Api) -> None:
    status, body, _ = await api.request(
        "POST", "/api/v1/auth/public-tokens", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert (status, body) == (400, {"error": "Invalid request body"})
    # Root keys may mint too; public tokens may not.
    minted = await api.ok("POST", "/api/v1/auth/public-tokens", body={"scopes": ["read:runs"]})
    status, body, _ = await api.as_key(minted["token"]).request(
        "POST", "/api/v1/auth/public-tokens", body={"scopes": ["x"]}
    )
    assert (status, body) == (401, {"error": "Invalid API key"})
    status, body, _ = await api.request("POST", "/api/v1/auth/public-tokens", body={"scopes": ["x"]}, auth=False)
    assert status == 401 and body["error"] == "No authorization header provided"
    assert (await api.as_key(minted["token"]).request("GET", "/api/v1/runs"))[0] == 200


# --------------------------------------------------------------------------------------------
# Emulator and ThreadedEmulator parity
# --------------------------------------------------------------------------------------------

CONTROLS = (
    "batches",
    "bulk_actions",
    "schedules",
    "env_vars",
    "queues",
    "stored_object",
    "add_deployment",
    "add_prompt",
    "add_declarative_schedule",
)


def test_threaded_emulator_has_the_same_controls() -> None:
    for name in CONTROLS:
        ours = inspect.signature(getattr(Emulator, name))
        theirs = inspect.signature(getattr(ThreadedEmulator, name))
        assert ours == theirs, name
    assert "batch_idempotency_cached" in inspect.signature(ThreadedEmulator).parameters


def test_threaded_emulator_controls() -> None:
    with ThreadedEmulator() as emu:
        deployment_id = emu.add_deployment(emu.prod_key, "20250101.1")
        prompt_id = emu.add_prompt(emu.prod_key, "p", "Hello {{x}}")
        sched_id = emu.add_declarative_schedule(emu.prod_key, "t", "0 * * * *")

        async def main() -> tuple[Any, Any, Any]:
            async with aiohttp.ClientSession() as session:
                headers = {"Authorization": f"Bearer {emu.prod_key}"}
                async with session.get(emu.url + "/api/v1/deployments/current", headers=headers) as r1:
                    current = await r1.json()
                async with session.post(
                    emu.url + "/api/v1/prompts/p", json={"variables": {"x": 1}}, headers=headers
                ) as r2:
                    resolved = await r2.json()
                async with session.get(emu.url + "/api/v1/schedules", headers=headers) as r3:
                    schedules = await r3.json()
                return current, resolved, schedules

        current, resolved, schedules = asyncio.run(main())
        assert current["id"] == deployment_id
        assert (resolved["data"]["promptId"], resolved["data"]["text"]) == (prompt_id, "Hello 1")
        assert [s["id"] for s in schedules["data"]] == [sched_id]
        assert [s["id"] for s in emu.schedules(emu.prod_key)] == [sched_id]
        assert emu.batches(emu.prod_key) == [] and emu.bulk_actions(emu.prod_key) == []
        assert emu.env_vars(emu.prod_key) == {} and emu.queues(emu.prod_key) == []
        assert emu.stored_object("nothing") is None


async def test_bulk_action_time_window(api: Api) -> None:
    api = api.as_key(api.emu.prod_key)  # no default TTL: runs stay queued
    old = await api.trigger("w")
    api.emu.advance_time(8 * 24 * 3600)
    recent = await api.trigger("w")
    # Without a time filter only the last 7 days count, as in the runs list.
    body = await api.ok("POST", "/api/v1/bulk-actions", body={"filter": {"taskIdentifier": "w"}, "action": "cancel"})
    assert (await api.ok("GET", f"/api/v1/bulk-actions/{body['id']}"))["counts"]["total"] == 1
    assert (await api.ok("GET", f"/api/v3/runs/{old}"))["status"] == "QUEUED"
    assert (await api.ok("GET", f"/api/v3/runs/{recent}"))["status"] == "CANCELED"
    # Run ids are selected whatever their age.
    await api.ok("POST", "/api/v1/bulk-actions", body={"runIds": [old], "action": "cancel"})
    assert (await api.ok("GET", f"/api/v3/runs/{old}"))["status"] == "CANCELED"
    status, answer, _ = await api.request(
        "POST", "/api/v1/bulk-actions", body={"filter": {"period": "soon"}, "action": "cancel"}
    )
    assert (status, answer) == (500, {"error": "Failed to create bulk action"})
    assert len(api.emu.bulk_actions(api.key)) == 2
