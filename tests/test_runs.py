"""runs.*: query strings, pagination, bodies, and bad arguments refused up front."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from trigger_async import (
    AsyncTriggerClient,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    NoMorePagesError,
    TriggerError,
)

from .recorder import Answer, Recorder, listed_run, run_body

KEY = "tr_dev_runs_key_0000000000"


def page(ids: list[str], **pagination: str) -> Answer:
    return Answer(body={"data": [listed_run(i) for i in ids], "pagination": pagination})


async def test_b18_auto_pagination_keeps_every_filter() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("GET", "/api/v1/runs", page(["r1", "r2"], next="cur_1"), page(["r3", "r4"]))
        ids = [
            r.id async for r in client.runs.list(status=["COMPLETED", "FAILED"], task_identifier="send-email", limit=2)
        ]
    assert ids == ["r1", "r2", "r3", "r4"]
    assert [s.query for s in rec.seen] == [
        "filter%5Bstatus%5D=COMPLETED%2CFAILED&filter%5BtaskIdentifier%5D=send-email&page%5Bsize%5D=2",
        "filter%5Bstatus%5D=COMPLETED%2CFAILED&filter%5BtaskIdentifier%5D=send-email&page%5Bsize%5D=2"
        "&page%5Bafter%5D=cur_1",
    ]
    keys = {s.headers["x-trigger-request-idempotency-key"] for s in rec.seen}
    assert len(keys) == 2


async def test_moving_backwards_drops_the_after_cursor() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("GET", "/api/v1/runs", page(["r5"], previous="p1"), page(["r4"], next="n1"))
        first = await client.runs.list(after="c0", limit=2)
        assert first.has_previous_page() and not first.has_next_page()
        with pytest.raises(NoMorePagesError, match="No next page available"):
            await first.get_next_page()
        previous = await first.get_previous_page()
    assert [r.id for r in previous.data] == ["r4"]
    assert [s.query for s in rec.seen] == [
        "page%5Bsize%5D=2&page%5Bafter%5D=c0",
        "page%5Bsize%5D=2&page%5Bbefore%5D=p1",
    ]


async def test_iter_pages_and_page_objects() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("GET", "/api/v1/runs", page(["a"], next="n1"), page(["b"], next="n2"), page(["c"]))
        pages = [p async for p in client.runs.list().iter_pages()]
    assert [[r.id for r in p.data] for p in pages] == [["a"], ["b"], ["c"]]
    assert pages[0].data[0].env.name == "dev"


async def test_every_filter_and_the_project_form() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        await client.runs.list(
            status="QUEUED",
            version=["v1", "v2"],
            bulk_action="bulk_1",
            tag=["a", "b"],
            schedule="sched_1",
            is_test=False,
            from_=datetime(2024, 1, 1, tzinfo=timezone.utc),
            to=1704153600000,
            period="1d",
            batch="batch_1",
            queue=[{"type": "task", "name": "my-task"}, {"type": "custom", "name": "shared"}],
            machine="small-1x",
            region="eu",
            limit=10,
            after="cur_1",
        )
        await client.runs.list("proj_abc", status="QUEUED", env=["dev", "prod"])
    assert rec.seen[0].query == (
        "filter%5Bstatus%5D=QUEUED&filter%5Bversion%5D=v1%2Cv2&filter%5BbulkAction%5D=bulk_1"
        "&filter%5Btag%5D=a%2Cb&filter%5Bschedule%5D=sched_1&filter%5BisTest%5D=false"
        "&filter%5BcreatedAt%5D%5Bfrom%5D=1704067200000&filter%5BcreatedAt%5D%5Bto%5D=1704153600000"
        "&filter%5BcreatedAt%5D%5Bperiod%5D=1d&filter%5Bbatch%5D=batch_1"
        "&filter%5Bqueue%5D=task%2Fmy-task%2Cshared&filter%5Bmachine%5D=small-1x&filter%5Bregion%5D=eu"
        "&page%5Bsize%5D=10&page%5Bafter%5D=cur_1"
    )
    assert rec.seen[1].raw_path == "/api/v1/projects/proj_abc/runs"
    assert rec.seen[1].query == "filter%5Bstatus%5D=QUEUED&filter%5Benv%5D=dev%2Cprod"


async def test_retrieve_by_handle_cancel_replay_reschedule() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        handle = await client.tasks.trigger("t", 1)
        run = await client.runs.retrieve(handle)
        assert run.id == handle.id and run.is_completed
        assert await client.runs.cancel("run 1/x") == "run 1/x"
        assert await client.runs.replay("run_1") == "run_replayed"
        assert (
            await client.runs.replay(
                "run_1",
                payload={"when": datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)},
                tags=["r"],
            )
            == "run_replayed"
        )
        assert await client.runs.replay("run_1", payload={"a": 1}, payload_type="application/json") == "run_replayed"
        rescheduled = await client.runs.reschedule("run_1", delay="1h")
        await client.runs.reschedule("run_1", delay=datetime(2030, 1, 2, 3, 4, 5, 678999, tzinfo=timezone.utc))
        await client.runs.reschedule("run_1", delay=timedelta(minutes=5))
    assert rescheduled.status == "DELAYED"
    paths = [(s.method, s.raw_path) for s in rec.seen]
    assert paths[1:3] == [
        ("GET", f"/api/v3/runs/{handle.id}"),
        ("POST", "/api/v2/runs/run%201%2Fx/cancel"),
    ]
    assert rec.seen[3].body == b""
    assert rec.seen[4].body.decode() == (
        '{"payload":"{\\"json\\":{\\"when\\":\\"2030-01-02T03:04:05.678Z\\"},\\"meta\\":{\\"values\\":'
        '{\\"when\\":[\\"Date\\"]}}}","tags":["r"],"payloadType":"application/super+json"}'
    )
    assert rec.seen[5].json() == {"payload": {"a": 1}, "payloadType": "application/json"}
    assert [s.json() for s in rec.seen[6:]] == [
        {"delay": "1h"},
        {"delay": "2030-01-02T03:04:05.678Z"},
        {"delay": "300s"},
    ]


async def test_poll_until_completed() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        running = run_body("run_1", status="EXECUTING", isCompleted=False, isSuccess=False, isExecuting=True)
        rec.script("GET", "/api/v3/runs/run_1", Answer(body=running), Answer(body=running))
        run = await client.runs.poll("run_1", poll_interval_ms=10)
        rec.script("GET", "/api/v3/runs/run_2", Answer(body=running), repeat=True)
        with pytest.raises(TriggerError, match="Run run_2 did not complete after 3 attempts"):
            await client.runs.poll("run_2", poll_interval_ms=1, max_attempts=3)
    assert run.status == "COMPLETED"
    assert len(rec.requests_to("/api/v3/runs/run_1")) == 3
    assert len(rec.requests_to("/api/v3/runs/run_2")) == 3


async def test_presigned_packets_are_downloaded_and_failures_swallowed() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script(
            "GET",
            "/api/v3/runs/run_p",
            Answer(
                body=run_body(
                    "run_p",
                    payloadPresignedUrl=f"{rec.url}/store/p",
                    outputPresignedUrl=f"{rec.url}/store/o",
                )
            ),
        )
        rec.script(
            "GET",
            "/store/p",
            Answer(
                body='{"json":{"d":"2024-01-01T00:00:00.000Z"},"meta":{"values":{"d":["Date"]}}}',
                headers={"Content-Type": "application/super+json"},
            ),
        )
        rec.script("GET", "/store/o", Answer(status=500, body="boom"))
        run = await client.runs.retrieve("run_p")
    assert run.payload == {"d": datetime(2024, 1, 1, tzinfo=timezone.utc)}
    assert run.output is None
    downloads = [s for s in rec.seen if s.path.startswith("/store/")]
    assert len(downloads) == 2
    assert all(
        "authorization" not in s.headers and "x-trigger-request-idempotency-key" not in s.headers for s in downloads
    )


BAD_LIST: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"status": "RUNNING"}, InvalidArgumentError, "status: 'RUNNING' is not one of"),
    ({"limit": 0}, InvalidArgumentError, "limit: must be >= 1"),
    ({"limit": 101}, InvalidArgumentError, "limit: must be between 1 and 100"),
    ({"env": "dev"}, InvalidArgumentError, "env: only applies with a project_ref"),
    ({"from_": datetime(2024, 1, 1)}, ValueError, "from_"),
    (
        {"to": "yesterday"},
        InvalidArgumentTypeError,
        "to: expected an aware datetime or epoch milliseconds",
    ),
    ({"machine": ["tiny"]}, InvalidArgumentError, "machine: 'tiny' is not one of"),
    ({"queue": {"type": "other", "name": "q"}}, InvalidArgumentError, "queue: expected QueueRef"),
    ({"is_test": "no"}, InvalidArgumentTypeError, "is_test: expected bool"),
    (
        {"after": "a", "before": "b"},
        InvalidArgumentError,
        "after: pass at most one of after / before",
    ),
    ({"tag": [1]}, InvalidArgumentTypeError, "tag: items must be str, got int"),
]


@pytest.mark.parametrize(("arguments", "error", "message"), BAD_LIST)
async def test_bad_list_arguments_raise_at_the_call(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        with pytest.raises(error) as caught:
            client.runs.list(**arguments)
    assert message in str(caught.value)
    assert rec.seen == []


BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    ("retrieve", ("",), {}, InvalidArgumentError, "run_id: must not be empty"),
    (
        "retrieve",
        (42,),
        {},
        InvalidArgumentTypeError,
        "run_id: expected a run id or an object with an id",
    ),
    ("cancel", (None,), {}, InvalidArgumentTypeError, "run_id"),
    ("replay", ("run_1",), {"payload_type": "text/plain"}, InvalidArgumentError, "payload_type"),
    ("replay", ("run_1",), {"machine": "xl"}, InvalidArgumentError, "machine"),
    ("reschedule", ("run_1",), {"delay": None}, InvalidArgumentError, "delay: is required"),
    ("reschedule", ("run_1",), {"delay": datetime(2030, 1, 1)}, ValueError, "delay"),
    (
        "poll",
        ("run_1",),
        {"poll_interval_ms": -1},
        InvalidArgumentError,
        "poll_interval_ms: must be >= 0",
    ),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "error", "message"), BAD_CALLS)
async def test_bad_run_arguments_raise_before_any_request(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        with pytest.raises(error) as caught:
            await getattr(client.runs, method)(*args, **kwargs)
    assert message in str(caught.value)
    assert rec.seen == []
