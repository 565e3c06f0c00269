"""Schedules, envvars, queues, deployments, prompts, bulk actions and tokens: requests and
bad arguments (the official SDK's exact requests are checked by tests/conformance)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

import trigger_async
from trigger_async import (
    AsyncTriggerClient,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    QueueRef,
    RequestOptions,
    RetryOptions,
    TriggerError,
    task_context,
)
from trigger_async._jwt import decode_unverified, verify_hs256

from .recorder import Answer, Recorder

KEY = "tr_prod_surface_key_0000000000"
ADDITIONAL_KEY = "tr_prod_sk_abcdefghijklmnopqrstuvwx"


def schedule(schedule_id: str = "sched_1", **overrides: Any) -> dict[str, Any]:
    body = {
        "id": schedule_id,
        "type": "IMPERATIVE",
        "task": "daily-report",
        "active": True,
        "generator": {"type": "CRON", "expression": "0 9 * * 1-5", "description": "At 09:00"},
        "timezone": "UTC",
        "environments": [{"id": "env_1", "type": "PRODUCTION"}],
    }
    body.update(overrides)
    return body


def queue(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "queue_1",
        "name": "q",
        "type": "custom",
        "running": 0,
        "queued": 0,
        "paused": False,
        "concurrencyLimit": None,
        **overrides,
    }


async def test_b07_schedule_keys_go_to_each_clients_own_environment_and_stay_one_segment() -> None:
    async with Recorder() as rec:
        rec.script(
            "POST", "/api/v1/schedules", Answer(body=schedule()), Answer(body=schedule()), Answer(body=schedule())
        )
        rec.script("GET", "/api/v1/schedules/team a/user-42", Answer(body=schedule()))
        async with (
            AsyncTriggerClient(access_token="tr_prod_k", base_url=rec.url) as prod,
            AsyncTriggerClient(access_token="tr_stg_k", base_url=rec.url) as stg,
        ):
            for client in (prod, stg):
                await client.schedules.create(
                    task="daily-report",
                    cron="0 9 * * 1-5",
                    timezone="America/New_York",
                    deduplication_key="user-42",
                    external_id="u42",
                )
            await prod.schedules.retrieve("team a/user-42")
            await prod.schedules.create(task="t", cron="0 0 * * *", deduplication_key="k")
    first, second, retrieve, minimal = rec.seen
    expected = {
        "task": "daily-report",
        "cron": "0 9 * * 1-5",
        "timezone": "America/New_York",
        "deduplicationKey": "user-42",
        "externalId": "u42",
    }
    assert first.json() == expected == second.json()
    assert (first.headers["authorization"], second.headers["authorization"]) == ("Bearer tr_prod_k", "Bearer tr_stg_k")
    assert retrieve.raw_path == "/api/v1/schedules/team%20a%2Fuser-42"
    assert minimal.json() == {"task": "t", "cron": "0 0 * * *", "deduplicationKey": "k"}


@pytest.mark.parametrize(("total_pages", "count", "expected_requests"), [(2, 4, 2), (0, 0, 1)])
async def test_b18_offset_pages(total_pages: int, count: int, expected_requests: int) -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        for number in (1, 2):
            items = [schedule(f"sched_{number}{i}") for i in range(2)] if count else []
            rec.script(
                "GET",
                "/api/v1/schedules",
                Answer(
                    body={
                        "data": items,
                        "pagination": {"currentPage": number, "totalPages": total_pages, "count": count},
                    }
                ),
            )
        ids = [s.id async for s in client.schedules.list(per_page=2)]
    assert len(rec.seen) == expected_requests
    assert [s.query for s in rec.seen] == ["perPage=2", "perPage=2&page=2"][:expected_requests]
    assert ids == (["sched_10", "sched_11", "sched_20", "sched_21"] if count else [])


async def test_module_level_timezones_sends_no_credentials() -> None:
    async with Recorder() as rec:
        rec.script("GET", "/api/v1/timezones", Answer(body={"timezones": ["Europe/London", "UTC"]}))
        trigger_async.configure(access_token=KEY, base_url=rec.url)
        zones = await trigger_async.schedules.timezones(exclude_utc=True)
        await trigger_async.aclose()
    assert zones == ["Europe/London", "UTC"]
    (seen,) = rec.seen
    assert seen.query == "excludeUtc=true"
    assert "authorization" not in seen.headers and "trigger-version" not in seen.headers
    assert seen.headers["content-type"] == "application/json"
    assert "x-trigger-request-idempotency-key" in seen.headers
    assert not hasattr(AsyncTriggerClient(access_token=KEY).schedules, "timezones")


async def test_envvars_explicit_and_task_context_forms() -> None:
    async with Recorder() as rec:
        for method, path in [
            ("GET", "/api/v1/projects/proj_1/envvars/dev"),
            ("GET", "/api/v1/projects/proj_ctx/envvars/prod"),
        ]:
            rec.script(method, path, Answer(body=[{"name": "A", "value": "1", "isSecret": False}]))
        rec.script("PUT", "/api/v1/projects/proj_1/envvars/dev/MY VAR/x", Answer(body={"success": True}))
        async with AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
            variables = await client.envvars.list("proj_1", "dev")
            assert await client.envvars.update("proj_1", "dev", "MY VAR/x", value="new")
            with pytest.raises(InvalidArgumentError, match="project_ref: is required"):
                await client.envvars.list()
        async with AsyncTriggerClient(access_token=KEY, base_url=rec.url, inherit_context=True) as inheriting:
            async with task_context(run_id="run_1", project_ref="proj_ctx", environment="prod"):
                in_task = await inheriting.envvars.list()
    assert variables[0].name == "A" and in_task[0].value == "1"
    assert rec.seen[1].raw_path == "/api/v1/projects/proj_1/envvars/dev/MY%20VAR%2Fx"
    assert rec.seen[1].json() == {"value": "new"}
    assert [s.raw_path for s in rec.seen] == [
        "/api/v1/projects/proj_1/envvars/dev",
        "/api/v1/projects/proj_1/envvars/dev/MY%20VAR%2Fx",
        "/api/v1/projects/proj_ctx/envvars/prod",
    ]


async def test_queue_argument_forms() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        for path in (
            "/api/v1/queues/team%2Fqueue name",
            "/api/v1/queues/queue_1/pause",
            "/api/v1/queues/my-task/pause",
        ):
            rec.script("GET" if "pause" not in path else "POST", path, Answer(body=queue()))
        rec.script("POST", "/api/v1/queues/q/concurrency/override", Answer(body=queue(version="V2")))
        await client.queues.retrieve(QueueRef("custom", "team/queue name"))
        paused = await client.queues.pause("queue_1")
        await client.queues.resume({"type": "task", "name": "my-task"})
        overridden = await client.queues.override_concurrency_limit(QueueRef("custom", "q"), 5)
    retrieve, pause, resume, override = rec.seen
    assert retrieve.raw_path == "/api/v1/queues/team%252Fqueue%20name" and retrieve.query == "type=custom"
    assert pause.json() == {"type": "id", "action": "pause"} and paused.version == "V1"
    assert resume.json() == {"type": "task", "action": "resume"}
    assert override.json() == {"type": "custom", "concurrencyLimit": 5} and overridden.version == "V2"


async def test_bulk_actions_are_bound_to_their_client() -> None:
    async with Recorder() as rec:
        rec.script("POST", "/api/v1/bulk-actions", Answer(body={"id": "bulk_1"}), Answer(body={"id": "bulk_2"}))
        trigger_async.configure(access_token="tr_dev_global_should_not_be_used", base_url="http://127.0.0.1:9")
        async with AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
            assert await client.runs.bulk.cancel(run_ids=["run_1", "run_2"], name="two") == "bulk_1"
            assert (
                await client.runs.bulk.replay(
                    filter={"status": ["FAILED"], "from": datetime(2024, 1, 1, tzinfo=timezone.utc)},
                    target_region="eu-central-1",
                )
                == "bulk_2"
            )
    cancel, replay = rec.seen
    assert cancel.headers["authorization"] == f"Bearer {KEY}"
    assert cancel.body == b'{"runIds":["run_1","run_2"],"name":"two","action":"cancel"}'
    assert replay.body == (
        b'{"filter":{"status":["FAILED"],"from":"2024-01-01T00:00:00.000Z"},'
        b'"targetRegion":"eu-central-1","action":"replay"}'
    )


async def test_prompts_honour_request_options() -> None:
    options = RequestOptions(retry=RetryOptions(max_attempts=2, min_timeout=0.01), additional_headers={"x-p": "1"})
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script(
            "POST",
            "/api/v1/prompts/greeting",
            Answer(500, {"error": "flaky"}),
            Answer(
                body={
                    "data": {
                        "promptId": "prompt_1",
                        "slug": "greeting",
                        "version": 3,
                        "labels": ["production"],
                        "text": "Hello Ada",
                    }
                }
            ),
        )
        resolved = await client.prompts.resolve(
            "greeting", {"name": "Ada"}, label="production", request_options=options
        )
    assert [s.headers["x-p"] for s in rec.seen] == ["1", "1"]
    assert rec.seen[0].json() == {"variables": {"name": "Ada"}, "label": "production"}
    assert resolved.text == "Hello Ada"
    assert resolved.to_ai_sdk_telemetry({"x": 1}) == {
        "experimental_telemetry": {
            "isEnabled": True,
            "metadata": {
                "prompt.slug": "greeting",
                "prompt.id": "prompt_1",
                "prompt.version": "3",
                "prompt.labels": "production",
                "prompt.input": '{"name":"Ada"}',
                "x": 1,
            },
        }
    }


async def test_public_tokens_root_key_signs_locally_additional_key_asks_the_server() -> None:
    async with Recorder() as rec:
        rec.script(
            "POST",
            "/api/v1/auth/jwt/claims",
            Answer(body={"sub": "env_1", "pub": True}),
            Answer(body={"sub": "env_1", "pub": True}),
        )
        rec.script("POST", "/api/v1/auth/public-tokens", Answer(body={"token": "minted"}), Answer(404, {"error": "x"}))
        async with AsyncTriggerClient(access_token=KEY, base_url=rec.url) as root:
            token = await root.auth.create_public_token(
                scopes={"read": {"runs": ["run_1", "run_2"], "tags": "tag1"}, "write": {"inputStreams": "run_1"}},
                expiration_time="2h",
                realtime={"skipColumns": ["payload"]},
            )
            trigger_token = await root.auth.create_trigger_public_token(["t1", "t2"], multiple_use=True)
        async with AsyncTriggerClient(access_token=ADDITIONAL_KEY, base_url=rec.url) as extra:
            minted = await extra.auth.create_batch_trigger_public_token(
                "a", expiration_time=datetime(2033, 5, 18, 3, 33, 20, tzinfo=timezone.utc)
            )
            with pytest.raises(
                InvalidArgumentError, match="requires at least one scope when using an additional API key"
            ):
                await extra.auth.create_public_token()
            with pytest.raises(TriggerError, match="This additional API key cannot self-sign public tokens"):
                await extra.auth.create_trigger_public_token("a")
    claims = verify_hs256(token, KEY)
    assert claims is not None and decode_unverified(token)[0] == {"alg": "HS256"}
    assert list(claims) == ["sub", "pub", "scopes", "realtime", "iss", "aud", "exp", "iat"]
    assert claims["scopes"] == ["read:runs:run_1", "read:runs:run_2", "read:tags:tag1", "write:inputStreams:run_1"]
    assert claims["exp"] - claims["iat"] == 7200 and claims["realtime"] == {"skipColumns": ["payload"]}
    trigger_claims = verify_hs256(trigger_token, KEY)
    assert trigger_claims is not None
    assert (trigger_claims["otu"], trigger_claims["scopes"]) == (False, ["trigger:tasks:t1", "trigger:tasks:t2"])
    assert trigger_claims["exp"] - trigger_claims["iat"] == 900
    assert minted == "minted"
    minting = [s for s in rec.seen if s.path == "/api/v1/auth/public-tokens"]
    assert minting[0].body == b'{"scopes":["batchTrigger:tasks:a"],"expirationTime":2000000000,"oneTimeUse":true}'
    assert len(minting) == 2  # the scope-less call never reached the server


async def test_deployments_list_query_order() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        rec.script("GET", "/api/v1/deployments", Answer(body={"data": [], "pagination": {}}))
        page = await client.deployments.list(
            status="DEPLOYED",
            period="7d",
            from_="2024-01-01",
            to=datetime(2024, 2, 1, tzinfo=timezone.utc),
            limit=5,
            cursor="dep_0",
        )
    assert page.data == [] and not page.has_next_page()
    assert rec.seen[0].query == (
        "status=DEPLOYED&period=7d&from=2024-01-01&to=2024-02-01T00%3A00%3A00.000Z&page%5Bsize%5D=5&page%5Bafter%5D=dep_0"
    )


NAIVE = datetime(2030, 1, 1)

BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    (
        "schedules.create",
        (),
        {"task": "t", "cron": "0 0 * * * *", "deduplication_key": "k"},
        InvalidArgumentError,
        "cron: must have 5 fields",
    ),
    (
        "schedules.create",
        (),
        {"task": "", "cron": "0 0 * * *", "deduplication_key": "k"},
        InvalidArgumentError,
        "task: must not be empty",
    ),
    (
        "schedules.create",
        (),
        {"task": "t", "cron": "0 0 * * *", "deduplication_key": 5},
        InvalidArgumentTypeError,
        "deduplication_key: expected str",
    ),
    ("schedules.update", ("sched_1",), {"task": "t", "cron": 5}, InvalidArgumentTypeError, "cron: expected str"),
    ("schedules.retrieve", ("",), {}, InvalidArgumentError, "schedule_id: must not be empty"),
    ("schedules.delete", (None,), {}, InvalidArgumentTypeError, "schedule_id: expected str"),
    ("schedules.activate", (3,), {}, InvalidArgumentTypeError, "schedule_id"),
    ("schedules.deactivate", ("",), {}, InvalidArgumentError, "schedule_id"),
    (
        "envvars.list",
        ("proj_1", "production"),
        {},
        InvalidArgumentError,
        "env: must be one of dev, staging, prod, preview",
    ),
    ("envvars.create", ("proj_1", "dev"), {"name": "", "value": "v"}, InvalidArgumentError, "name: must not be empty"),
    (
        "envvars.retrieve",
        ("proj_1", "dev"),
        {},
        InvalidArgumentTypeError,
        "retrieve: takes (project_ref, env, name) or (name,)",
    ),
    ("envvars.update", ("proj_1", "dev", "A"), {"value": 1}, InvalidArgumentTypeError, "value: expected str"),
    ("envvars.delete", ("A",), {}, InvalidArgumentError, "project_ref: is required"),
    (
        "envvars.upload",
        ("proj_1", "dev"),
        {"variables": {}},
        InvalidArgumentError,
        "variables: must be a non-empty mapping",
    ),
    (
        "envvars.upload",
        ("proj_1", "dev"),
        {"variables": {"A": 1}},
        InvalidArgumentTypeError,
        "variables: 'A' must map a str to a str",
    ),
    ("queues.retrieve", ("",), {}, InvalidArgumentError, "queue: must not be empty"),
    (
        "queues.pause",
        ({"type": "other", "name": "q"},),
        {},
        InvalidArgumentError,
        "queue: type must be 'task' or 'custom'",
    ),
    ("queues.resume", (5,), {}, InvalidArgumentTypeError, "queue: expected a queue id, a QueueRef or a dict"),
    ("queues.override_concurrency_limit", ("queue_1", -1), {}, InvalidArgumentError, "concurrency_limit: must be >= 0"),
    (
        "queues.reset_concurrency_limit",
        ({"type": "task", "name": ""},),
        {},
        InvalidArgumentError,
        "queue: name must be a non-empty str",
    ),
    ("prompts.versions", ("",), {}, InvalidArgumentError, "slug: must not be empty"),
    ("prompts.resolve", ("p", ["x"]), {}, InvalidArgumentTypeError, "variables: expected a mapping, got list"),
    ("prompts.resolve", ("p", {"when": NAIVE}), {}, ValueError, "variables.when: naive datetime"),
    ("prompts.promote", ("p", 0), {}, InvalidArgumentError, "version: must be >= 1"),
    ("prompts.create_override", ("p",), {"text_content": ""}, InvalidArgumentError, "text_content: must not be empty"),
    ("prompts.update_override", ("p",), {"model": 4}, InvalidArgumentTypeError, "model: expected str"),
    ("prompts.remove_override", (None,), {}, InvalidArgumentTypeError, "slug: expected str"),
    ("prompts.reactivate_override", ("p", "2"), {}, InvalidArgumentTypeError, "version: expected a number"),
    (
        "auth.create_public_token",
        (),
        {"scopes": {"read": {"runs": [" "]}}},
        InvalidArgumentError,
        "Public token scope resource IDs must not be empty",
    ),
    (
        "auth.create_public_token",
        (),
        {"scopes": {"delete": True}},
        InvalidArgumentError,
        "scopes: unknown action 'delete'",
    ),
    (
        "auth.create_public_token",
        (),
        {"expiration_time": NAIVE},
        InvalidArgumentError,
        "expiration_time: naive datetime",
    ),
    (
        "auth.create_public_token",
        (),
        {"expiration_time": "soonish"},
        InvalidArgumentError,
        "expiration_time: invalid time span",
    ),
    ("auth.create_trigger_public_token", ([],), {}, InvalidArgumentError, "task: must name at least one task"),
    (
        "auth.create_batch_trigger_public_token",
        ("t",),
        {"multiple_use": "yes"},
        InvalidArgumentTypeError,
        "multiple_use: expected bool",
    ),
    ("deployments.list", (), {"status": "LIVE"}, InvalidArgumentError, "status: must be one of"),
    ("deployments.list", (), {"from_": NAIVE}, ValueError, "from_"),
    ("deployments.list", (), {"limit": 500}, InvalidArgumentError, "limit: must be between 1 and 100"),
    ("runs.bulk.cancel", (), {}, InvalidArgumentError, "filter: pass exactly one of filter= or run_ids="),
    (
        "runs.bulk.cancel",
        (),
        {"filter": {"status": ["FAILED"]}, "run_ids": ["run_1"]},
        InvalidArgumentError,
        "exactly one",
    ),
    ("runs.bulk.replay", (), {"filter": {"stat": "x"}}, InvalidArgumentError, "filter: unknown key(s) stat"),
    ("runs.bulk.replay", (), {"run_ids": "run_1"}, InvalidArgumentError, "run_ids: must be a non-empty list"),
    ("runs.bulk.replay", (), {"filter": {"from": NAIVE}}, ValueError, "filter.from"),
    ("runs.bulk.retrieve", ("",), {}, InvalidArgumentError, "bulk_action_id: must not be empty"),
    ("runs.bulk.abort", (1,), {}, InvalidArgumentTypeError, "bulk_action_id: expected str"),
    ("runs.bulk.poll", ("bulk_1",), {"poll_interval_ms": -5}, InvalidArgumentError, "poll_interval_ms: must be >= 0"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "error", "message"), BAD_CALLS)
async def test_bad_arguments_raise_before_any_request(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        target: Any = client
        for part in method.split("."):
            target = getattr(target, part)
        with pytest.raises(error) as caught:
            await target(*args, **kwargs)
    assert message in str(caught.value)
    assert rec.seen == []


async def test_list_methods_reject_bad_arguments_at_the_call() -> None:
    async with Recorder() as rec, AsyncTriggerClient(access_token=KEY, base_url=rec.url) as client:
        with pytest.raises(InvalidArgumentError, match="per_page: must be >= 1"):
            client.schedules.list(per_page=0)
        with pytest.raises(InvalidArgumentTypeError, match="page: expected a number"):
            client.queues.list(page="2")
        with pytest.raises(InvalidArgumentError, match="after: pass at most one"):
            client.runs.bulk.list(after="a", before="b")
        with pytest.raises(InvalidArgumentError, match="limit: must be >= 1"):
            client.runs.bulk.list(limit=0)
    assert rec.seen == []
