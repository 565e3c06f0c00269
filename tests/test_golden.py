"""Our client against the official SDK's recordings: same requests for the same calls.

Each case replays the recorded answers and compares what we send (method, path, raw query,
every SDK-chosen header, the JSON body) and what we return or raise. Cases where this SDK
deliberately differs assert the difference itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

import trigger_async
from trigger_async import AsyncTriggerClient, errors
from trigger_async._jwt import decode_unverified

from .golden import (
    Replay,
    Sent,
    client_kwargs,
    golden_available,
    iter_pairs,
    kwargs_of,
    load,
    mask_uuids,
    request_options_of,
    revive,
    sdk_headers,
)

pytestmark = pytest.mark.skipif(not golden_available(), reason="shared/conformance/golden is not beside the repository")

REQUEST_OPTION_KEYS = {"retry", "additionalHeaders"}


def _looks_like_request_options(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= REQUEST_OPTION_KEYS


async def _call(client: Any, namespace: str, method: str, args: list[Any]) -> Any:
    if namespace == "tasks" and method == "trigger":
        payload = revive(args[1]) if len(args) > 1 else trigger_async._serialization.UNDEFINED
        options = kwargs_of(args[2] if len(args) > 2 else None)
        ro = request_options_of(args[3] if len(args) > 3 else None)
        return await client.tasks.trigger(args[0], payload, **options, request_options=ro)
    if namespace == "runs" and method in ("retrieve", "cancel"):
        run = args[0] if isinstance(args[0], str) else type("Handle", (), args[0])()
        ro = request_options_of(args[1] if len(args) > 1 else None)
        return await getattr(client.runs, method)(run, request_options=ro)
    if namespace == "runs" and method == "list":
        rest = list(args)
        project = rest.pop(0) if rest and isinstance(rest[0], str) else None
        params = rest.pop(0) if rest and not _looks_like_request_options(rest[0]) else None
        ro = request_options_of(rest[0]) if rest else None
        pager = client.runs.list(*([project] if project else []), **kwargs_of(params), request_options=ro)
        return await pager
    if namespace == "runs" and method == "replay":
        body = args[1] if len(args) > 1 else None
        if _looks_like_request_options(body):
            return await client.runs.replay(args[0], request_options=request_options_of(body))
        return await client.runs.replay(args[0], **kwargs_of(body))
    if namespace == "runs" and method == "reschedule":
        return await client.runs.reschedule(args[0], **kwargs_of(args[1]))
    if namespace == "runs" and method == "poll":
        return await client.runs.poll(args[0], **kwargs_of(args[1] if len(args) > 1 else None))
    raise AssertionError(f"no Python call mapped for {namespace}.{method}")


def _assert_same_requests(
    case: dict[str, Any], sent: list[Sent], *, skip_headers: frozenset[str] = frozenset()
) -> None:
    assert len(sent) == case["request_count"], [f"{s.method} {s.path}" for s in sent]
    recorded_keys, our_keys = [], []
    for recorded, ours in iter_pairs(case, sent):
        assert ours.method == recorded["method"]
        assert ours.raw_query == recorded["raw_query"], recorded["path"]
        expected = {k: v for k, v in sdk_headers(recorded["headers"]).items() if k not in skip_headers}
        actual = {k: v for k, v in sdk_headers(ours.headers).items() if k not in skip_headers}
        assert actual == expected, recorded["path"]
        recorded_keys.append(recorded["headers"].get("x-trigger-request-idempotency-key", "-"))
        our_keys.append(ours.headers.get("x-trigger-request-idempotency-key", "-"))
        if recorded["body_encoding"] == "json" and not recorded["path"].startswith("/__objectstore"):
            assert json.loads(ours.body) == recorded["body_json"], recorded["path"]
        elif recorded["body_encoding"] == "empty":
            assert ours.body == b""
    # Same request key on every retry of one call, a new one per call.
    assert mask_uuids(our_keys) == mask_uuids(recorded_keys)


def _assert_same_outcome(case: dict[str, Any], outcome: Any) -> None:
    expected = case["result_or_error"]
    if expected["ok"]:
        assert not isinstance(outcome, BaseException), repr(outcome)
        result = expected["result"]
        if isinstance(result, dict) and "id" in result:
            got_id = outcome if isinstance(outcome, str) else getattr(outcome, "id", None)
            assert got_id == result["id"]
        if isinstance(result, dict) and result.get("$class") == "CursorPage":
            assert [r.id for r in outcome.data] == [r["id"] for r in result["data"]]
        if isinstance(result, dict) and "publicAccessToken" in result and result["publicAccessToken"] != "{{jwt#1}}":
            assert outcome.public_access_token == result["publicAccessToken"]
        return
    error = expected["error"]
    assert isinstance(outcome, BaseException), outcome
    assert type(outcome).__name__ == error["class"], repr(outcome)
    if "status" in error:
        assert outcome.status == error["status"]
    assert str(outcome).startswith(error["message"]) or error["message"] in str(outcome)


async def _run_single(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[Sent], Any]:
    case = load(name)
    call = case["call"]
    async with Replay(case) as replay:
        for key, value in (call.get("env") or {}).items():
            monkeypatch.setenv(key, replay.url(value))
        async with AsyncTriggerClient(**client_kwargs(call["clients"][0]["config"], replay)) as client:
            try:
                outcome = await _call(client, call["namespace"], call["method"], call["args"])
            except errors.TriggerError as error:
                outcome = error
        return case, replay.sent, outcome


SINGLE_CALL_CASES = [
    "error_400",
    "error_401",
    "error_403",
    "error_404",
    "error_500_x_should_retry_false",
    "error_per_call_retry_override",
    "error_client_retry_override",
    "error_429_then_success",
    "isolation_base_url_trailing_slash",
    "isolation_client_additional_headers",
    "isolation_client_external_deployment_id",
    "isolation_env_access_token_fallback",
    "isolation_env_preview_branch",
    "isolation_env_var_fallback",
    "isolation_future_v1_realtime_streams",
    "isolation_no_token_no_env",
    "isolation_preview_branch_trigger",
    "isolation_trigger_version_env_inherit_context",
    "runs_cancel",
    "runs_list_all_filters",
    "runs_list_before_cursor",
    "runs_list_no_filters",
    "runs_list_project_request_options_only",
    "runs_list_project_runs",
    "runs_list_scalar_filters",
    "runs_poll_completed",
    "runs_replay_plain_payload_type",
    "runs_replay_request_options_only",
    "runs_replay_with_options",
    "runs_reschedule_date",
    "runs_reschedule_string",
    "runs_retrieve",
    "runs_retrieve_handle_object",
    "runs_retrieve_presigned_packets",
    "tasks_trigger_all_options",
    "tasks_trigger_cached_response",
    "tasks_trigger_concurrency_key",
    "tasks_trigger_idempotency_key_array",
    "tasks_trigger_machine",
    "tasks_trigger_max_attempts",
    "tasks_trigger_metadata",
    "tasks_trigger_minimal",
    "tasks_trigger_per_call_expiration",
    "tasks_trigger_queue",
    "tasks_trigger_region",
    "tasks_trigger_server_jwt_header",
    "tasks_trigger_tags_string",
    "tasks_trigger_task_id_encoding",
    "tasks_trigger_ttl_number",
    "tasks_trigger_ttl_string",
]


@pytest.mark.parametrize("name", SINGLE_CALL_CASES)
async def test_same_requests_as_official_sdk(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case, sent, outcome = await _run_single(name, monkeypatch)
    _assert_same_requests(case, sent)
    _assert_same_outcome(case, outcome)


async def test_public_token_lifetime_follows_per_call_expiration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case, _, handle = await _run_single("tasks_trigger_per_call_expiration", monkeypatch)
    header, claims = decode_unverified(handle.public_access_token)
    assert header == {"alg": "HS256"}
    assert claims["exp"] - claims["iat"] == case["jwts"][0]["exp_minus_iat"] == 7200
    expected = dict(case["jwts"][0]["claims"])
    expected.update(iat=claims["iat"], exp=claims["exp"])
    assert claims == expected


RETRY_CASES = [
    "error_500",
    "error_429_plain",
    "error_429_ratelimit_reset",
    "error_503_text_body",
    "error_dropped_connection",
    "error_trigger_500_retries",
]


async def test_retry_timelines_match_official_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default policy: same attempt count, same key on every attempt, same delays
    (the recorder's tolerance, -20 ms / +300 ms; 429 with a reset adds up to 1 s of jitter)."""

    async def one(name: str) -> tuple[str, dict[str, Any], list[Sent], Any]:
        case, sent, outcome = await _run_single(name, monkeypatch)
        return name, case, sent, outcome

    results = await asyncio.gather(*(one(name) for name in RETRY_CASES))
    for name, case, sent, outcome in results:
        _assert_same_requests(case, sent)
        _assert_same_outcome(case, outcome)
        gaps = [b.arrived - a.arrived for a, b in itertools.pairwise(sent)]
        for ours, theirs in zip(gaps, case["timing"]["gaps_ms"], strict=True):
            if name == "error_429_ratelimit_reset":
                assert 0.98 <= ours <= 2.3, (name, gaps)
            else:
                assert theirs / 1000 - 0.02 <= ours <= theirs / 1000 + 0.3, (name, gaps)


