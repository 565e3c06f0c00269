"""The emulator's realtime endpoints over real HTTP: Electric shapes and SSE run streams.

Requests are the ones the recorded exchanges show (``runs_subscribe_to_*``,
``runs_fetch_stream``): an initial ``log=full&offset=-1``, follow-ups with ``handle`` and
``offset``, then ``live=true`` long-polls.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import pytest
import yarl

from trigger_async._jwt import sign_hs256
from trigger_async.testing import Emulator, ThreadedEmulator
from trigger_async.testing._presenters import RAW_COLUMNS
from trigger_async.testing._store import Store
from trigger_async.testing._timeutil import iso

from .emulator_http import Answer, fetch

ELECTRIC = {
    "trigger-version": "4.8.3",
    "x-trigger-electric-version": "1.0.0-beta.1",
    "x-trigger-api-version": "2025-07-16",
}
FORBIDDEN = {"error": "Unauthorized", "code": "unauthorized", "param": "access_token", "type": "authorization"}
NAIVE_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
UP_TO_DATE = {"headers": {"control": "up-to-date"}}
POLL = 0.3


class Client:
    """Raw requests against one emulator with one credential."""

    def __init__(self, session: aiohttp.ClientSession, url: str, key: str) -> None:
        self.session = session
        self.url = url
        self.key = key

    async def get(self, path: str, query: str = "", headers: Mapping[str, str] | None = None) -> Answer:
        sent = {"Authorization": f"Bearer {self.key}", **ELECTRIC, **(headers or {})}
        return await fetch(self.session, "GET", self.url + path + (f"?{query}" if query else ""), headers=sent)

    async def post(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        sent = {"Authorization": f"Bearer {self.key}", "x-trigger-api-version": "2025-07-16", **(headers or {})}
        async with self.session.post(self.url + path, json=body, headers=sent) as response:
            assert response.status in (200, 202), await response.text()
            return await response.json()

    async def trigger(self, task: str = "my-task", payload: Any = None, **options: Any) -> str:
        body: dict[str, Any] = {"payload": {"hello": "world"} if payload is None else payload}
        if options:
            body["options"] = options
        return str((await self.post(f"/api/v1/tasks/{task}/trigger", body))["id"])

    async def snapshot(self, path: str, query: str = "") -> tuple[list[Any], str, str]:
        status, body, headers = await self.get(path, "&".join(filter(None, [query, "log=full&offset=-1"])))
        assert status == 200, body
        return body, headers["electric-handle"], headers["electric-offset"]

    async def follow(self, path: str, handle: str, offset: str, *, live: bool = False, extra: str = "") -> Answer:
        parts = [extra, "cursor=1" if live else "", f"handle={handle}", "live=true" if live else "", "log=full"]
        return await self.get(path, "&".join(filter(None, [*parts, f"offset={offset}"])))


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(realtime_poll_timeout=POLL) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator, session: aiohttp.ClientSession) -> Client:
    return Client(session, emu.url, emu.dev_key)


def _rows(messages: list[Any]) -> list[dict[str, Any]]:
    assert messages[-1] == UP_TO_DATE
    return list(messages[:-1])


def _public_token(emu: Emulator, scopes: list[str], **claims: Any) -> str:
    payload = {"sub": Store.root_env_id(emu.dev_key), "pub": True, "scopes": scopes, **claims}
    payload |= {"iss": "https://id.trigger.dev", "aud": "https://api.trigger.dev", "exp": int(time.time()) + 600}
    return sign_hs256(payload, emu.dev_key)


# --------------------------------------------------------------------------------------------
# run shapes
# --------------------------------------------------------------------------------------------


async def test_initial_snapshot_is_the_recorded_shape(api: Client, emu: Emulator) -> None:
    run_id = await api.trigger(tags=["tag-a"])
    emu.start_run(run_id)
    emu.complete_run(run_id, {"ok": True})
    status, body, headers = await api.get(f"/realtime/v1/runs/{run_id}", "log=full&offset=-1")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["electric-offset"] == "0_0"
    assert headers["electric-schema"] == "{}"
    assert headers["electric-up-to-date"] == ""
    assert headers["electric-handle"] and headers["electric-cursor"]
    assert "x-ratelimit-limit" not in headers
    [insert] = _rows(body)
    row = insert["value"]
    assert insert["headers"] == {"operation": "insert"}
    assert insert["key"] == f'"public"."TaskRun"/"{row["id"]}"'
    assert list(row) == list(RAW_COLUMNS)
    assert row["id"] != run_id and row["friendlyId"] == run_id
    assert (row["taskIdentifier"], row["status"], row["number"], row["isTest"]) == (
        "my-task",
        "COMPLETED_SUCCESSFULLY",
        1,
        False,
    )
    for column in ("createdAt", "updatedAt", "startedAt", "queuedAt", "completedAt"):
        assert NAIVE_TIMESTAMP.match(row[column]), column
    assert row["delayUntil"] is None and row["expiredAt"] is None and row["error"] is None
    assert (row["payload"], row["payloadType"]) == ('{"hello":"world"}', "application/json")
    assert (row["output"], row["outputType"]) == ('{"ok":true}', "application/json")
    assert (row["metadata"], row["metadataType"]) == (None, "application/json")
    assert row["runTags"] == ["tag-a"] and row["realtimeStreams"] == []
    assert (row["costInCents"], row["baseCostInCents"], row["ttl"]) == (0, 0, "10m")
    assert row["usageDurationMs"] >= 0
    # The run's second sibling of the same task is number 2; another task starts again at 1.
    second, other = await api.trigger(), await api.trigger("other-task")
    assert _rows((await api.snapshot(f"/realtime/v1/runs/{second}"))[0])[0]["value"]["number"] == 2
    assert _rows((await api.snapshot(f"/realtime/v1/runs/{other}"))[0])[0]["value"]["number"] == 1


async def test_follow_up_returns_the_changed_columns(api: Client, emu: Emulator) -> None:
    run_id = await api.trigger()
    path = f"/realtime/v1/runs/{run_id}"
    _, handle, offset = await api.snapshot(path)
    # Nothing happened yet: up-to-date with the same offset.
    status, body, headers = await api.follow(path, handle, offset)
    assert (status, body, headers["electric-offset"]) == (200, [UP_TO_DATE], offset)
    emu.start_run(run_id)
    status, body, headers = await api.follow(path, handle, offset)
    assert status == 200 and headers["electric-handle"] == handle
    [update] = _rows(body)
    assert update["headers"] == {"operation": "update"}
    value = update["value"]
    assert value["status"] == "EXECUTING" and NAIVE_TIMESTAMP.match(value["startedAt"])
    assert set(value) <= {"id", "status", "startedAt", "updatedAt"} and "id" in value
    assert headers["electric-offset"] != offset
    # Failing the run: the stored error is a TaskRunError, as the SDK's row schema wants.
    emu.fail_run(run_id, {"name": "TypeError", "message": "boom", "stackTrace": "at x"})
    _, body, later = await api.follow(path, handle, headers["electric-offset"])
    [update] = _rows(body)
    assert update["value"]["status"] == "COMPLETED_WITH_ERRORS"
    assert update["value"]["error"] == {
        "type": "BUILT_IN_ERROR",
        "name": "TypeError",
        "message": "boom",
        "stackTrace": "at x",
    }
    # Reading from the first offset again gives both changes, in order.
    _, body, again = await api.follow(path, handle, offset)
    assert [m["value"]["status"] for m in _rows(body)] == ["EXECUTING", "COMPLETED_WITH_ERRORS"]
    assert again["electric-offset"] == later["electric-offset"]
    # A snapshot under the same handle is the current row, at the latest offset.
    status, body, headers = await api.get(path, f"handle={handle}&log=full&offset=-1")
    assert headers["electric-handle"] == handle and headers["electric-offset"] == later["electric-offset"]
    assert _rows(body)[0]["value"]["status"] == "COMPLETED_WITH_ERRORS"


async def test_live_request_is_woken_by_complete_run(session: aiohttp.ClientSession) -> None:
    async with Emulator(realtime_poll_timeout=10) as emu:
        api = Client(session, emu.url, emu.dev_key)
        run_id = await api.trigger()
        path = f"/realtime/v1/runs/{run_id}"
        _, handle, offset = await api.snapshot(path)
        started = time.monotonic()
        held = asyncio.create_task(api.follow(path, handle, offset, live=True))
        await asyncio.sleep(0.1)
        assert not held.done()
        emu.complete_run(run_id, {"n": 1})
        status, body, headers = await held
        assert time.monotonic() - started < 2
        assert status == 200 and headers["electric-up-to-date"] == ""
        [update] = _rows(body)
        assert update["value"]["status"] == "COMPLETED_SUCCESSFULLY"
        assert update["value"]["output"] == '{"n":1}'
        assert NAIVE_TIMESTAMP.match(update["value"]["completedAt"])


async def test_live_request_is_woken_by_api_changes(session: aiohttp.ClientSession) -> None:
    async with Emulator(realtime_poll_timeout=10) as emu:
        api = Client(session, emu.url, emu.dev_key)
        run_id = await api.trigger()
        path = f"/realtime/v1/runs/{run_id}"
        _, handle, offset = await api.snapshot(path)
        held = asyncio.create_task(api.follow(path, handle, offset, live=True))
        await asyncio.sleep(0.05)
        await api.post(f"/api/v2/runs/{run_id}/cancel", {})
        _, body, _ = await asyncio.wait_for(held, 2)
        [update] = _rows(body)
        assert update["value"]["status"] == "CANCELED"
        assert update["value"]["error"] == {"type": "STRING_ERROR", "raw": "Canceled by user"}
        # Rescheduling a delayed run moves its delayUntil.
        delayed = await api.trigger(delay="1h")
        path = f"/realtime/v1/runs/{delayed}"
        body, handle, offset = await api.snapshot(path)
        before = _rows(body)[0]["value"]["delayUntil"]
        held = asyncio.create_task(api.follow(path, handle, offset, live=True))
        await asyncio.sleep(0.05)
        await api.post(f"/api/v1/runs/{delayed}/reschedule", {"delay": "2h"})
        _, body, _ = await asyncio.wait_for(held, 2)
        assert _rows(body)[0]["value"]["delayUntil"] > before


async def test_live_request_times_out_with_up_to_date(api: Client) -> None:
    run_id = await api.trigger()
    path = f"/realtime/v1/runs/{run_id}"
    _, handle, offset = await api.snapshot(path)
    started = time.monotonic()
    status, body, headers = await api.follow(path, handle, offset, live=True)
    elapsed = time.monotonic() - started
    assert POLL - 0.05 <= elapsed < POLL + 1
    assert (status, body) == (200, [UP_TO_DATE])
    assert (headers["electric-handle"], headers["electric-offset"]) == (handle, offset)
    assert headers["electric-up-to-date"] == "" and headers["electric-cursor"]


async def test_live_request_wakes_for_time_driven_transitions(session: aiohttp.ClientSession) -> None:
    async with Emulator(realtime_poll_timeout=10) as emu:
        api = Client(session, emu.url, emu.prod_key)
        soon = iso(int(time.time() * 1000) + 300)
        run_id = await api.trigger(delay=soon)
        later = await api.trigger(delay="1h")

        def an_hour_later() -> None:
            emu.advance_time(3600)

        wakes: list[tuple[str, Callable[[], None] | None]] = [(run_id, None), (later, an_hour_later)]
        for rid, wake in wakes:
            path = f"/realtime/v1/runs/{rid}"
            body, handle, offset = await api.snapshot(path)
            assert _rows(body)[0]["value"]["status"] == "DELAYED"
            assert NAIVE_TIMESTAMP.match(_rows(body)[0]["value"]["delayUntil"])
            held = asyncio.create_task(api.follow(path, handle, offset, live=True))
            await asyncio.sleep(0.05)
            if wake is not None:
                wake()
            # No request comes in: the held request itself notices the delay ran out.
            _, body, _ = await asyncio.wait_for(held, 3)
            assert _rows(body)[0]["value"]["status"] == "PENDING"


async def test_unknown_handle_is_a_409_with_a_new_handle(api: Client, emu: Emulator) -> None:
    run_id = await api.trigger()
    path = f"/realtime/v1/runs/{run_id}"
    _, handle, offset = await api.snapshot(path)
    status, body, headers = await api.follow(path, "not-a-handle", offset, live=True)
    assert (status, body) == (409, [{"headers": {"control": "must-refetch"}}])
    fresh = headers["electric-handle"]
    assert fresh and fresh != handle
    # The client refetches from -1 with the new handle.
    status, body, headers = await api.get(path, f"expired_handle=not-a-handle&handle={fresh}&log=full&offset=-1")
    assert status == 200 and headers["electric-handle"] == fresh
    assert _rows(body)[0]["value"]["friendlyId"] == run_id
    # Another shape's handle does not fit this shape either.
    other = await api.trigger()
    status, _, _ = await api.follow(f"/realtime/v1/runs/{other}", handle, offset)
    assert status == 409
    # Rotating shapes answers held live requests with 409 too.
    held = asyncio.create_task(api.follow(path, fresh, headers["electric-offset"], live=True))
    await asyncio.sleep(0.05)
    emu.rotate_shapes()
    status, body, headers = await asyncio.wait_for(held, 2)
    assert (status, body) == (409, [{"headers": {"control": "must-refetch"}}])
    assert headers["electric-handle"] not in (handle, fresh)
    assert (await api.follow(path, handle, offset))[0] == 409


async def test_protocol_errors(api: Client) -> None:
    run_id = await api.trigger()
    path = f"/realtime/v1/runs/{run_id}"
    _, handle, _ = await api.snapshot(path)
    status, body, _ = await api.follow(path, handle, "banana")
    assert (status, body) == (400, {"message": "Invalid request", "errors": {"offset": ["has invalid format"]}})
    # `log=changes_only` snapshots carry no rows.
    status, body, _ = await api.get(path, "log=changes_only&offset=-1")
    assert (status, body) == (200, [UP_TO_DATE])


async def test_legacy_clients(api: Client, emu: Emulator) -> None:
    run_id = await api.trigger()
    emu.set_run_status(run_id, "DEQUEUED")
    path = f"/realtime/v1/runs/{run_id}"
    # No x-trigger-api-version: DEQUEUED reads EXECUTING, as for the server's older API.
    _, body, _ = await api.get(path, "log=full&offset=-1", {"x-trigger-api-version": "none"})
    assert _rows(body)[0]["value"]["status"] == "EXECUTING"
    assert _rows((await api.snapshot(path))[0])[0]["value"]["status"] == "DEQUEUED"
    # No x-trigger-electric-version: the pre-1.0 header and parameter names.
    bare = {"Authorization": f"Bearer {api.key}"}
    async with api.session.get(yarl.URL(f"{api.url}{path}?offset=-1", encoded=True), headers=bare) as response:
        assert response.status == 200
        shape_id = response.headers["electric-shape-id"]
        last = response.headers["electric-chunk-last-offset"]
        assert "electric-handle" not in response.headers
    url = yarl.URL(f"{api.url}{path}?offset={last}&shape_id={shape_id}", encoded=True)
    async with api.session.get(url, headers=bare) as response:
        assert response.status == 200 and await response.json() == [UP_TO_DATE]


# --------------------------------------------------------------------------------------------
# skipColumns
# --------------------------------------------------------------------------------------------


async def test_skip_columns(api: Client, emu: Emulator) -> None:
    run_id = await api.trigger()
    path = f"/realtime/v1/runs/{run_id}"
    body, handle, offset = await api.snapshot(path, "skipColumns=payload%2Coutput")
    row = _rows(body)[0]["value"]
    assert "payload" not in row and "output" not in row
    assert list(row) == [c for c in RAW_COLUMNS if c not in ("payload", "output")]
    emu.complete_run(run_id, {"secret": 1})
    status, body, _ = await api.follow(path, handle, offset, extra="skipColumns=payload%2Coutput")
    assert status == 200 and "output" not in _rows(body)[0]["value"]
    # The same handle with other columns is another shape.
    assert (await api.follow(path, handle, offset))[0] == 409
    # Reserved columns stay; empty entries are ignored.
    body, _, _ = await api.snapshot(path, "skipColumns=id%2Cstatus%2C%2CrunTags")
    row = _rows(body)[0]["value"]
    assert "id" in row and "status" in row and "runTags" not in row
    status, body, _ = await api.get(path, "log=full&offset=-1&skipColumns=payload%2Cnope")
    assert status == 400
    assert body == {
        "error": "Query Error",
        "details": [{"code": "custom", "message": 'Unknown column: "nope"', "path": ["skipColumns"]}],
    }
    # A public token's realtime.skipColumns claim replaces the parameter.
    token = _public_token(emu, [f"read:runs:{run_id}"], realtime={"skipColumns": ["metadata", "friendlyId"]})
    body, _, _ = await Client(api.session, api.url, token).snapshot(path, "skipColumns=payload")
    row = _rows(body)[0]["value"]
    assert "metadata" not in row and "payload" in row and "friendlyId" in row


# --------------------------------------------------------------------------------------------
# tags and batch shapes
# --------------------------------------------------------------------------------------------


async def test_tags_shape(api: Client, emu: Emulator) -> None:
    old = await api.trigger(tags=["user:1", "org:2"])
    emu.advance_time(25 * 3600)
    recent = await api.trigger(tags=["user:1", "org:2"])
    emu.advance_time(2 * 3600)
    both = await api.trigger(tags=["user:1", "org:2"])
    one = await api.trigger(tags=["user:1"])
    untagged = await api.trigger()
    path = "/realtime/v1/runs"
    body, handle, offset = await api.snapshot(path, "createdAt=1h&skipColumns=payload&tags=user%3A1%2Corg%3A2")
    # Runs carrying every tag, created within the window.
    assert [m["value"]["friendlyId"] for m in _rows(body)] == [both]
    body, _, _ = await api.snapshot(path, "tags=user%3A1")
    # The window defaults to (and is capped at) 24 hours; no tags means every run.
    assert [m["value"]["friendlyId"] for m in _rows(body)] == [recent, both, one]
    body, _, _ = await api.snapshot(path, "createdAt=30d")
    assert [m["value"]["friendlyId"] for m in _rows(body)] == [recent, both, one, untagged]
    assert old not in json.dumps(body)
    emu.advance_time(25 * 3600)
    assert (await api.snapshot(path))[0] == [UP_TO_DATE]
    # A new run with the tags joins the held shape as an insert.
    query = "createdAt=1h&skipColumns=payload&tags=user%3A1%2Corg%3A2"
    _, handle, offset = await api.snapshot(path, query)
    held = asyncio.create_task(api.follow(path, handle, offset, live=True, extra=query))
    await asyncio.sleep(0.05)
    newest = await api.trigger(tags=["org:2", "user:1", "x"])
    _, body, _ = await asyncio.wait_for(held, 2)
    [insert] = _rows(body)
    assert insert["headers"] == {"operation": "insert"}
    assert insert["value"]["friendlyId"] == newest and "payload" not in insert["value"]
    # A replay of a tagged run is a new run of the shape too.
    replay = await api.post(f"/api/v1/runs/{newest}/replay", {})
    _, body, _ = await api.follow(path, handle, offset, extra=query)
    assert [m["value"]["friendlyId"] for m in _rows(body)] == [newest, replay["id"]]


async def test_tags_shape_errors(api: Client, emu: Emulator) -> None:
    status, body, _ = await api.get("/realtime/v1/runs", "log=full&offset=-1&tags=a%2C%2Cb")
    assert status == 400
    assert body == {
        "error": "Query Error",
        "details": [{"code": "custom", "message": 'Invalid tag: ""', "path": ["tags"]}],
    }
    status, body, _ = await api.get("/realtime/v1/runs", "log=full&offset=-1&tags=a%22b")
    assert status == 400 and body["details"][0]["message"] == 'Invalid tag: "a\\"b"'
    run_id = await api.trigger(tags=["mine"])
    scoped = Client(api.session, api.url, _public_token(emu, ["read:tags:mine"]))
    body, _, _ = await scoped.snapshot("/realtime/v1/runs", "tags=mine")
    assert [m["value"]["friendlyId"] for m in _rows(body)] == [run_id]
    status, body, _ = await scoped.get("/realtime/v1/runs", "log=full&offset=-1&tags=other")
    assert (status, body) == (403, FORBIDDEN)
    status, body, _ = await scoped.get("/realtime/v1/runs", "log=full&offset=-1")
    assert (status, body) == (403, FORBIDDEN)


async def test_batch_shape(api: Client, emu: Emulator) -> None:
    batch = await api.post("/api/v3/batches", {"runCount": 2})
    batch_id = batch["id"]
    path = f"/realtime/v1/batches/{batch_id}"
    body, handle, offset = await api.snapshot(path)
    assert body == [UP_TO_DATE]
    held = asyncio.create_task(api.follow(path, handle, offset, live=True))
    await asyncio.sleep(0.05)
    lines = "".join(json.dumps({"index": i, "task": "my-task", "payload": {"i": i}}) + "\n" for i in range(2))
    async with api.session.post(
        f"{api.url}/api/v3/batches/{batch_id}/items",
        data=lines.encode(),
        headers={"Authorization": f"Bearer {api.key}", "Content-Type": "application/x-ndjson"},
    ) as response:
        assert response.status == 200
    _, body, headers = await asyncio.wait_for(held, 2)
    inserts = _rows(body)
    assert [m["headers"]["operation"] for m in inserts] == ["insert", "insert"]
    assert [m["value"]["payload"] for m in inserts] == ['{"i":0}', '{"i":1}']
    run_ids = [m["value"]["friendlyId"] for m in inserts]
    emu.complete_run(run_ids[1])
    _, body, _ = await api.follow(path, handle, headers["electric-offset"])
    assert [(m["value"]["id"], m["value"]["status"]) for m in _rows(body)] == [
        (inserts[1]["value"]["id"], "COMPLETED_SUCCESSFULLY")
    ]
    status, body, headers = await api.get("/realtime/v1/batches/batch_nope", "log=full&offset=-1")
    assert (status, body, headers["x-should-retry"]) == (404, {"error": "Not found"}, "true")
    token = _public_token(emu, [f"read:batch:{batch_id}"])
    scoped = Client(api.session, api.url, token)
    assert len(_rows((await scoped.snapshot(path))[0])) == 2
    status, body, _ = await scoped.get(f"/realtime/v1/runs/{run_ids[0]}", "log=full&offset=-1")
    assert status == 200  # read on the run's batch reads the run


# --------------------------------------------------------------------------------------------
# authentication
# --------------------------------------------------------------------------------------------


async def test_realtime_auth(api: Client, emu: Emulator, session: aiohttp.ClientSession) -> None:
    run_id = await api.trigger(tags=["t1"])
    for path in (f"/realtime/v1/runs/{run_id}", "/realtime/v1/runs", f"/realtime/v1/streams/{run_id}/s"):
        async with session.get(emu.url + path + "?offset=-1") as response:
            assert response.status == 401
            assert await response.json() == {"error": "Invalid or Missing API key"}
            assert "x-ratelimit-limit" not in response.headers
    status, body, _ = await Client(session, emu.url, "tr_dev_").get(f"/realtime/v1/runs/{run_id}", "offset=-1")
    assert (status, body) == (401, {"error": "Invalid API key"})
    status, body, headers = await api.get("/realtime/v1/runs/run_nope", "log=full&offset=-1")
    assert (status, body, headers["x-should-retry"]) == (404, {"error": "Not found"}, "false")
    # Another environment does not see the run.
    prod = Client(session, emu.url, emu.prod_key)
    assert (await prod.get(f"/realtime/v1/runs/{run_id}", "log=full&offset=-1"))[0] == 404
    for scopes in ([f"read:runs:{run_id}"], ["read:tasks:my-task"], ["read:tags:t1"], ["read:runs"]):
        scoped = Client(session, emu.url, _public_token(emu, scopes))
        assert (await scoped.get(f"/realtime/v1/runs/{run_id}", "log=full&offset=-1"))[0] == 200, scopes
    scoped = Client(session, emu.url, _public_token(emu, ["read:runs:run_other", "write:runs"]))
    status, body, _ = await scoped.get(f"/realtime/v1/runs/{run_id}", "log=full&offset=-1")
    assert (status, body) == (403, FORBIDDEN)
    async with session.options(
        emu.url + f"/realtime/v1/runs/{run_id}",
        headers={"Origin": "http://app.test", "Access-Control-Request-Headers": "authorization"},
    ) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "http://app.test"
    status, _, headers = await api.get(f"/realtime/v1/runs/{run_id}", "log=full&offset=-1", {"Origin": "http://a.b"})
    assert headers["Access-Control-Allow-Origin"] == "http://a.b" and headers["Access-Control-Expose-Headers"] == "*"


# --------------------------------------------------------------------------------------------
# SSE streams
# --------------------------------------------------------------------------------------------


async def _read_stream(api: Client, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any, str]:
    sent = {
        "Authorization": f"Bearer {api.key}",
        "Accept": "text/event-stream",
        "x-trigger-realtime-streams-version": "v2",
        **(headers or {}),
    }
    async with api.session.get(api.url + path, headers=sent) as response:
        return response.status, response.headers, (await response.read()).decode()


async def test_stream_replays_and_ends_when_closed(api: Client, emu: Emulator) -> None:
    run_id = await api.trigger()
    ids = [
        emu.append_stream(run_id, "my-stream", chunk) for chunk in ({"delta": "Hel"}, {"delta": "lo"}, {"done": True})
    ]
    assert all(re.match(r"^\d+-\d+$", i) for i in ids) and len(set(ids)) == 3
    emu.close_stream(run_id, "my-stream")
    status, headers, text = await _read_stream(api, f"/realtime/v1/streams/{run_id}/my-stream")
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream" and headers["Cache-Control"] == "no-cache"
    assert "X-Stream-Version" not in headers
    assert text == (
        f'id: {ids[0]}\ndata: {{"delta":"Hel"}}\n\nid: {ids[1]}\ndata: {{"delta":"lo"}}\n\n'
        f'id: {ids[2]}\ndata: {{"done":true}}\n\n'
    )
    # Last-Event-ID resumes after that event.
    _, _, text = await _read_stream(api, f"/realtime/v1/streams/{run_id}/my-stream", {"Last-Event-ID": ids[0]})
    assert text == f'id: {ids[1]}\ndata: {{"delta":"lo"}}\n\nid: {ids[2]}\ndata: {{"done":true}}\n\n'
    _, _, text = await _read_stream(api, f"/realtime/v1/streams/{run_id}/my-stream", {"Last-Event-ID": ids[2]})
    assert text == ""
    with pytest.raises(ValueError, match="closed"):
        emu.append_stream(run_id, "my-stream", 1)
    with pytest.raises(KeyError):
        emu.append_stream("run_nope", "my-stream", 1)
    # The run's row lists its streams.
    body, _, _ = await api.snapshot(f"/realtime/v1/runs/{run_id}")
    assert _rows(body)[0]["value"]["realtimeStreams"] == ["my-stream"]


async def test_stream_pushes_chunks_while_open(api: Client, emu: Emulator) -> None:
    run_id = await api.trigger()
    path = f"/realtime/v1/runs/{run_id}"
    _, handle, offset = await api.snapshot(path)
    sent = {"Authorization": f"Bearer {api.key}", "Accept": "text/event-stream"}
    async with api.session.get(f"{api.url}/realtime/v1/streams/{run_id}/live", headers=sent) as response:
        assert response.status == 200
        first = emu.append_stream(run_id, "live", "a")
        line = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 2)
        assert line == f'id: {first}\ndata: "a"\n\n'.encode()
        second = emu.append_stream(run_id, "live", [1, 2])
        line = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 2)
        assert line == f"id: {second}\ndata: [1,2]\n\n".encode()
        emu.close_stream(run_id, "live")
        assert await asyncio.wait_for(response.content.read(), 2) == b""
    # The first chunk created the stream: the run shape saw realtimeStreams change.
    _, body, _ = await api.follow(path, handle, offset)
    assert _rows(body)[0]["value"]["realtimeStreams"] == ["live"]


async def test_stream_errors(api: Client) -> None:
    status, headers, text = await _read_stream(api, "/realtime/v1/streams/run_nope/s")
    assert (status, json.loads(text), headers["x-should-retry"]) == (404, {"error": "Not found"}, "false")
    run_id = await api.trigger()
    for value, message in (
        ("700", "Timeout seconds must be less than 600"),
        ("-3", "Timeout seconds must be greater than 0"),
    ):
        status, headers, text = await _read_stream(api, f"/realtime/v1/streams/{run_id}/s", {"Timeout-Seconds": value})
        assert (status, text) == (400, message)


async def test_stream_inactivity_timeout(api: Client) -> None:
    run_id = await api.trigger()
    started = time.monotonic()
    status, _, text = await _read_stream(api, f"/realtime/v1/streams/{run_id}/s", {"Timeout-Seconds": "1"})
    assert (status, text) == (200, "")
    assert 0.9 <= time.monotonic() - started < 3


# --------------------------------------------------------------------------------------------
# lifecycle, threads and parity
# --------------------------------------------------------------------------------------------


async def test_closing_releases_held_requests(session: aiohttp.ClientSession) -> None:
    emu = Emulator(realtime_poll_timeout=30)
    await emu.start()
    api = Client(session, emu.url, emu.dev_key)
    run_id = await api.trigger()
    path = f"/realtime/v1/runs/{run_id}"
    _, handle, offset = await api.snapshot(path)
    held = asyncio.create_task(api.follow(path, handle, offset, live=True))
    stream = asyncio.create_task(_read_stream(api, f"/realtime/v1/streams/{run_id}/s"))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await emu.close()
    assert time.monotonic() - started < 1
    status, body, headers = await asyncio.wait_for(held, 2)
    assert (status, body, headers["electric-offset"]) == (200, [UP_TO_DATE], offset)
    assert (await asyncio.wait_for(stream, 2))[:3:2] == (200, "")


def test_threaded_emulator_wakes_waiters_from_other_threads() -> None:
    with ThreadedEmulator(realtime_poll_timeout=10) as emu:

        async def main() -> tuple[Answer, float, str]:
            async with aiohttp.ClientSession() as session:
                api = Client(session, emu.url, emu.dev_key)
                run_id = await api.trigger()
                path = f"/realtime/v1/runs/{run_id}"
                _, handle, offset = await api.snapshot(path)
                timer = threading.Timer(0.2, emu.complete_run, args=(run_id, {"done": True}))
                started = time.monotonic()
                timer.start()
                answer = await api.follow(path, handle, offset, live=True)
                elapsed = time.monotonic() - started
                timer.join()

                def append_and_close() -> None:
                    emu.append_stream(run_id, "k", 1)
                    emu.close_stream(run_id, "k")

                appender = threading.Timer(0.1, append_and_close)
                appender.start()
                _, _, text = await _read_stream(api, f"/realtime/v1/streams/{run_id}/k")
                appender.join()
                return answer, elapsed, text

        (status, body, _), elapsed, text = asyncio.run(main())
        assert status == 200 and elapsed < 5
        assert _rows(body)[0]["value"]["output"] == '{"done":true}'
        assert text.endswith("data: 1\n\n")


def test_threaded_emulator_has_the_realtime_controls() -> None:
    for name in ("append_stream", "close_stream", "rotate_shapes"):
        assert inspect.signature(getattr(Emulator, name)) == inspect.signature(getattr(ThreadedEmulator, name)), name
    for cls in (Emulator, ThreadedEmulator):
        assert inspect.signature(cls).parameters["realtime_poll_timeout"].default == 20.0
    with pytest.raises(ValueError, match="realtime_poll_timeout"):
        Emulator(realtime_poll_timeout=0)
