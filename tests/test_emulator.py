"""The embedded emulator, over real HTTP on 127.0.0.1, against the server-behaviour spec."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from trigger_async._jwt import decode_unverified, sign_hs256, verify_hs256
from trigger_async.testing import (
    PROJECT_REF,
    Emulator,
    InjectedResponse,
    ThreadedEmulator,
)

from .emulator_http import fetch

NEW_API = {"x-trigger-api-version": "2025-07-16"}
V = "Validation error: "
REPO_ROOT = Path(__file__).resolve().parent.parent

UNAUTHORIZED_PROBLEM = {
    "title": "Unauthorized",
    "status": 401,
    "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
    "detail": "No authorization header provided",
    "error": "No authorization header provided",
}


class Api:
    """A thin HTTP helper bound to one emulator and one key."""

    def __init__(self, session: aiohttp.ClientSession, emu: Emulator | ThreadedEmulator, key: str) -> None:
        self.session = session
        self.emu = emu
        self.key = key

    def headers(self, extra: Mapping[str, str] | None = None, **kw: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}", **NEW_API}
        headers.update(extra or {})
        headers.update(kw)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, Any, Mapping[str, str]]:
        sent = self.headers(headers) if auth else dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        return await fetch(self.session, method, self.emu.url + path, data=data, headers=sent)

    async def trigger(
        self,
        task: str = "hello-world",
        payload: Any = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> tuple[int, Any, Mapping[str, str]]:
        body: dict[str, Any] = {}
        if payload is not None:
            body["payload"] = payload
        if options:
            body["options"] = options
        return await self.request("POST", f"/api/v1/tasks/{task}/trigger", body=body, headers=headers)

    async def trigger_id(self, task: str = "hello-world", **options: Any) -> str:
        status, body, _ = await self.trigger(task, **options)
        assert status == 200, body
        return str(body["id"])

    async def retrieve(self, run_id: str, headers: Mapping[str, str] | None = None) -> Any:
        status, body, _ = await self.request("GET", f"/api/v3/runs/{run_id}", headers=headers)
        assert status == 200, body
        return body

    async def list(self, query: str = "") -> tuple[int, Any, Mapping[str, str]]:
        return await self.request("GET", "/api/v1/runs" + (f"?{query}" if query else ""))


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator, session: aiohttp.ClientSession) -> Api:
    return Api(session, emu, emu.dev_key)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------
# auth and plumbing
# --------------------------------------------------------------------------------------------

LIMITED_ROUTES = [
    ("POST", "/api/v1/tasks/t/trigger"),
    ("GET", "/api/v1/runs"),
    ("GET", f"/api/v1/projects/{PROJECT_REF}/runs"),
    ("GET", "/api/v3/runs/run_x"),
    ("POST", "/api/v2/runs/run_x/cancel"),
    ("POST", "/api/v1/runs/run_x/replay"),
    ("POST", "/api/v1/runs/run_x/reschedule"),
    ("GET", "/api/v1/does-not-exist"),
]


@pytest.mark.parametrize(("method", "path"), LIMITED_ROUTES)
async def test_missing_authorization_gets_the_limiter_problem(api: Api, method: str, path: str) -> None:
    status, body, headers = await api.request(method, path, body={}, auth=False)
    assert status == 401
    assert body == UNAUTHORIZED_PROBLEM
    assert headers["Content-Type"].startswith("application/problem+json")
    assert "x-ratelimit-limit" not in headers


async def test_limiter_problem_is_pretty_printed(api: Api) -> None:
    async with api.session.get(api.emu.url + "/api/v1/runs") as response:
        text = await response.text()
    assert text.startswith('{\n  "title": "Unauthorized",\n')


async def test_jwt_claims_is_not_rate_limited(api: Api) -> None:
    status, body, headers = await api.request("POST", "/api/v1/auth/jwt/claims", auth=False)
    assert (status, body) == (401, {"error": "Invalid or Missing API key"})
    status, body, headers = await api.request("POST", "/api/v1/auth/jwt/claims")
    assert status == 200
    assert body == {"sub": body["sub"], "pub": True}
    assert "x-ratelimit-limit" not in headers


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("POST", "/api/v1/tasks/t/trigger", "Invalid API key"),
        ("GET", "/api/v1/runs", "Invalid API key"),
        ("GET", "/api/v3/runs/run_x", "Invalid API key"),
        ("POST", "/api/v2/runs/run_x/cancel", "Invalid API key"),
        ("POST", "/api/v1/runs/run_x/replay", "Invalid API key"),
        ("POST", "/api/v1/runs/run_x/reschedule", "Invalid or missing API Key"),
        ("POST", "/api/v1/auth/jwt/claims", "Invalid or Missing API key"),
    ],
)
@pytest.mark.parametrize("key", ["tr_dev_", "tr_qa_abc", "sk_live_abc", "tr_dev_abc-def", "tr_pat_abc"])
async def test_malformed_keys_get_the_route_401(api: Api, method: str, path: str, message: str, key: str) -> None:
    status, body, headers = await api.request(
        method, path, body={"delay": "1h"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert (status, body) == (401, {"error": message})
    if path != "/api/v1/auth/jwt/claims":
        assert headers["x-ratelimit-limit"] == "750"


async def test_each_key_is_its_own_environment(api: Api) -> None:
    run_id = await api.trigger_id()
    other = Api(api.session, api.emu, "tr_dev_someone_else")
    status, body, _ = await other.request("GET", f"/api/v3/runs/{run_id}")
    assert (status, body) == (404, {"error": "Not found"})
    _, page, _ = await other.list()
    assert page == {"data": [], "pagination": {}}
    _, mine, _ = await api.request("POST", "/api/v1/auth/jwt/claims")
    _, theirs, _ = await other.request("POST", "/api/v1/auth/jwt/claims")
    assert mine["sub"] != theirs["sub"]


@pytest.mark.parametrize(
    ("key", "slug"),
    [("tr_dev_k1", "dev"), ("tr_stg_k1", "staging"), ("tr_prod_k1", "prod")],
)
async def test_env_slugs_and_stage_keys_ignore_branch(api: Api, key: str, slug: str) -> None:
    client = Api(api.session, api.emu, key)
    run_id = await client.trigger_id()
    _, page, _ = await client.list()
    assert page["data"][0]["env"]["name"] == slug
    if slug != "dev":
        # Staging and production keys ignore the branch header.
        status, _, _ = await client.request("GET", f"/api/v3/runs/{run_id}", headers={"x-trigger-branch": "feature"})
        assert status == 200


async def test_preview_key_needs_a_branch(api: Api) -> None:
    preview = Api(api.session, api.emu, api.emu.preview_key)
    status, body, _ = await preview.list()
    assert (status, body) == (401, {"error": "x-trigger-branch header required for preview env"})
    status, body, _ = await preview.trigger()
    assert (status, body) == (401, {"error": "x-trigger-branch header required for preview env"})
    status, body, _ = await preview.request("POST", "/api/v1/runs/run_x/reschedule", body={"delay": "1h"})
    assert (status, body) == (401, {"error": "Invalid or missing API Key"})
    status, body, _ = await preview.request("POST", "/api/v1/auth/jwt/claims")
    assert (status, body) == (401, {"error": "Invalid or Missing API key"})
    # A ref prefix that is not a branch ref means "no branch".
    status, body, _ = await preview.request("GET", "/api/v1/runs", headers={"x-trigger-branch": "refs/stash"})
    assert status == 401


async def test_preview_branches_are_separate_environments(api: Api) -> None:
    preview = Api(api.session, api.emu, api.emu.preview_key)
    a = {"x-trigger-branch": "feature-a"}
    b = {"x-trigger-branch": "feature-b"}
    status, body, headers = await preview.trigger(headers=a)
    assert status == 200
    run_id = body["id"]
    # The branch env is addressed with or without a git ref prefix.
    assert (await preview.request("GET", f"/api/v3/runs/{run_id}", headers=a))[0] == 200
    refs = {"x-trigger-branch": "refs/heads/feature-a"}
    assert (await preview.request("GET", f"/api/v3/runs/{run_id}", headers=refs))[0] == 200
    assert (await preview.request("GET", f"/api/v3/runs/{run_id}", headers=b))[0] == 404
    _, page, _ = await preview.request("GET", "/api/v1/runs", headers=a)
    assert [r["id"] for r in page["data"]] == [run_id]
    assert page["data"][0]["env"]["name"] == "preview"
    _, page_b, _ = await preview.request("GET", "/api/v1/runs", headers=b)
    assert page_b["data"] == []
    # The branch's token is signed with the preview key itself.
    token = headers["x-trigger-jwt"]
    claims = verify_hs256(token, api.emu.preview_key)
    assert claims is not None
    _, branch_claims, _ = await preview.request("POST", "/api/v1/auth/jwt/claims", headers=a)
    assert claims["sub"] == branch_claims["sub"]
    assert len(api.emu.runs(api.emu.preview_key, "feature-a")) == 1
    assert api.emu.runs(api.emu.preview_key, "feature-b") == []


async def test_dev_branches(api: Api) -> None:
    root_run = await api.trigger_id()
    status, body, _ = await api.request("GET", f"/api/v3/runs/{root_run}", headers={"x-trigger-branch": "default"})
    assert status == 200
    status, body, _ = await api.request("GET", f"/api/v3/runs/{root_run}", headers={"x-trigger-branch": "my-branch"})
    assert status == 404
    status, body, _ = await api.trigger(headers={"x-trigger-branch": "my-branch"})
    assert status == 200
    assert [r["id"] for r in api.emu.runs(api.emu.dev_key, "my-branch")] == [body["id"]]
    assert [r["id"] for r in api.emu.runs(api.emu.dev_key)] == [root_run]


async def test_public_access_token_from_trigger(api: Api) -> None:
    status, body, headers = await api.trigger()
    run_id = body["id"]
    other_id = await api.trigger_id()
    token = headers["x-trigger-jwt"]
    with_token = Api(api.session, api.emu, token)

    run = await with_token.retrieve(run_id)
    assert run["id"] == run_id
    status, body, _ = await with_token.request("GET", f"/api/v3/runs/{other_id}")
    assert (status, body) == (
        403,
        {
            "error": "Unauthorized",
            "code": "unauthorized",
            "param": "access_token",
            "type": "authorization",
        },
    )
    status, body, _ = await with_token.request("POST", f"/api/v1/runs/{run_id}/replay")
    assert (status, body) == (401, {"error": "Invalid API key"})
    status, body, _ = await with_token.request("POST", f"/api/v1/runs/{run_id}/reschedule", body={"delay": "1h"})
    assert (status, body) == (401, {"error": "Invalid or missing API Key"})
    # Listing needs a type-level read grant.
    status, body, _ = await with_token.list()
    assert status == 403
    # Cancelling needs write access.
    status, body, _ = await with_token.request("POST", f"/api/v2/runs/{run_id}/cancel")
    assert status == 403
    # The token only grants read on this run, not triggering.
    status, body, _ = await with_token.trigger()
    assert status == 403


async def test_public_access_tokens_signed_by_the_sdk(api: Api) -> None:
    run_id = await api.trigger_id("task-a")
    _, claims, _ = await api.request("POST", "/api/v1/auth/jwt/claims")
    now = int(time.time())

    def token(scopes: list[str], secret: str = api.key, **extra: Any) -> str:
        payload = {
            **claims,
            "scopes": scopes,
            "iss": "https://id.trigger.dev",
            "aud": "https://api.trigger.dev",
            "exp": now + 900,
            "iat": now,
            **extra,
        }
        return sign_hs256(payload, secret)

    async def get(tok: str, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        status, answer, _ = await api.request(method, path, headers={"Authorization": f"Bearer {tok}"}, body=body)
        return status, answer

    assert (await get(token(["read:runs"]), "/api/v1/runs"))[0] == 200
    assert (await get(token(["read:tasks:task-a"]), "/api/v1/runs?filter[taskIdentifier]=task-a"))[0] == 200
    assert (await get(token(["read:tasks:task-a"]), "/api/v1/runs?filter[taskIdentifier]=task-a,b"))[0] == 403
    assert (await get(token(["read:tasks:task-a"]), f"/api/v3/runs/{run_id}"))[0] == 200
    assert (await get(token(["admin"]), f"/api/v3/runs/{run_id}"))[0] == 200
    assert (await get(token(["*:all"]), f"/api/v3/runs/{run_id}"))[0] == 200
    assert (await get(token(["admin:runs"]), f"/api/v3/runs/{run_id}"))[0] == 403
    assert (await get(token(["write:runs:" + run_id]), f"/api/v2/runs/{run_id}/cancel", "POST"))[0] == 200
    assert (await get(token(["trigger:tasks:task-b"]), "/api/v1/tasks/task-b/trigger", "POST", {}))[0] == 200
    assert (await get(token(["trigger:tasks:task-b"]), "/api/v1/tasks/task-c/trigger", "POST", {}))[0] == 403
    # Bad signature, expiry, issuer: "is invalid"; unknown subject: "Invalid Public Access Token".
    invalid = (401, {"error": "Public Access Token is invalid"})
    assert await get(token(["read:runs"], secret="tr_dev_wrong"), "/api/v1/runs") == invalid
    assert await get(token(["read:runs"], exp=now - 10), "/api/v1/runs") == invalid
    assert await get(token(["read:runs"], iss="someone"), "/api/v1/runs") == invalid
    assert await get(token(["read:runs"], sub="cm_unknown"), "/api/v1/runs") == (
        401,
        {"error": "Invalid Public Access Token"},
    )
    # A JWT without pub:true is just an unknown key.
    not_public = sign_hs256({"sub": claims["sub"]}, api.key)
    assert await get(not_public, "/api/v1/runs") == (401, {"error": "Invalid API key"})
    # One-time-use trigger tokens work once.
    otu = token(["trigger:tasks:once"], otu=True)
    assert (await get(otu, "/api/v1/tasks/once/trigger", "POST", {}))[0] == 200
    assert await get(otu, "/api/v1/tasks/once/trigger", "POST", {}) == (
        422,
        {"error": "Cannot trigger once with a one-time use token as it has already been used."},
    )


async def test_trailing_slash_redirects(api: Api) -> None:
    status, _, headers = await api.request("GET", "/api/v1/runs/?page%5Bsize%5D=2", auth=False)
    assert status == 301
    assert headers["Location"] == "/api/v1/runs?page%5Bsize%5D=2"
    assert "x-ratelimit-limit" not in headers
    status, _, headers = await api.request("POST", "/api/v2/runs/run_1//cancel//")
    assert status == 301
    assert headers["Location"] == "/api/v2/runs/run_1/cancel/"


async def test_rate_limit_headers_on_every_limited_answer(api: Api) -> None:
    before = _now_ms()
    for method, path in [
        ("GET", "/api/v1/runs"),
        ("GET", "/api/v3/runs/nope"),
        ("GET", "/api/v1/nope"),
    ]:
        _, _, headers = await api.request(method, path)
        assert headers["x-ratelimit-limit"] == "750"
        assert headers["x-ratelimit-remaining"] == "749"
        reset = int(headers["x-ratelimit-reset"])
        assert before + 9_000 <= reset <= _now_ms() + 10_000  # epoch milliseconds


async def test_rate_limit_token_bucket() -> None:
    async with Emulator(rate_limit=True) as emu, aiohttp.ClientSession() as session:
        api = Api(session, emu, emu.prod_key)

        async def hit() -> tuple[int, Any, Mapping[str, str]]:
            return await api.request("GET", "/api/v3/runs/run_missing")

        results = []
        for _ in range(15):
            results += await asyncio.gather(*(hit() for _ in range(50)))
        remaining = sorted(int(h["x-ratelimit-remaining"]) for _, _, h in results)
        assert remaining == list(range(0, 750))
        status, body, headers = await hit()
        assert status == 429
        assert headers["Content-Type"].startswith("application/problem+json")
        assert "Retry-After" not in headers
        assert headers["x-ratelimit-remaining"] == "0"
        reset = int(headers["x-ratelimit-reset"])
        assert body["title"] == "Rate Limit Exceeded"
        assert body["status"] == 429
        assert body["type"] == "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/429"
        assert body["limit"] == 750
        assert body["remaining"] == -1
        assert body["reset"] == reset
        assert 0 < body["secondsUntilReset"] <= 10
        assert body["detail"] == body["error"]
        assert body["detail"] == (
            f"Rate limit exceeded 0/750 requests remaining. Retry in {body['secondsUntilReset']} seconds."
        )
        # Another key of another environment has its own bucket.
        other = Api(session, emu, "tr_prod_other")
        assert (await other.request("GET", "/api/v3/runs/run_missing"))[0] == 404
        # 250 tokens come back every 10 seconds.
        emu.advance_time(10)
        status, _, headers = await hit()
        assert status == 404
        assert headers["x-ratelimit-remaining"] == "249"


async def test_unknown_path_and_wrong_methods(api: Api) -> None:
    assert (await api.request("GET", "/api/v1/nope"))[0] == 404
    # GET on an action-only route, POST on a loader: the framework's empty 405.
    status, body, _ = await api.request("GET", "/api/v1/tasks/t/trigger")
    assert (status, body) == (405, None)
    status, body, _ = await api.request("POST", "/api/v3/runs/run_x", body={})
    assert (status, body) == (405, None)
    # Pinned builder method: JSON 405 with Allow.
    status, body, headers = await api.request("PUT", "/api/v1/runs/run_x/replay")
    assert (status, body, headers["Allow"]) == (405, {"error": "Method not allowed"}, "POST")
    # The legacy reschedule route answers a wrong method with HTTP 200.
    status, body, _ = await api.request("PUT", "/api/v1/runs/run_x/reschedule", body={})
    assert (status, body) == (200, {"status": 405, "body": "Method Not Allowed"})


async def test_cors_on_cors_routes_only(api: Api) -> None:
    status, body, headers = await api.request(
        "OPTIONS",
        "/api/v1/tasks/t/trigger",
        auth=False,
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert (status, body) == (200, {})
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Access-Control-Allow-Headers"] == "authorization"
    _, _, headers = await api.request("GET", "/api/v1/runs", headers={"Origin": "https://app.example"})
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Access-Control-Expose-Headers"] == "x-trigger-jwt,x-trigger-jwt-claims"
    _, _, headers = await api.request("POST", "/api/v2/runs/run_x/cancel", headers={"Origin": "https://a"})
    assert "Access-Control-Allow-Origin" not in headers


# --------------------------------------------------------------------------------------------
# trigger
# --------------------------------------------------------------------------------------------


async def test_trigger_success_and_tokens(api: Api) -> None:
    status, body, headers = await api.trigger(payload={"name": "Ada"})
    assert status == 200
    assert set(body) == {"id", "isCached"}
    assert body["isCached"] is False
    run_id = body["id"]
    assert run_id.startswith("run_") and len(run_id) == 30
    claims = verify_hs256(headers["x-trigger-jwt"], api.key)
    assert claims is not None
    jwt_header, _ = decode_unverified(headers["x-trigger-jwt"])
    assert jwt_header == {"alg": "HS256"}
    assert claims["pub"] is True
    assert claims["scopes"] == [f"read:runs:{run_id}", f"write:inputStreams:{run_id}"]
    assert claims["iss"] == "https://id.trigger.dev"
    assert claims["aud"] == "https://api.trigger.dev"
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 5
    header_claims = json.loads(headers["x-trigger-jwt-claims"])
    assert header_claims == {"sub": claims["sub"], "pub": True, "scopes": claims["scopes"]}
    _, jwt_claims, _ = await api.request("POST", "/api/v1/auth/jwt/claims")
    assert jwt_claims == {"sub": claims["sub"], "pub": True}

    run = await api.retrieve(run_id)
    assert run["status"] == "QUEUED"
    assert run["taskIdentifier"] == "hello-world"
    assert run["payload"] == {"name": "Ada"}
    assert run["relatedRuns"] == {"children": []}
    assert run["attemptCount"] == 0
    assert run["depth"] == 0
    assert run["triggerFunction"] == "trigger"
    assert run["isQueued"] is True
    # Optional fields are omitted, never null.
    assert all(value is not None for value in run.values())
    for absent in (
        "startedAt",
        "finishedAt",
        "delayedUntil",
        "idempotencyKey",
        "version",
        "output",
        "error",
    ):
        assert absent not in run


async def test_trigger_task_ids_are_decoded_once(api: Api) -> None:
    status, body, _ = await api.request("POST", "/api/v1/tasks/my%2Ftask%20id/trigger", body={})
    assert status == 200
    assert (await api.retrieve(body["id"]))["taskIdentifier"] == "my/task id"


async def test_payload_types(api: Api) -> None:
    superjson = json.dumps(
        {
            "json": {"when": "2024-05-01T00:00:00.000Z", "n": 1},
            "meta": {"values": {"when": ["Date"]}},
        }
    )
    cases = [
        (
            {"payload": superjson, "options": {"payloadType": "application/super+json"}},
            {"when": "2024-05-01T00:00:00.000Z", "n": 1},
        ),
        ({"payload": "hello", "options": {"payloadType": "text/plain"}}, "hello"),
        (
            {"payload": [1, {"a": None}], "options": {"payloadType": "application/json"}},
            [1, {"a": None}],
        ),
        ({"payload": {"a": "é"}}, {"a": "é"}),
        ({"payload": None}, None),
    ]
    for request, expected in cases:
        status, body, _ = await api.request("POST", "/api/v1/tasks/t/trigger", body=request)
        assert status == 200, body
        run = await api.retrieve(body["id"])
        assert "payload" in run
        assert run["payload"] == expected
    # No payload at all, or a non-string with a custom type: no payload on the run.
    for request in ({}, {"payload": {"a": 1}, "options": {"payloadType": "text/plain"}}):
        status, body, _ = await api.request("POST", "/api/v1/tasks/t/trigger", body=request)
        assert "payload" not in await api.retrieve(body["id"])


async def test_trigger_body_errors(api: Api) -> None:
    url = "/api/v1/tasks/t/trigger"
    cases: list[tuple[bytes, int, Any]] = [
        (b"", 400, {"error": "Request body is empty"}),
        (b"{not json", 400, {"error": "Invalid JSON"}),
        (b"null", 400, {"error": "Invalid JSON"}),
        (b"0", 400, {"error": "Invalid JSON"}),
        (b"false", 400, {"error": "Invalid JSON"}),
        (b'""', 400, {"error": "Invalid JSON"}),
        (b"[1]", 400, {"error": "Validation error: Expected object, received array"}),
        (
            b'{"options":{"maxAttempts":"3"}}',
            400,
            {"error": V + 'Expected number, received string at "options.maxAttempts"'},
        ),
        (
            b'{"options":{"maxAttempts":1.5,"test":"yes"}}',
            400,
            {
                "error": V + 'Expected integer, received float at "options.maxAttempts"; '
                'Expected boolean, received string at "options.test"'
            },
        ),
        (
            b'{"options":{"machine":"huge"}}',
            400,
            {
                "error": V + "Invalid enum value. Expected 'micro' | 'small-1x' | 'small-2x' | "
                "'medium-1x' | 'medium-2x' | 'large-1x' | 'large-2x', "
                "received 'huge' at \"options.machine\""
            },
        ),
        (
            b'{"options":{"ttl":-1}}',
            400,
            {"error": V + 'Number must be greater than or equal to 0 at "options.ttl"'},
        ),
        (
            b'{"options":{"tags":5}}',
            400,
            {
                "error": 'Validation error: Expected string, received number at "options.tags", '
                'or Expected array, received number at "options.tags"'
            },
        ),
        (
            b'{"options":{"queue":{}}}',
            400,
            {"error": 'Validation error: Required at "options.queue.name"'},
        ),
        (
            b'{"options":null}',
            400,
            {"error": 'Validation error: Expected object, received null at "options"'},
        ),
        (
            b'{"payload":"","options":{"payloadType":"application/store"}}',
            400,
            {
                "error": V + "payload must be a non-empty string when options.payloadType "
                'is application/store at "payload"'
            },
        ),
    ]
    for data, status, expected in cases:
        got_status, got, _ = await api.request("POST", url, data=data, headers={"Content-Type": "application/json"})
        assert (got_status, got) == (status, expected), data
    # A store payload with a path is fine.
    status, _, _ = await api.request(
        "POST",
        url,
        body={"payload": "packets/p.json", "options": {"payloadType": "application/store"}},
    )
    assert status == 200
    assert api.emu.runs(api.key)[-1]["emulator"]["payloadType"] == "application/store"


async def test_trigger_header_errors(api: Api) -> None:
    status, body, _ = await api.trigger(headers={"idempotency-key": "k" * 2049})
    assert status == 400
    assert body == {
        "error": "Headers Error",
        "details": [
            {
                "code": "too_big",
                "maximum": 2048,
                "type": "string",
                "inclusive": True,
                "exact": False,
                "message": "String must contain at most 2048 character(s)",
                "path": ["idempotency-key"],
            }
        ],
    }
    status, body, _ = await api.trigger(headers={"x-trigger-engine-version": "V3"})
    assert status == 400
    assert body["details"][0]["message"] == "Invalid enum value. Expected 'V1' | 'V2', received 'V3'"
    assert body["details"][0]["path"] == ["x-trigger-engine-version"]


async def test_tags(api: Api) -> None:
    status, body, _ = await api.trigger(tags=[f"t{i}" for i in range(11)])
    assert (status, body) == (
        422,
        {"error": "Runs can only have 10 tags, you're trying to set 11."},
    )
    status, body, _ = await api.trigger(tags=["a" * 129])
    assert (status, body) == (
        400,
        {"error": 'Validation error: Tags must be less than 128 characters at "options.tags[0]"'},
    )
    status, body, _ = await api.trigger(tags="a" * 129)
    assert (status, body) == (
        400,
        {"error": 'Validation error: Tags must be less than 128 characters at "options.tags"'},
    )
    run_id = await api.trigger_id(tags=["zeta", "alpha", " ", "", "alpha", "b" * 128])
    assert (await api.retrieve(run_id))["tags"] == ["alpha", "b" * 128, "zeta"]
    run_id = await api.trigger_id(tags="solo")
    assert (await api.retrieve(run_id))["tags"] == ["solo"]


async def test_metadata(api: Api) -> None:
    run_id = await api.trigger_id(metadata={"user": 1, "$$streams": ["x"]})
    assert (await api.retrieve(run_id))["metadata"] == {"user": 1}
    status, body, _ = await api.trigger(metadata={"blob": "x" * 262_144})
    assert (status, body) == (413, {"error": "Metadata exceeds maximum size of 262144 bytes"})
    # Exactly at the limit is fine.
    filler = "x" * (262_144 - len('{"blob":""}'))
    assert (await api.trigger(metadata={"blob": filler}))[0] == 200


async def test_body_size_limit(api: Api) -> None:
    big = json.dumps({"payload": "x" * (3 * 1024 * 1024)}).encode()
    # A BytesIO body still gets a Content-Length, without aiohttp's large-bytes warning.
    async with api.session.post(
        api.emu.url + "/api/v1/tasks/t/trigger", data=io.BytesIO(big), headers=api.headers()
    ) as response:
        assert response.request_info.headers["Content-Length"] == str(len(big))
        assert response.status == 413
        assert await response.json() == {"error": "Request body too large"}

    async def chunks() -> AsyncIterator[bytes]:
        yield b"{}"

    # Without a Content-Length (chunked) the server refuses even a tiny body.
    async with api.session.post(
        api.emu.url + "/api/v1/tasks/t/trigger", data=chunks(), headers=api.headers()
    ) as response:
        assert response.status == 413
        assert await response.json() == {"error": "Request body too large"}


async def test_trigger_options_are_stored(api: Api) -> None:
    run_id = await api.trigger_id(
        test=True,
        lockToVersion="20250101.1",
        machine="small-2x",
        maxAttempts=3,
        maxDuration=1,
        priority=1.5,
        concurrencyKey=42,
        queue={"name": "emails!"},
        region="eu-central-1",
    )
    run = await api.retrieve(run_id)
    assert run["isTest"] is True
    assert run["version"] == "20250101.1"
    assert "region" not in run  # dev environments ignore regions
    internal = api.emu.runs(api.key)[0]["emulator"]
    assert internal["machine"] == "small-2x"
    assert internal["maxAttempts"] == 3
    assert internal["maxDuration"] == 5  # clamped to at least 5 s
    assert internal["priorityMs"] == 1500
    assert internal["concurrencyKey"] == "42"
    assert internal["queue"] == "emails"
    prod = Api(api.session, api.emu, api.emu.prod_key)
    prod_run = await prod.retrieve(await prod.trigger_id(region="eu-central-1"))
    assert prod_run["region"] == "eu-central-1"
    assert "ttl" not in prod_run


async def test_unknown_fields_are_stripped_not_rejected(api: Api) -> None:
    status, _, _ = await api.request("POST", "/api/v1/tasks/t/trigger", body={"options": {"nope": 1}, "extra": True})
    assert status == 200


async def test_any_method_but_get_triggers(api: Api) -> None:
    for method in ("PUT", "PATCH", "DELETE"):
        status, _, _ = await api.request(method, "/api/v1/tasks/t/trigger", body={})
        assert status == 200, method


# idempotency ---------------------------------------------------------------------------------


async def test_idempotency_key_dedupes_per_task(api: Api) -> None:
    key = "a" * 64
    first_status, first, _ = await api.trigger(
        idempotencyKey=key, idempotencyKeyOptions={"key": "order-42", "scope": "global"}
    )
    status, second, headers = await api.trigger(idempotencyKey=key, tags=["ignored"])
    assert (first_status, status) == (200, 200)
    assert second == {"id": first["id"], "isCached": True}
    assert verify_hs256(headers["x-trigger-jwt"], api.key) is not None
    # Same key on another task is independent.
    other = await api.trigger_id("other-task", idempotencyKey=key)
    assert other != first["id"]
    # Retrieve shows the user's key, the list the stored one.
    assert (await api.retrieve(first["id"]))["idempotencyKey"] == "order-42"
    _, page, _ = await api.list("filter[taskIdentifier]=hello-world")
    assert page["data"][0]["idempotencyKey"] == key
    assert (await api.retrieve(first["id"]))["tags"] == []


async def test_idempotency_header_beats_body(api: Api) -> None:
    first = await api.trigger_id(idempotencyKey="body-key")
    status, body, _ = await api.trigger(headers={"idempotency-key": "header-key"}, idempotencyKey="body-key")
    assert status == 200
    assert body["isCached"] is False
    _, again, _ = await api.trigger(headers={"idempotency-key": "header-key"})
    assert again == {"id": body["id"], "isCached": True}
    assert body["id"] != first


@pytest.mark.parametrize("status", ["COMPLETED_WITH_ERRORS", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT", "INTERRUPTED"])
async def test_failed_runs_release_their_key(api: Api, status: str) -> None:
    first = await api.trigger_id(idempotencyKey="k")
    api.emu.start_run(first)
    api.emu.fail_run(first, "boom", status=status)
    _, second, _ = await api.trigger(idempotencyKey="k")
    assert second["isCached"] is False
    assert second["id"] != first
    assert "idempotencyKey" not in await api.retrieve(first)
    _, third, _ = await api.trigger(idempotencyKey="k")
    assert third == {"id": second["id"], "isCached": True}


async def test_expired_runs_release_their_key(api: Api) -> None:
    first = await api.trigger_id(idempotencyKey="k", ttl="1m")
    api.emu.advance_time(61)
    assert (await api.retrieve(first))["status"] == "EXPIRED"
    _, second, _ = await api.trigger(idempotencyKey="k")
    assert second["id"] != first


@pytest.mark.parametrize("finish", ["complete", "cancel"])
async def test_completed_and_canceled_runs_keep_their_key(api: Api, finish: str) -> None:
    first = await api.trigger_id(idempotencyKey="k")
    if finish == "complete":
        api.emu.complete_run(first, {"ok": True})
    else:
        assert (await api.request("POST", f"/api/v2/runs/{first}/cancel"))[0] == 200
    _, second, _ = await api.trigger(idempotencyKey="k")
    assert second == {"id": first, "isCached": True}


async def test_idempotency_key_ttl(api: Api) -> None:
    first = await api.trigger_id(idempotencyKey="short", idempotencyKeyTTL="30s")
    api.emu.advance_time(20)
    assert (await api.trigger(idempotencyKey="short"))[1]["id"] == first
    api.emu.advance_time(11)
    _, body, _ = await api.trigger(idempotencyKey="short")
    assert body["isCached"] is False and body["id"] != first
    # The header TTL beats the body's; an invalid TTL means the 30-day default.
    _, header_first_body, _ = await api.trigger(
        headers={"idempotency-key-ttl": "1h"}, idempotencyKey="h", idempotencyKeyTTL="1s"
    )
    header_first = header_first_body["id"]
    bad_first = await api.trigger_id(idempotencyKey="bad", idempotencyKeyTTL="1 hour")
    api.emu.start_run(bad_first)  # started runs never expire, so only the key TTL matters
    api.emu.advance_time(60)
    assert (await api.trigger(idempotencyKey="h"))[1]["id"] == header_first
    api.emu.advance_time(29 * 86400)
    assert (await api.trigger(idempotencyKey="bad", ttl="1w"))[1] == {
        "id": bad_first,
        "isCached": True,
    }
    api.emu.advance_time(86400)
    assert (await api.trigger(idempotencyKey="bad"))[1]["id"] != bad_first


async def test_request_idempotency_header_is_ignored_by_default(api: Api) -> None:
    headers = {"x-trigger-request-idempotency-key": "4b0c9a86-7f1c-4d2b-9a53-0f7d3b1e2c44"}
    first = (await api.trigger(headers=headers))[1]["id"]
    second = (await api.trigger(headers=headers))[1]["id"]
    assert first != second


async def test_request_idempotency_dedupe_option() -> None:
    async with Emulator(dedupe_request_idempotency=True) as emu, aiohttp.ClientSession() as session:
        api = Api(session, emu, emu.dev_key)
        headers = {"x-trigger-request-idempotency-key": "4b0c9a86-7f1c-4d2b-9a53-0f7d3b1e2c44"}
        _, first, _ = await api.trigger(headers=headers)
        _, again, again_headers = await api.trigger(headers=headers)
        assert again == {"id": first["id"], "isCached": False}
        assert "x-trigger-jwt" in again_headers
        # Scoped by task, and by time (24 h).
        assert (await api.trigger("other", headers=headers))[1]["id"] != first["id"]
        emu.advance_time(24 * 3600 + 1)
        assert (await api.trigger(headers=headers))[1]["id"] != first["id"]


# delay and ttl ------------------------------------------------------------------------------


async def test_delay(api: Api) -> None:
    before = datetime.now(timezone.utc)
    delayed = await api.retrieve(await api.trigger_id(delay="1h"))
    assert delayed["status"] == "DELAYED"
    assert delayed["isQueued"] is True
    until = _parse_iso(delayed["delayedUntil"])
    assert timedelta(minutes=59) < until - before < timedelta(minutes=61)

    combined = await api.retrieve(await api.trigger_id(delay="1d2h30m"))
    until = _parse_iso(combined["delayedUntil"])
    assert timedelta(hours=26, minutes=29) < until - before < timedelta(hours=26, minutes=31)

    future = (before + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    dated = await api.retrieve(await api.trigger_id(delay=future))
    assert (dated["status"], dated["delayedUntil"]) == ("DELAYED", future)

    for ignored in ("2020-01-01T00:00:00.000Z", "soon", "1x", ""):
        run = await api.retrieve(await api.trigger_id(delay=ignored))
        assert run["status"] == "QUEUED", ignored
        assert "delayedUntil" not in run

    # Time passing moves delayed runs to the queue.
    api.emu.advance_time(3601)
    assert (await api.retrieve(delayed["id"]))["status"] == "QUEUED"
    assert (await api.retrieve(combined["id"]))["status"] == "DELAYED"


async def test_ttl(api: Api) -> None:
    assert (await api.retrieve(await api.trigger_id(ttl=90)))["ttl"] == "1m30s"
    assert (await api.retrieve(await api.trigger_id(ttl=694861)))["ttl"] == "1w1d1h1m1s"
    assert (await api.retrieve(await api.trigger_id(ttl="2h")))["ttl"] == "2h"
    assert (await api.retrieve(await api.trigger_id()))["ttl"] == "10m"  # the DEV default
    assert "ttl" not in await api.retrieve(await api.trigger_id(ttl=0))
    staging = Api(api.session, api.emu, api.emu.staging_key)
    assert "ttl" not in await staging.retrieve(await staging.trigger_id())


async def test_ttl_expiry(api: Api) -> None:
    queued = await api.trigger_id()  # 10m default
    started = await api.trigger_id()
    api.emu.start_run(started)
    delayed = await api.trigger_id(delay="5m", ttl="10m")
    api.emu.advance_time(601)
    expired = await api.retrieve(queued)
    assert expired["status"] == "EXPIRED"
    assert "expiredAt" in expired and "finishedAt" in expired
    assert expired["isCompleted"] is False and expired["isFailed"] is False
    assert (await api.retrieve(started))["status"] == "EXECUTING"
    # A delayed run's TTL starts when it is queued.
    assert (await api.retrieve(delayed))["status"] == "QUEUED"
    api.emu.advance_time(300)
    assert (await api.retrieve(delayed))["status"] == "EXPIRED"
    _, page, _ = await api.list("filter[status]=EXPIRED")
    assert {r["id"] for r in page["data"]} == {queued, delayed}


async def test_parent_and_child_runs(api: Api) -> None:
    parent = await api.trigger_id("parent")
    child = await api.trigger_id("child", parentRunId=parent, resumeParentOnCompletion=True)
    grandchild = await api.trigger_id("grandchild", parentRunId=child)
    child_run = await api.retrieve(child)
    assert child_run["depth"] == 1
    assert child_run["triggerFunction"] == "triggerAndWait"
    assert child_run["relatedRuns"]["parent"]["id"] == parent
    assert child_run["relatedRuns"]["root"]["id"] == parent
    assert [c["id"] for c in child_run["relatedRuns"]["children"]] == [grandchild]
    grandchild_run = await api.retrieve(grandchild)
    assert grandchild_run["depth"] == 2
    assert grandchild_run["triggerFunction"] == "trigger"
    assert grandchild_run["relatedRuns"]["root"]["id"] == parent
    assert grandchild_run["relatedRuns"]["parent"]["id"] == child
    parent_run = await api.retrieve(parent)
    assert [c["id"] for c in parent_run["relatedRuns"]["children"]] == [child]
    assert "parent" not in parent_run["relatedRuns"]
    api.emu.complete_run(parent)
    status, body, _ = await api.trigger("late", parentRunId=parent, resumeParentOnCompletion=True)
    assert (status, body) == (
        422,
        {"error": "Cannot trigger late as the parent run has a status of COMPLETED_SUCCESSFULLY"},
    )


# --------------------------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------------------------


async def test_retrieve_unknown_run(api: Api) -> None:
    status, body, headers = await api.request("GET", "/api/v3/runs/run_doesnotexist")
    assert (status, body) == (404, {"error": "Not found"})
    assert headers["x-should-retry"] == "true"


async def test_lifecycle_controls(api: Api) -> None:
    run_id = await api.trigger_id()
    api.emu.start_run(run_id)
    run = await api.retrieve(run_id)
    assert run["status"] == "EXECUTING" and run["isExecuting"] is True
    assert "startedAt" in run and run["attemptCount"] == 1
    api.emu.complete_run(run_id, {"sum": 3})
    run = await api.retrieve(run_id)
    assert run["status"] == "COMPLETED"
    assert run["output"] == {"sum": 3}
    assert run["isCompleted"] and run["isSuccess"] and not run["isFailed"]
    assert "finishedAt" in run
    failed = await api.trigger_id()
    api.emu.fail_run(failed, "boom")
    run = await api.retrieve(failed)
    assert run["status"] == "FAILED"
    assert run["error"] == {"message": "boom"}
    assert "output" not in run
    assert run["isFailed"] is True
    with pytest.raises(KeyError):
        api.emu.start_run("run_unknown")
    with pytest.raises(KeyError):
        api.emu.complete_run("run_unknown")
    with pytest.raises(KeyError):
        api.emu.fail_run("run_unknown")
    with pytest.raises(ValueError):
        api.emu.complete_run(run_id)


@pytest.mark.parametrize(
    ("internal", "new", "legacy", "flag"),
    [
        ("PENDING", "QUEUED", "QUEUED", "isQueued"),
        ("DELAYED", "DELAYED", "DELAYED", "isQueued"),
        ("DEQUEUED", "DEQUEUED", "EXECUTING", "isExecuting"),
        ("RETRYING_AFTER_FAILURE", "EXECUTING", "REATTEMPTING", "isExecuting"),
        ("WAITING_TO_RESUME", "WAITING", "FROZEN", None),
        ("WAITING_FOR_DEPLOY", "PENDING_VERSION", "WAITING_FOR_DEPLOY", "isQueued"),
        ("INTERRUPTED", "FAILED", "INTERRUPTED", "isFailed"),
        ("COMPLETED_WITH_ERRORS", "FAILED", "FAILED", "isFailed"),
        ("CANCELED", "CANCELED", "CANCELED", "isCancelled"),
        ("TIMED_OUT", "TIMED_OUT", "TIMED_OUT", None),
    ],
)
async def test_status_vocabulary(api: Api, internal: str, new: str, legacy: str, flag: str | None) -> None:
    run_id = await api.trigger_id()
    api.emu.set_run_status(run_id, internal)
    new_run = await api.retrieve(run_id)
    legacy_run = await api.retrieve(run_id, headers={"x-trigger-api-version": "2024-01-01"})
    assert new_run["status"] == new
    assert legacy_run["status"] == legacy
    if flag is not None:
        assert new_run[flag] is True
    assert new_run["isWaiting"] is (new == "WAITING")
    # FROZEN counts as executing in the legacy dialect; WAITING does not.
    assert legacy_run["isExecuting"] is (legacy in {"EXECUTING", "REATTEMPTING", "FROZEN"})
    async with api.session.get(
        api.emu.url + "/api/v1/runs", headers={"Authorization": f"Bearer {api.key}"}
    ) as response:
        listed = (await response.json())["data"][0]
    assert listed["status"] == legacy


async def test_list_defaults_and_cursor_round_trip(api: Api) -> None:
    ids = [await api.trigger_id(f"task-{i % 3}") for i in range(30)]
    newest_first = ids[::-1]
    status, page, _ = await api.list()
    assert status == 200
    assert [r["id"] for r in page["data"]] == newest_first[:25]
    assert set(page["pagination"]) == {"next"}
    item = page["data"][0]
    assert item["env"] == {"id": item["env"]["id"], "name": "dev"}
    assert item["status"] == "QUEUED" and item["taskKind"] == "STANDARD"
    for key in ("depth", "costInCents", "baseCostInCents", "durationMs", "tags", "isTest"):
        assert key in item
    cursor = json.loads(base64.urlsafe_b64decode(page["pagination"]["next"] + "=="))
    assert set(cursor) == {"c", "r"} and cursor["r"] == newest_first[24]

    collected: list[str] = []
    query = "page[size]=7"
    pages = 0
    while True:
        status, page, _ = await api.list(query)
        assert status == 200
        collected += [r["id"] for r in page["data"]]
        pages += 1
        if pages > 1:
            assert page["pagination"]["previous"]
        if "next" not in page["pagination"]:
            break
        query = f"page[size]=7&page[after]={page['pagination']['next']}"
    assert collected == newest_first
    assert pages == 5

    # Going back from the third page returns the second.
    _, first, _ = await api.list("page[size]=7")
    _, second, _ = await api.list(f"page[size]=7&page[after]={first['pagination']['next']}")
    _, third, _ = await api.list(f"page[size]=7&page[after]={second['pagination']['next']}")
    _, back, _ = await api.list(f"page[size]=7&page[before]={third['pagination']['previous']}")
    assert [r["id"] for r in back["data"]] == [r["id"] for r in second["data"]]
    assert set(back["pagination"]) == {"next", "previous"}
    _, back_to_first, _ = await api.list(f"page[size]=7&page[before]={back['pagination']['previous']}")
    assert [r["id"] for r in back_to_first["data"]] == [r["id"] for r in first["data"]]
    assert "previous" not in back_to_first["pagination"]
    # When both cursors are given, `before` wins.
    _, both, _ = await api.list(
        f"page[size]=7&page[after]={first['pagination']['next']}&page[before]={third['pagination']['previous']}"
    )
    assert [r["id"] for r in both["data"]] == [r["id"] for r in second["data"]]
    # A legacy bare run-id cursor is accepted.
    _, legacy, _ = await api.list(f"page[size]=3&page[after]={newest_first[2]}")
    assert [r["id"] for r in legacy["data"]] == newest_first[3:6]


async def test_list_page_size_errors(api: Api) -> None:
    def too_big(path: str) -> dict[str, Any]:
        return {
            "code": "too_big",
            "maximum": 100,
            "type": "number",
            "inclusive": True,
            "exact": False,
            "message": "Number must be less than or equal to 100",
            "path": [path],
        }

    status, body, _ = await api.list("page[size]=101")
    assert (status, body) == (400, {"error": "Query Error", "details": [too_big("page[size]")]})
    status, body, _ = await api.list("page[size]=0")
    assert status == 400
    assert body["details"][0]["message"] == "Number must be greater than or equal to 1"
    status, body, _ = await api.list("page[size]=abc")
    assert body["details"][0]["message"] == "Expected number, received nan"
    status, body, _ = await api.list("page[size]=2.5")
    assert body["details"][0]["message"] == "Expected integer, received float"
    for size in ("1", "100"):
        assert (await api.list(f"page[size]={size}"))[0] == 200


async def test_list_filter_errors(api: Api) -> None:
    status, body, _ = await api.list("filter[status]=RUNNING")
    assert (status, body) == (
        400,
        {
            "error": "Query Error",
            "details": [
                {
                    "code": "custom",
                    "message": "Invalid status values: RUNNING",
                    "path": ["filter[status]"],
                }
            ],
        },
    )
    status, body, _ = await api.list("filter[status]=QUEUED,BAD,WORSE")
    assert body["details"][0]["message"] == "Invalid status values: BAD, WORSE"
    status, body, _ = await api.list("filter[isTest]=yes")
    assert body["details"] == [
        {"code": "custom", "message": "Invalid value for isTest: yes", "path": ["filter[isTest]"]}
    ]
    status, body, _ = await api.list("filter[machine]=huge")
    assert body["details"][0]["message"] == "Invalid machine values: huge"
    # Legacy names are accepted as filters.
    assert (await api.list("filter[status]=FROZEN,REATTEMPTING,INTERRUPTED,WAITING_FOR_DEPLOY"))[0] == 200


async def test_list_filters(api: Api) -> None:
    a = await api.trigger_id("alpha", tags=["red", "blue"], test=True, machine="micro")
    b = await api.trigger_id("beta", tags=["green"], lockToVersion="v2", queue={"name": "shared"})
    c = await api.trigger_id("gamma", delay="1h")
    api.emu.complete_run(b)

    async def ids(query: str) -> list[str]:
        status, page, _ = await api.list(query)
        assert status == 200, page
        return [r["id"] for r in page["data"]]

    assert await ids("filter[taskIdentifier]=alpha,beta") == [b, a]
    assert await ids("filter[tag]=green,red") == [b, a]
    assert await ids("filter[status]=COMPLETED") == [b]
    assert await ids("filter[status]=QUEUED,DELAYED") == [c, a]
    assert await ids("filter[isTest]=true") == [a]
    assert await ids("filter[isTest]=false") == [c, b]
    assert await ids("filter[version]=v2") == [b]
    assert await ids("filter[queue]=shared") == [b]
    assert await ids("filter[queue]=task/alpha") == [a]
    assert await ids("filter[machine]=micro") == [a]
    assert await ids("filter[batch]=batch_x") == []
    now = _now_ms()
    assert await ids(f"filter[createdAt][from]={now + 60_000}") == []
    assert await ids(f"filter[createdAt][to]={now - 60_000}") == []
    assert await ids(f"filter[createdAt][from]={now - 60_000}&filter[createdAt][to]={now + 60_000}") == [c, b, a]
    iso_from = datetime.fromtimestamp((now - 60_000) / 1000, timezone.utc).isoformat()
    assert await ids("filter[createdAt][from]=" + iso_from.replace("+", "%2B")) == [c, b, a]
    # The implicit window is 7 days.
    api.emu.advance_time(8 * 86400)
    assert await ids("") == []
    assert await ids("filter[createdAt][period]=9d") == [c, b, a]
    assert await ids("filter[createdAt][period]=1d") == []
    assert await ids(f"filter[createdAt][from]={now - 60_000}") == [c, b, a]


async def test_project_runs_list(api: Api) -> None:
    dev_run = await api.trigger_id()
    prod = Api(api.session, api.emu, api.emu.prod_key)
    prod_run = await prod.trigger_id()
    path = f"/api/v1/projects/{PROJECT_REF}/runs"
    _, page, _ = await api.request("GET", path)
    assert [r["id"] for r in page["data"]] == [dev_run]
    _, page, _ = await api.request("GET", path + "?filter[env]=prod")
    assert [r["id"] for r in page["data"]] == [prod_run]
    _, page, _ = await api.request("GET", path + "?filter[env]=dev,prod")
    assert {r["id"] for r in page["data"]} == {dev_run, prod_run}
    status, body, _ = await api.request("GET", "/api/v1/projects/proj_other/runs")
    assert (status, body) == (404, {"error": "Project not found"})
    status, body, _ = await api.request("GET", path, headers={"Authorization": "Bearer nonsense"})
    assert (status, body) == (401, {"error": "Invalid PAT"})


async def test_cancel(api: Api) -> None:
    run_id = await api.trigger_id()
    child = await api.trigger_id("child", parentRunId=run_id)
    status, body, _ = await api.request("POST", f"/api/v2/runs/{run_id}/cancel")
    assert (status, body) == (200, {"id": run_id})
    run = await api.retrieve(run_id)
    assert run["status"] == "CANCELED" and run["isCancelled"] is True and run["isCompleted"] is True
    assert "finishedAt" in run
    assert run["error"] == {"message": "Canceled by user"}
    assert (await api.retrieve(child))["status"] == "CANCELED"
    updated = run["updatedAt"]
    api.emu.advance_time(5)
    status, body, _ = await api.request("POST", f"/api/v2/runs/{run_id}/cancel")
    assert (status, body) == (200, {"id": run_id})
    assert (await api.retrieve(run_id))["updatedAt"] == updated
    done = await api.trigger_id()
    api.emu.complete_run(done, 1)
    assert (await api.request("POST", f"/api/v2/runs/{done}/cancel"))[1] == {"id": done}
    assert (await api.retrieve(done))["status"] == "COMPLETED"
    delayed = await api.trigger_id(delay="1h")
    await api.request("POST", f"/api/v2/runs/{delayed}/cancel")
    api.emu.advance_time(3601)
    assert (await api.retrieve(delayed))["status"] == "CANCELED"
    status, body, _ = await api.request("POST", "/api/v2/runs/run_unknown/cancel")
    assert (status, body) == (404, {"error": "Resource not found"})


async def test_replay(api: Api) -> None:
    original = await api.trigger_id(
        payload={"n": 1},
        tags=["a", "b"],
        metadata={"seed": True},
        test=True,
        concurrencyKey="ck",
        machine="large-1x",
        queue={"name": "custom"},
        ttl="1h",
        idempotencyKey="idem",
        delay="1h",
    )
    api.emu.set_run_status(original, "PENDING")
    api.emu.complete_run(original, "done")
    status, body, _ = await api.request("POST", f"/api/v1/runs/{original}/replay")
    assert status == 200 and set(body) == {"id"}
    replayed = await api.retrieve(body["id"])
    assert body["id"] != original
    assert replayed["payload"] == {"n": 1}
    assert replayed["tags"] == ["a", "b"]
    assert replayed["metadata"] == {"seed": True}
    assert replayed["isTest"] is True
    assert replayed["status"] == "QUEUED"  # no delay copied
    assert replayed["ttl"] == "10m"  # the DEV default, not the original TTL
    assert "idempotencyKey" not in replayed
    internal = next(r for r in api.emu.runs(api.key) if r["id"] == body["id"])["emulator"]
    assert (internal["concurrencyKey"], internal["machine"], internal["queue"]) == (
        "ck",
        "large-1x",
        "custom",
    )
    assert internal["replayedFrom"] == original
    # Canceled (or any) runs can be replayed, with the SDK's optional overrides.
    await api.request("POST", f"/api/v2/runs/{body['id']}/cancel")
    status, again, _ = await api.request(
        "POST",
        f"/api/v1/runs/{body['id']}/replay",
        body={
            "payload": '{"json":{"n":2}}',
            "tags": ["z"],
            "payloadType": "application/super+json",
        },
    )
    assert status == 200
    overridden = await api.retrieve(again["id"])
    assert (overridden["payload"], overridden["tags"]) == ({"n": 2}, ["z"])
    status, body, _ = await api.request("POST", "/api/v1/runs/run_unknown/replay")
    assert (status, body) == (404, {"error": "Resource not found"})
    status, body, _ = await api.request(
        "POST", f"/api/v1/runs/{original}/replay", body={"tags": [f"t{i}" for i in range(11)]}
    )
    assert (status, body) == (
        400,
        {"error": "Runs can only have 10 tags, you're trying to set 11."},
    )


async def test_reschedule(api: Api) -> None:
    run_id = await api.trigger_id(delay="1h")
    future = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    status, body, _ = await api.request("POST", f"/api/v1/runs/{run_id}/reschedule", body={"delay": future})
    assert status == 200
    assert body["id"] == run_id and body["status"] == "DELAYED" and body["delayedUntil"] == future
    assert body["relatedRuns"] == {"children": []} and "attemptCount" in body
    status, legacy, _ = await api.request(
        "POST",
        f"/api/v1/runs/{run_id}/reschedule",
        body={"delay": "2h"},
        headers={"x-trigger-api-version": "2023-01-01"},
    )
    assert status == 200
    until = _parse_iso(legacy["delayedUntil"]) - datetime.now(timezone.utc)
    assert timedelta(minutes=119) < until < timedelta(minutes=121)

    queued = await api.trigger_id()
    cases = [
        (queued, {"delay": "1h"}, 400, {"error": "Cannot reschedule a run that is not delayed"}),
        (
            run_id,
            {"delay": "2020-01-01T00:00:00.000Z"},
            400,
            {"error": "Invalid delay: 2020-01-01T00:00:00.000Z"},
        ),
        (run_id, {"delay": "soon"}, 400, {"error": "Invalid delay: soon"}),
        (
            run_id,
            {"delay": 5},
            400,
            {"error": "Invalid delay: Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"},
        ),
        (run_id, {}, 400, {"error": "Invalid request body"}),
        (run_id, {"delay": {}}, 400, {"error": "Invalid request body"}),
        ("run_unknown", {"delay": "1h"}, 404, {"error": "Run not found"}),
    ]
    for target, request, want_status, want_body in cases:
        got_status, got, _ = await api.request("POST", f"/api/v1/runs/{target}/reschedule", body=request)
        assert (got_status, got) == (want_status, want_body), request
    status, body, _ = await api.request(
        "POST",
        f"/api/v1/runs/{run_id}/reschedule",
        data=b"{oops",
        headers={"Content-Type": "application/json"},
    )
    assert (status, body) == (400, {"error": "Invalid request body"})
    # A delayed run whose time has come is queued and can no longer be rescheduled.
    api.emu.advance_time(4 * 86400)
    status, body, _ = await api.request("POST", f"/api/v1/runs/{run_id}/reschedule", body={"delay": "1h"})
    assert (status, body) == (400, {"error": "Cannot reschedule a run that is not delayed"})


# --------------------------------------------------------------------------------------------
# emulator API: recording, injection, threads, plugin, CLI
# --------------------------------------------------------------------------------------------


async def test_requests_are_recorded(api: Api) -> None:
    api.emu.clear_requests()
    await api.request(
        "POST",
        "/api/v1/tasks/my%2Ftask/trigger?x=%2F&y=a+b",
        body={"payload": {"é": 1}},
        headers={"X-Custom": "v"},
    )
    (record,) = api.emu.requests
    assert record.method == "POST"
    assert record.path == "/api/v1/tasks/my/task/trigger"
    assert record.raw_path == "/api/v1/tasks/my%2Ftask/trigger"
    assert record.query_string == "x=%2F&y=a+b"
    assert record.headers["x-custom"] == "v"
    assert record.headers["authorization"] == f"Bearer {api.key}"
    assert record.json() == {"payload": {"é": 1}}
    assert record.body == json.dumps({"payload": {"é": 1}}).encode()
    assert record.arrived_at <= time.monotonic()
    await api.request("GET", "/api/v1/runs")
    assert [r.method for r in api.emu.requests] == ["POST", "GET"]
    assert api.emu.requests[1].json() is None
    api.emu.clear_requests()
    assert api.emu.requests == []


async def test_injected_responses(api: Api) -> None:
    path = "/api/v3/runs/run_injected"
    api.emu.inject(
        "get",
        path,
        InjectedResponse(503, {"error": "busy"}, headers={"x-ratelimit-reset": lambda: "123"}),
        InjectedResponse(200, {"id": "run_injected"}, delay=0.05),
        InjectedResponse(200, "plain", headers={"Content-Type": "text/x-custom"}),
        InjectedResponse(204),
    )
    status, body, headers = await api.request("GET", path)
    assert (status, body, headers["x-ratelimit-reset"]) == (503, {"error": "busy"}, "123")
    assert headers["Content-Type"].startswith("application/json")
    started = time.monotonic()
    status, body, _ = await api.request("GET", path)
    assert (status, body) == (200, {"id": "run_injected"})
    assert time.monotonic() - started >= 0.05
    status, body, headers = await api.request("GET", path)
    assert (status, body, headers["Content-Type"]) == (200, "plain", "text/x-custom")
    assert (await api.request("GET", path))[0] == 204
    # Once consumed, normal handling resumes (this run does not exist).
    assert (await api.request("GET", path))[1] == {"error": "Not found"}
    # Injection comes before auth, and other methods/paths are unaffected.
    api.emu.inject("POST", "/api/v1/tasks/t/trigger", InjectedResponse(500, b"\x00raw"))
    status, body, _ = await api.request("POST", "/api/v1/tasks/t/trigger", body={}, auth=False)
    assert (status, body) == (500, "\x00raw")
    assert len(api.emu.requests) == 6


async def test_injected_dropped_connection(api: Api) -> None:
    api.emu.inject("POST", "/api/v1/tasks/t/trigger", InjectedResponse(200, drop_connection=True))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.trigger("t")
    assert (await api.trigger("t"))[0] == 200
    assert [r.path for r in api.emu.requests] == ["/api/v1/tasks/t/trigger"] * 2


async def test_injected_response_path_match_is_on_the_decoded_path(api: Api) -> None:
    api.emu.inject("POST", "/api/v1/tasks/a/b/trigger", InjectedResponse(418))
    assert (await api.request("POST", "/api/v1/tasks/a%2Fb/trigger", body={}))[0] == 418


def test_threaded_emulator_across_event_loops() -> None:
    with ThreadedEmulator() as emu:
        assert emu.url.startswith("http://127.0.0.1:")

        async def trigger() -> str:
            async with aiohttp.ClientSession() as session:
                status, body, _ = await Api(session, emu, emu.dev_key).trigger()
                assert status == 200
                return str(body["id"])

        first = asyncio.run(trigger())
        emu.start_run(first)
        second = asyncio.run(trigger())
        emu.complete_run(first, {"ok": 1})
        emu.fail_run(second, "nope", status="CRASHED")
        statuses = {r["id"]: r["status"] for r in emu.runs(emu.dev_key)}
        assert statuses == {first: "COMPLETED", second: "CRASHED"}
        assert [r.method for r in emu.requests] == ["POST", "POST"]
        emu.inject("GET", "/x", InjectedResponse(201))

        async def get_x() -> int:
            async with aiohttp.ClientSession() as session, session.get(emu.url + "/x") as response:
                return response.status

        assert asyncio.run(get_x()) == 201
        emu.advance_time(1)
        emu.set_run_status(first, "PENDING")
        emu.clear_requests()
        assert emu.requests == []
        with pytest.raises(KeyError):
            emu.start_run("run_missing")
    with pytest.raises(RuntimeError):
        emu.start_run(first)


def test_emulator_keys_match_the_documented_pattern() -> None:
    import re

    pattern = re.compile(r"^tr_(dev|stg|prod|preview)_[A-Za-z0-9_]+$")
    for emu_class in (Emulator, ThreadedEmulator):
        keys = [emu_class.dev_key, emu_class.staging_key, emu_class.prod_key, emu_class.preview_key]
        assert all(pattern.match(k) for k in keys)
        assert [k.split("_")[1] for k in keys] == ["dev", "stg", "prod", "preview"]


async def test_emulator_lifecycle_errors() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.url
    await emu.start()
    with pytest.raises(RuntimeError):
        await emu.start()
    busy = Emulator(port=emu.port)
    with pytest.raises(OSError):
        await busy.start()
    await emu.close()
    await emu.close()
    with pytest.raises(OSError):
        ThreadedEmulator(host="256.0.0.1").start()


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def test_pytest_plugin_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_uses_fixture.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            import urllib.request

            def test_sync(trigger_emulator):
                request = urllib.request.Request(
                    trigger_emulator.url + "/api/v1/auth/jwt/claims",
                    method="POST",
                    headers={"Authorization": "Bearer " + trigger_emulator.dev_key},
                )
                with urllib.request.urlopen(request) as response:
                    assert response.status == 200
                assert [r.path for r in trigger_emulator.requests] == ["/api/v1/auth/jwt/claims"]

            def test_fresh_per_test(trigger_emulator, trigger_emulator_session):
                assert trigger_emulator.requests == []
                assert trigger_emulator.url != trigger_emulator_session.url

            def test_from_an_event_loop(trigger_emulator):
                async def main():
                    loop = asyncio.get_running_loop()
                    emu = trigger_emulator
                    return await loop.run_in_executor(None, emu.runs, emu.dev_key)
                assert asyncio.run(main()) == []
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            "-p",
            "trigger_async.testing.pytest_plugin",
            str(tmp_path),
        ],
        cwd=tmp_path,
        # No entry-point plugins (installed or not, and no pytest-asyncio): only this one.
        env={**_subprocess_env(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_cli_serve() -> None:
    process = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "trigger_async.testing", "serve", "--port", "0"],
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            lines.append(line.rstrip("\n"))
        url = lines[0].rsplit(" ", 1)[1]
        assert url.startswith("http://127.0.0.1:")
        text = "\n".join(lines)
        for key in (
            Emulator.dev_key,
            Emulator.staging_key,
            Emulator.prod_key,
            Emulator.preview_key,
        ):
            assert key in text

        import urllib.request

        request = urllib.request.Request(
            url + "/api/v1/auth/jwt/claims",
            method="POST",
            headers={"Authorization": f"Bearer {Emulator.dev_key}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["pub"] is True
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        stderr = process.stderr.read() if process.stderr else ""
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