async def test_per_call_additional_headers_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Documented difference: the official SDK drops per-call additional headers."""
    case, sent, _ = await _run_single("isolation_per_call_additional_headers_ignored", monkeypatch)
    assert "x-per-call" not in case["requests"][0]["headers"]
    assert sent[0].headers["x-per-call"] == "1"
    _assert_same_requests(case, sent, skip_headers=frozenset({"x-per-call"}))


async def test_env_is_read_at_construction_not_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Documented difference: the token env var is read when the client is built."""
    case = load("isolation_env_read_timing")
    async with Replay(case) as replay:
        monkeypatch.setenv("TRIGGER_API_URL", replay.a.url)
        monkeypatch.setenv("TRIGGER_SECRET_KEY", "tr_dev_env_at_construction")
        client = AsyncTriggerClient()
        monkeypatch.setenv("TRIGGER_API_URL", replay.b.url)
        monkeypatch.setenv("TRIGGER_SECRET_KEY", "tr_dev_env_at_call_time")
        async with client:
            await client.runs.retrieve("run_1234")
    recorded = case["requests"][0]
    assert recorded["server"] == "A" and recorded["headers"]["authorization"] == "Bearer tr_dev_env_at_call_time"
    assert [(s.server, s.headers["authorization"]) for s in replay.sent] == [("A", "Bearer tr_dev_env_at_construction")]


