"""Our client against the official SDK's recordings: same requests for the same calls.

Every single-call golden case (all namespaces) is replayed: a recording server answers with
the recorded responses, our client makes the same call (translated by the suite's one
call-mapping, ``tests/conformance/calls.py``), and what it sends (method, path, raw query,
every SDK-chosen header, JSON/NDJSON bodies, request-key pattern) and returns or raises must
equal the recording; retry cases also follow the recorded back-off timeline. Cases where
this SDK deliberately differs assert the difference itself (``GOLDEN_DIFFERENCES``); known
client defects are strict expected failures (``KNOWN_CLIENT_DEFECTS``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

import trigger_async
from trigger_async import AsyncTriggerClient
from trigger_async._jwt import verify_hs256

from .golden import CaseServers, Recorded, Run, available, calls, compare, goldens, load, run_ours

pytestmark = pytest.mark.skipif(not available(), reason=f"no golden files at {goldens.GOLDEN_DIR}")

RETRY_CASES = frozenset(n for n in goldens.single_call_names() if "retry" in load(n))
SINGLE_CASES = [n for n in goldens.single_call_names() if n not in RETRY_CASES]


def _diffs(golden: dict[str, Any], ours: Run, *, skip_headers: tuple[str, ...] = ()) -> list[str]:
    ordered = not any(item["kind"] == "order" for item in golden.get("volatile", []))
    diffs = compare.diff_requests(goldens.recorded(golden), ours.requests, ordered=ordered, skip_headers=skip_headers)
    diffs += compare.diff_outcomes(goldens.expected_outcome(golden), ours.outcome, compare.secrets_of(golden["call"]))
    return diffs


# Goldens without a request to answer (the official SDK failed first): the answers of the
# golden that shows the intended request.
ANSWERS_FROM = {"envvars_update_explicit_sdk_bug": "envvars_update_with_global_name_shim"}


async def _replay(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], Run]:
    golden = load(name)
    case = goldens.as_catalogue_case(golden)
    if name in ANSWERS_FROM:
        case["answers"] = goldens.answers(load(ANSWERS_FROM[name]))
    return golden, await run_ours(case, monkeypatch)


# --------------------------------------------------------------- documented differences

Check = Callable[[dict[str, Any], Run], None]


def _only(golden: dict[str, Any], ours: Run, pattern: str) -> None:
    """Every difference matches ``pattern`` (and there is at least one)."""
    diffs = _diffs(golden, ours)
    assert diffs, "no difference left"
    unexplained = [d for d in diffs if not re.search(pattern, d)]
    assert not unexplained, unexplained


def _bulk_uses_client_token(golden: dict[str, Any], ours: Run) -> None:
    # The official SDK sent the configure()d token; we send the client's own.
    assert golden["requests"][0]["headers"]["authorization"] == "Bearer tr_dev_global_configure_key"
    assert [r.headers["authorization"] for r in ours.requests] == ["Bearer tr_dev_conformance_1234567890"]
    _only(
        golden,
        ours,
        r"header authorization: 'Bearer tr_dev_conformance_1234567890', expected 'Bearer tr_dev_global_configure_key'",
    )


def _envvars_update_sends(golden: dict[str, Any], ours: Run) -> None:
    assert golden["result_or_error"]["error"]["class"] == "ReferenceError"
    # What we send is what the official SDK sends with its bug shimmed.
    shimmed = load("envvars_update_with_global_name_shim")
    assert not compare.diff_requests(goldens.recorded(shimmed), ours.requests)
    assert ours.outcome == {"ok": True, "result": True}


def _name_encoded(golden: dict[str, Any], ours: Run) -> None:
    assert golden["requests"][0]["path"] == "/api/v1/projects/proj_1234/envvars/dev/WEIRD%20NAME/X"
    assert [r.path for r in ours.requests] == ["/api/v1/projects/proj_1234/envvars/dev/WEIRD%20NAME%2FX"]


def _per_call_headers(golden: dict[str, Any], ours: Run) -> None:
    assert "x-per-call" not in golden["requests"][0]["headers"]
    assert ours.requests[0].headers["x-per-call"] == "1"
    assert not _diffs(golden, ours, skip_headers=("x-per-call",))


def _env_at_construction(golden: dict[str, Any], ours: Run) -> None:
    recorded = golden["requests"][0]
    assert recorded["server"] == "A" and recorded["headers"]["authorization"] == "Bearer tr_dev_env_at_call_time"
    assert [(r.server, r.headers["authorization"]) for r in ours.requests] == [
        ("A", "Bearer tr_dev_env_at_construction")
    ]


def _no_map_type(golden: dict[str, Any], ours: Run) -> None:
    theirs = json.loads(golden["requests"][0]["body_json"]["payload"])
    mine = json.loads(json.loads(ours.requests[0].body)["payload"])
    assert theirs["json"].pop("map") == [["k", 1]] and theirs["meta"]["values"].pop("map") == ["map"]
    assert mine["json"].pop("map") == {"k": 1}
    assert sorted(theirs["json"].pop("set")) == sorted(mine["json"].pop("set")) == ["a", "b"]  # sets are unordered
    assert mine == theirs


GOLDEN_DIFFERENCES: dict[str, tuple[str, Check]] = {
    **{
        name: (
            "runs.bulk is bound to its client; the official SDK uses the global configure()",
            _bulk_uses_client_token,
        )
        for name in ("runs_bulk_abort", "runs_bulk_cancel_runids", "runs_bulk_replay_filter", "runs_bulk_retrieve")
    },
    "envvars_update_explicit_sdk_bug": (
        "envvars.update works (the official SDK throws ReferenceError)",
        _envvars_update_sends,
    ),
    "envvars_retrieve_unencoded_name": ("user path segments are percent-encoded (env var names)", _name_encoded),
    "isolation_per_call_additional_headers_ignored": ("per-call additional headers are sent", _per_call_headers),
    "isolation_env_read_timing": ("env vars are read once, at construction", _env_at_construction),
    "tasks_trigger_superjson_types": ("Python has no Map type (and sets have no insertion order)", _no_map_type),
}

# Client defects this replay shows (also in the conformance suite): strict expected failures
# while every difference matches the pattern.
KNOWN_CLIENT_DEFECTS: dict[str, tuple[str, str]] = {}


def _settle(name: str, golden: dict[str, Any], ours: Run, extra: list[str] = ()) -> None:  # type: ignore[assignment]
    if name in GOLDEN_DIFFERENCES:
        GOLDEN_DIFFERENCES[name][1](golden, ours)
        return
    diffs = _diffs(golden, ours) + list(extra)
    if name in KNOWN_CLIENT_DEFECTS:
        description, pattern = KNOWN_CLIENT_DEFECTS[name]
        assert diffs, f"{name} matches its golden now: remove it from KNOWN_CLIENT_DEFECTS"
        if all(re.search(pattern, d) for d in diffs):
            pytest.xfail(f"known client defect: {description}")
    assert not diffs, f"{name}:\n  " + "\n  ".join(diffs)


@pytest.mark.parametrize("name", SINGLE_CASES)
async def test_same_requests_as_official_sdk(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    golden, ours = await _replay(name, monkeypatch)
    _settle(name, golden, ours)


async def test_retry_timelines_match_official_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default policies: same attempts, same key on every attempt, same delays (the golden
    tolerance: -20 ms / +300 ms, or the recorded jitter range)."""
    names = sorted(RETRY_CASES)
    results = await asyncio.gather(*(_replay(name, monkeypatch) for name in names))
    failures = []
    for name, (golden, ours) in zip(names, results, strict=True):
        try:
            _settle(name, golden, ours, goldens.diff_gaps(golden, ours.requests))
        except pytest.xfail.Exception:
            continue
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


