"""Isolation: instances, configure(), with_auth and the ambient task context.

The first twelve tests port the official TriggerClient suite (triggerClient.test.ts).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter

import attrs
import pytest

import trigger_async
from trigger_async import (
    ApiClientMissingError,
    AsyncTriggerClient,
    TaskContext,
    auth,
    configure,
    task_context,
)
from trigger_async._base import CallScope
from trigger_async._context import current_task_context, module_config

from .conftest import FAST
from .recorder import Answer, Recorder, run_body


def auth_of(rec: Recorder) -> list[tuple[str, str | None, str | None]]:
    return [(s.path, s.headers.get("authorization"), s.headers.get("x-trigger-branch")) for s in rec.seen]


# -- describe("TriggerClient") -------------------------------------------------------------


async def test_throws_on_first_api_call_when_no_access_token_is_configured_anywhere() -> None:
    async with Recorder() as rec:
        client = AsyncTriggerClient(base_url=rec.url)  # construction does not throw
        with pytest.raises(ApiClientMissingError, match="TRIGGER_SECRET_KEY") as caught:
            await client.runs.list(limit=1)
        await client.aclose()
    assert str(caught.value) == (
        "You need to set the TRIGGER_SECRET_KEY environment variable. "
        "See https://trigger.dev/docs/management/overview#authentication"
    )
    assert rec.seen == []


async def test_falls_back_to_env_vars_when_constructor_config_is_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Recorder() as rec:
        monkeypatch.setenv("TRIGGER_SECRET_KEY", "tr_dev_env_token")
        monkeypatch.setenv("TRIGGER_PREVIEW_BRANCH", "env-branch")
        monkeypatch.setenv("TRIGGER_API_URL", rec.url)
        async with AsyncTriggerClient() as client:
            await client.runs.retrieve("run_abc")
    assert auth_of(rec) == [("/api/v3/runs/run_abc", "Bearer tr_dev_env_token", "env-branch")]


async def test_uses_the_instance_access_token_and_preview_branch() -> None:
    async with Recorder() as rec:
        async with AsyncTriggerClient(
            access_token="tr_preview_instance_token", preview_branch="signup-flow", base_url=rec.url
        ) as client:
            await client.runs.retrieve("run_abc")
    assert auth_of(rec) == [("/api/v3/runs/run_abc", "Bearer tr_preview_instance_token", "signup-flow")]


async def test_env_fills_missing_fields_but_explicit_values_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Recorder() as rec:
        monkeypatch.setenv("TRIGGER_SECRET_KEY", "tr_dev_env_token")
        monkeypatch.setenv("TRIGGER_PREVIEW_BRANCH", "env-branch")
        monkeypatch.setenv("TRIGGER_API_URL", rec.url)
        explicit = AsyncTriggerClient(access_token="tr_dev_explicit", preview_branch="explicit-branch")
        from_env = AsyncTriggerClient()
        await asyncio.gather(explicit.runs.retrieve("run_explicit"), from_env.runs.retrieve("run_env"))
        await explicit.aclose()
        await from_env.aclose()
    assert sorted(auth_of(rec)) == [
        ("/api/v3/runs/run_env", "Bearer tr_dev_env_token", "env-branch"),
        ("/api/v3/runs/run_explicit", "Bearer tr_dev_explicit", "explicit-branch"),
    ]
    assert explicit.config.base_url == rec.url


async def test_does_not_leak_instance_config_to_the_global_manager() -> None:
    async with Recorder() as rec:
        configure(access_token="tr_dev_global_token", base_url=rec.url)
        async with AsyncTriggerClient(
            access_token="tr_preview_instance", preview_branch="inst-branch", base_url=rec.url
        ) as client:
            await client.runs.retrieve("run_instance")
        await trigger_async.runs.retrieve("run_global")
        await trigger_async.aclose()
    assert auth_of(rec) == [
        ("/api/v3/runs/run_instance", "Bearer tr_preview_instance", "inst-branch"),
        ("/api/v3/runs/run_global", "Bearer tr_dev_global_token", None),
    ]


async def test_keeps_two_concurrent_instances_isolated() -> None:
    async with Recorder() as rec:
        async with (
            AsyncTriggerClient(access_token="tr_prod_key", base_url=rec.url) as prod,
            AsyncTriggerClient(access_token="tr_preview_key", preview_branch="feature-x", base_url=rec.url) as preview,
        ):
            await asyncio.gather(
                prod.runs.retrieve("run_a"),
                preview.runs.retrieve("run_b"),
                prod.runs.retrieve("run_c"),
                preview.runs.retrieve("run_d"),
            )
    assert sorted(auth_of(rec)) == [
        ("/api/v3/runs/run_a", "Bearer tr_prod_key", None),
        ("/api/v3/runs/run_b", "Bearer tr_preview_key", "feature-x"),
        ("/api/v3/runs/run_c", "Bearer tr_prod_key", None),
        ("/api/v3/runs/run_d", "Bearer tr_preview_key", "feature-x"),
    ]


def _visible_context(client: AsyncTriggerClient) -> TaskContext | None:
    scope: CallScope = client._call_scope()
    return scope.task


async def test_masks_task_context_inside_an_isolated_scope_by_default() -> None:
    client = AsyncTriggerClient(access_token="tr_dev_x")
    with task_context(run_id="run_parent", is_test=True):
        assert current_task_context() == TaskContext(run_id="run_parent", is_test=True)
        assert _visible_context(client) is None


async def test_exposes_task_context_when_inherit_context_is_true() -> None:
    client = AsyncTriggerClient(access_token="tr_dev_x", inherit_context=True)
    async with task_context(run_id="run_parent", is_test=True) as ctx:
        assert _visible_context(client) is ctx
    assert _visible_context(client) is None


# -- describe("configure()") ---------------------------------------------------------------


def test_overrides_previously_set_configuration_on_a_second_call() -> None:
    configure(access_token="tr_first")
    assert module_config().access_token == "tr_first"
    configure(access_token="tr_second", preview_branch="branch-b")
    assert module_config().access_token == "tr_second"
    assert module_config().preview_branch == "branch-b"


# -- describe("auth.withAuth") -------------------------------------------------------------


async def test_inherits_trigger_secret_key_from_env_when_called_with_a_partial_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIGGER_SECRET_KEY", "tr_dev_from_env")
    async with auth.with_auth(base_url="https://override.example.com"):
        config = module_config()
    assert config.access_token == "tr_dev_from_env"
    assert config.base_url == "https://override.example.com"


async def test_nested_with_auth_composes() -> None:
    async with auth.with_auth({"base_url": "https://outer.example.com"}):
        async with auth.with_auth(access_token="tr_inner_token"):
            config = module_config()
    assert (config.base_url, config.access_token) == ("https://outer.example.com", "tr_inner_token")


async def test_parallel_with_auth_calls_do_not_stomp_on_each_other() -> None:
    configure(access_token="tr_global")
    a_opened, b_opened = asyncio.Event(), asyncio.Event()
    seen: dict[str, str | None] = {}

    async def scope(name: str, token: str, mine: asyncio.Event, other: asyncio.Event) -> None:
        async with auth.with_auth(access_token=token):
            mine.set()
            await other.wait()
            seen[name] = module_config().access_token

    await asyncio.gather(scope("a", "tr_a", a_opened, b_opened), scope("b", "tr_b", b_opened, a_opened))
    assert seen == {"a": "tr_a", "b": "tr_b"}
    assert module_config().access_token == "tr_global"


# -- field reports -------------------------------------------------------------------------


async def test_b01_second_configure_wins_and_instances_never_touch_global_state() -> None:
    async with Recorder() as rec:
        for run_id in ("run_a", "run_b", "run_c", "run_d"):
            rec.script("GET", f"/api/v3/runs/{run_id}", Answer(body=run_body(run_id), delay=0.02))
        configure(access_token="tr_dev_first", base_url=rec.url)
        configure(access_token="tr_dev_second", preview_branch="branch-b", base_url=rec.url)
        await trigger_async.runs.retrieve("run_g")
        prod = AsyncTriggerClient(access_token="tr_prod_key", base_url=rec.url, preview_branch="")
        prev = AsyncTriggerClient(access_token="tr_preview_key", preview_branch="feature-x", base_url=rec.url)
        rec.seen.clear()
        await asyncio.gather(
            prod.runs.retrieve("run_a"),
            prev.runs.retrieve("run_b"),
            prod.runs.retrieve("run_c"),
            prev.runs.retrieve("run_d"),
        )
        step2 = sorted(auth_of(rec))
        await trigger_async.runs.retrieve("run_h")
        await trigger_async.aclose()
        await prod.aclose()
        await prev.aclose()
    assert step2 == [
        ("/api/v3/runs/run_a", "Bearer tr_prod_key", None),
        ("/api/v3/runs/run_b", "Bearer tr_preview_key", "feature-x"),
        ("/api/v3/runs/run_c", "Bearer tr_prod_key", None),
        ("/api/v3/runs/run_d", "Bearer tr_preview_key", "feature-x"),
    ]
    assert auth_of(rec)[-1] == ("/api/v3/runs/run_h", "Bearer tr_dev_second", "branch-b")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        prod.config.access_token = "x"  # type: ignore[misc]


async def test_b02_overlapping_with_auth_scopes_close_in_any_order() -> None:
    async with Recorder() as rec, Recorder() as rec2:
        configure(access_token="tr_global", base_url=rec.url)
        gate_a, gate_b = asyncio.Event(), asyncio.Event()

        async def task_a() -> None:
            async with auth.with_auth({"access_token": "tr_a"}):
                await gate_a.wait()
                await trigger_async.runs.retrieve("run_a")

        async def task_b() -> None:
            async with auth.with_auth({"access_token": "tr_b"}):
                gate_a.set()
                await gate_b.wait()
                await trigger_async.runs.retrieve("run_b")

        a, b = asyncio.create_task(task_a()), asyncio.create_task(task_b())
        while not rec.requests_to("/api/v3/runs/run_a"):
            await asyncio.sleep(0.005)
        await a  # A closes first, while B's scope is still open
        gate_b.set()
        await b
        await trigger_async.runs.retrieve("run_after")
        async with auth.with_auth({"base_url": rec2.url}):
            async with auth.with_auth({"access_token": "tr_inner"}):
                await trigger_async.runs.retrieve("run_n")
        await trigger_async.aclose()
    assert auth_of(rec) == [
        ("/api/v3/runs/run_a", "Bearer tr_a", None),
        ("/api/v3/runs/run_b", "Bearer tr_b", None),
        ("/api/v3/runs/run_after", "Bearer tr_global", None),
    ]
    assert auth_of(rec2) == [("/api/v3/runs/run_n", "Bearer tr_inner", None)]


def test_scope_objects_work_with_plain_with_and_reject_reuse() -> None:
    scope = auth.with_auth(access_token="tr_plain")
    with scope:
        assert module_config().access_token == "tr_plain"
        with pytest.raises(RuntimeError):
            scope.__enter__()
    assert module_config().access_token is None


async def test_b03_the_branch_header_goes_with_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Recorder() as rec:
        async with AsyncTriggerClient(
            access_token="tr_preview_abc",
            preview_branch="signup-flow",
            base_url=rec.url,
            request_options=FAST,
        ) as c:
            await c.tasks.trigger("send-email", {"to": "a@example.com"})
            await c.runs.retrieve("run_1")
            await c.runs.cancel("run_1")
            await c.runs.list()
        monkeypatch.setenv("TRIGGER_SECRET_KEY", "tr_preview_env")
        monkeypatch.setenv("TRIGGER_PREVIEW_BRANCH", "env-branch")
        c2 = AsyncTriggerClient(base_url=rec.url)
        c3 = AsyncTriggerClient(access_token="tr_preview_x", preview_branch="explicit", base_url=rec.url)
        monkeypatch.delenv("TRIGGER_PREVIEW_BRANCH")
        monkeypatch.delenv("TRIGGER_SECRET_KEY")
        await c2.runs.retrieve("run_2")
        await c3.runs.retrieve("run_3")
        c4 = AsyncTriggerClient(access_token="tr_dev_k", base_url=rec.url)
        await c4.runs.retrieve("run_4")
        for client in (c2, c3, c4):
            await client.aclose()
    assert [branch for _, _, branch in auth_of(rec)] == ["signup-flow"] * 4 + [
        "env-branch",
        "explicit",
        None,
    ]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {
                "TRIGGER_PREVIEW_BRANCH": "a",
                "VERCEL_GIT_COMMIT_REF": "b",
                "TRIGGER_DEV_BRANCH": "c",
            },
            "a",
        ),
        ({"VERCEL_GIT_COMMIT_REF": "b", "TRIGGER_DEV_BRANCH": "c"}, "b"),
        ({"TRIGGER_DEV_BRANCH": "c"}, "c"),
        ({"TRIGGER_DEV_BRANCH": "default"}, None),
        ({}, None),
    ],
)
def test_branch_fallback_order(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str | None) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert AsyncTriggerClient().config.preview_branch == expected
    assert AsyncTriggerClient(preview_branch="").config.preview_branch is None
    assert AsyncTriggerClient(preview_branch="mine").config.preview_branch == "mine"


def test_token_and_base_url_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIGGER_ACCESS_TOKEN", "tr_pat_second")
    assert AsyncTriggerClient().config.access_token == "tr_pat_second"
    monkeypatch.setenv("TRIGGER_SECRET_KEY", "tr_dev_first")
    assert AsyncTriggerClient().config.access_token == "tr_dev_first"
    assert AsyncTriggerClient(access_token="tr_dev_arg").config.access_token == "tr_dev_arg"
    assert AsyncTriggerClient().config.base_url == "https://api.trigger.dev"
    monkeypatch.setenv("TRIGGER_API_URL", "https://env.example.com/")
    assert AsyncTriggerClient().config.base_url == "https://env.example.com"
    assert AsyncTriggerClient(base_url="http://x.test//").config.base_url == "http://x.test/"


async def test_b16_ambient_context_is_invisible_unless_inherited() -> None:
    async with Recorder() as rec:
        configure(access_token="tr_global", base_url=rec.url)
        async with task_context(run_id="run_parent", is_test=True):
            async with AsyncTriggerClient(access_token="tr_iso", base_url=rec.url) as iso:
                await iso.tasks.trigger("child", {}, idempotency_key="order-42")
            async with AsyncTriggerClient(access_token="tr_inh", base_url=rec.url, inherit_context=True) as inh:
                await inh.tasks.trigger("child", {}, idempotency_key="order-42")
        iso_body, inh_body = (s.json() for s in rec.seen)
        iso_headers, inh_headers = (s.headers for s in rec.seen)
        assert "parentRunId" not in iso_body["options"] and "test" not in iso_body["options"]
        assert (
            iso_body["options"]["idempotencyKey"]
            == ("3bf8b157c4238eefe5ae4a66eca81c6b887d4dcedb58dd674271859f4dc2edfd")
            == hashlib.sha256(b"order-42").hexdigest()
        )
        assert "x-trigger-worker" not in iso_headers
        assert inh_body["options"]["parentRunId"] == "run_parent"
        assert inh_body["options"]["test"] is True
        assert inh_body["options"]["idempotencyKey"] == (
            "13168b62a73f7b044e2eaafea50c95ecc86b3d4cbdb26540d163cbef308a55f9"
        )
        assert inh_headers["x-trigger-worker"] == "true"
        assert inh_headers["x-trigger-engine-version"] == "V2"
        assert inh_headers["x-trigger-span-parent-as-link"] == "1"

        rec.seen.clear()
        async with auth.with_auth({"access_token": "tr_scoped"}):

            async def late() -> None:
                await asyncio.sleep(0.05)
                await trigger_async.runs.retrieve("run_late")

            pending = asyncio.create_task(late())
        await trigger_async.runs.retrieve("run_now")
        await pending

        release = asyncio.Event()

        async def created_before() -> None:
            await release.wait()
            await trigger_async.runs.retrieve("run_pre")

        pre = asyncio.create_task(created_before())
        await asyncio.sleep(0)

        async def opens_scope() -> None:
            async with auth.with_auth({"access_token": "tr_other"}):
                release.set()
                await pre

        await opens_scope()
        await trigger_async.aclose()
    tokens = {path: token for path, token, _ in auth_of(rec)}
    assert tokens == {
        "/api/v3/runs/run_now": "Bearer tr_global",
        "/api/v3/runs/run_late": "Bearer tr_scoped",
        "/api/v3/runs/run_pre": "Bearer tr_global",
    }


async def test_twenty_clients_five_hundred_calls_each_see_only_their_own_credentials() -> None:
    async with Recorder() as rec_a, Recorder() as rec_b:
        clients = [
            AsyncTriggerClient(
                access_token=f"tr_prod_client{i:02d}",
                preview_branch=f"branch-{i:02d}" if i % 2 else "",
                base_url=rec_a.url if i % 2 else rec_b.url,
            )
            for i in range(20)
        ]
        calls = [client.runs.retrieve(f"run_{i:02d}_{n:03d}") for n in range(500) for i, client in enumerate(clients)]
        results = await asyncio.gather(*calls)
        for client in clients:
            await client.aclose()
    assert [r.id for r in results] == [f"run_{i:02d}_{n:03d}" for n in range(500) for i in range(20)]
    per_client: Counter[int] = Counter()
    for rec, odd in ((rec_a, True), (rec_b, False)):
        for seen in rec.seen:
            i = int(seen.path.split("_")[1])
            per_client[i] += 1
            assert (i % 2 == 1) is odd, "request reached another client's base URL"
            assert seen.headers["authorization"] == f"Bearer tr_prod_client{i:02d}"
            assert seen.headers.get("x-trigger-branch") == (f"branch-{i:02d}" if odd else None)
    assert per_client == dict.fromkeys(range(20), 500)


async def test_scopes_closed_out_of_order_in_one_task_leave_no_trace() -> None:
    configure(access_token="tr_dev_configured")
    first = auth.with_auth(access_token="tr_prod_first")
    second = auth.with_auth(access_token="tr_stg_second")
    await first.__aenter__()
    await second.__aenter__()
    assert module_config().access_token == "tr_stg_second"
    await first.__aexit__(None, None, None)
    assert module_config().access_token == "tr_stg_second"
    await second.__aexit__(None, None, None)
    assert module_config().access_token == "tr_dev_configured"
    outer = task_context(run_id="run_outer")
    inner = task_context(run_id="run_inner")
    with outer, inner:
        assert current_task_context() == TaskContext(run_id="run_inner")
    outer2, inner2 = task_context(run_id="run_a"), task_context(run_id="run_b")
    outer2.__enter__()
    inner2.__enter__()
    outer2.__exit__(None, None, None)
    assert current_task_context() == TaskContext(run_id="run_b")
    inner2.__exit__(None, None, None)
    assert current_task_context() is None


async def test_a_scope_opened_before_configure_still_layers_over_the_newest_configure() -> None:
    configure(access_token="tr_dev_one", base_url="https://one.example.com")
    async with auth.with_auth(preview_branch="b"):
        configure(access_token="tr_dev_two", base_url="https://two.example.com")
        config = module_config()
    assert (config.access_token, config.base_url, config.preview_branch) == (
        "tr_dev_two",
        "https://two.example.com",
        "b",
    )