async def test_configure_does_not_reach_an_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    case = load("isolation_configure_global_vs_client")
    async with Replay(case) as replay:
        trigger_async.configure(access_token="tr_dev_global_configure_key", base_url=replay.b.url)
        async with AsyncTriggerClient(**client_kwargs(case["call"]["clients"][0]["config"], replay)) as client:
            await client.runs.retrieve("run_client")
        await trigger_async.runs.retrieve("run_global")
        await trigger_async.aclose()
    _assert_same_requests(case, replay.sent)


async def test_with_auth_in_a_configured_process(monkeypatch: pytest.MonkeyPatch) -> None:
    case = load("auth_with_auth_in_configured_process")
    async with Replay(case) as replay:
        trigger_async.configure(access_token="tr_dev_global_configure_key", base_url=replay.a.url)
        async with AsyncTriggerClient(**client_kwargs(case["call"]["clients"][0]["config"], replay)) as client:
            await trigger_async.runs.retrieve("run_before")
            async with trigger_async.auth.with_auth(access_token="tr_dev_with_auth_scoped"):
                await trigger_async.runs.retrieve("run_inside")
                await client.runs.retrieve("run_inside_client")
            await trigger_async.runs.retrieve("run_after")
        await trigger_async.aclose()
    _assert_same_requests(case, replay.sent)


async def test_two_clients_100_concurrent_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    case = load("isolation_two_clients_100_concurrent_calls")
    configs = case["call"]["clients"]
    async with Replay(case) as replay:
        a = AsyncTriggerClient(**client_kwargs(configs[0]["config"], replay))
        b = AsyncTriggerClient(**client_kwargs(configs[1]["config"], replay))
        calls = []
        for i in range(100):
            client, label = (a, "a") if i % 2 == 0 else (b, "b")
            if i % 4 < 2:
                calls.append(client.runs.retrieve(f"run_{label}_{i:03}"))
            else:
                calls.append(client.tasks.trigger(f"iso-task-{label}", {"i": i}))
        results = await asyncio.gather(*calls)
        await a.aclose()
        await b.aclose()
    assert len(replay.sent) == 100
    for sent in replay.sent:
        if sent.server == "A":
            assert sent.headers["authorization"] == "Bearer tr_dev_clientA_aaaaaaaaaaaa"
            assert "x-trigger-branch" not in sent.headers
            assert "_a_" in sent.path or "iso-task-a" in sent.path
        else:
            assert sent.headers["authorization"] == "Bearer tr_preview_clientB_bbbbbbbbbbbb"
            assert sent.headers["x-trigger-branch"] == "feature-b"
            assert "_b_" in sent.path or "iso-task-b" in sent.path
    assert len({s.headers["x-trigger-request-idempotency-key"] for s in replay.sent}) == 100
    from trigger_async._jwt import verify_hs256

    for i, result in enumerate(results):
        if i % 4 >= 2:
            key = "tr_dev_clientA_aaaaaaaaaaaa" if i % 2 == 0 else "tr_preview_clientB_bbbbbbbbbbbb"
            assert verify_hs256(result.public_access_token, key) is not None