def test_documented_differences_are_goldens() -> None:
    assert set(GOLDEN_DIFFERENCES) | set(KNOWN_CLIENT_DEFECTS) <= set(goldens.single_call_names())


async def test_public_token_lifetime_follows_per_call_expiration(monkeypatch: pytest.MonkeyPatch) -> None:
    golden, ours = await _replay("tasks_trigger_per_call_expiration", monkeypatch)
    token = ours.outcome["result"]["publicAccessToken"]
    header, claims = compare.decode_jwt(token) or ({}, {})
    assert header == {"alg": "HS256"}
    assert claims["exp"] - claims["iat"] == golden["jwts"][0]["exp_minus_iat"] == 7200


# ------------------------------------------------------- multi-step goldens (module level)


async def _servers(golden: dict[str, Any]) -> CaseServers:
    return await CaseServers(goldens.answers(golden), goldens.servers(golden)).start()


def _client(golden: dict[str, Any], servers: CaseServers, index: int = 0) -> AsyncTriggerClient:
    config = servers.fill(goldens._placeholders(golden["call"]["clients"][index]["config"]))
    return AsyncTriggerClient(**calls.client_kwargs(config))


def _assert_requests(golden: dict[str, Any], sent: list[Recorded]) -> None:
    diffs = compare.diff_requests(goldens.recorded(golden), sent)
    assert not diffs, "\n".join(diffs)


async def test_configure_does_not_reach_an_instance() -> None:
    golden = load("isolation_configure_global_vs_client")
    servers = await _servers(golden)
    try:
        trigger_async.configure(access_token="tr_dev_global_configure_key", base_url=servers.urls["B"])
        async with _client(golden, servers) as client:
            await client.runs.retrieve("run_client")
        await trigger_async.runs.retrieve("run_global")
        await trigger_async.aclose()
    finally:
        await servers.close()
    _assert_requests(golden, servers.log)


async def test_with_auth_in_a_configured_process() -> None:
    golden = load("auth_with_auth_in_configured_process")
    servers = await _servers(golden)
    try:
        trigger_async.configure(access_token="tr_dev_global_configure_key", base_url=servers.urls["A"])
        async with _client(golden, servers) as client:
            await trigger_async.runs.retrieve("run_before")
            async with trigger_async.auth.with_auth(access_token="tr_dev_with_auth_scoped"):
                await trigger_async.runs.retrieve("run_inside")
                await client.runs.retrieve("run_inside_client")
            await trigger_async.runs.retrieve("run_after")
        await trigger_async.aclose()
    finally:
        await servers.close()
    _assert_requests(golden, servers.log)


async def test_two_clients_100_concurrent_calls() -> None:
    golden = load("isolation_two_clients_100_concurrent_calls")
    servers = await _servers(golden)
    try:
        a, b = _client(golden, servers, 0), _client(golden, servers, 1)
        work = []
        for i in range(100):
            client, label = (a, "a") if i % 2 == 0 else (b, "b")
            if i % 4 < 2:
                work.append(client.runs.retrieve(f"run_{label}_{i:03}"))
            else:
                work.append(client.tasks.trigger(f"iso-task-{label}", {"i": i}))
        results = await asyncio.gather(*work)
        await a.aclose()
        await b.aclose()
    finally:
        await servers.close()
    assert len(servers.log) == 100
    for sent in servers.log:
        if sent.server == "A":
            assert sent.headers["authorization"] == "Bearer tr_dev_clientA_aaaaaaaaaaaa"
            assert "x-trigger-branch" not in sent.headers
            assert "_a_" in sent.path or "iso-task-a" in sent.path
        else:
            assert sent.headers["authorization"] == "Bearer tr_preview_clientB_bbbbbbbbbbbb"
            assert sent.headers["x-trigger-branch"] == "feature-b"
            assert "_b_" in sent.path or "iso-task-b" in sent.path
    assert len({s.headers["x-trigger-request-idempotency-key"] for s in servers.log}) == 100
    for i, result in enumerate(results):
        if i % 4 >= 2:
            key = "tr_dev_clientA_aaaaaaaaaaaa" if i % 2 == 0 else "tr_preview_clientB_bbbbbbbbbbbb"
            assert verify_hs256(result.public_access_token, key) is not None
