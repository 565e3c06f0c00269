"""Replay the official SDK's recorded exchanges (``shared/conformance/golden``) to our client.

A :class:`ReplayServer` answers each request with the response the recording holds for the
same method and path (in order), and records what our client sent, so a test can compare
method, path, query, SDK-chosen headers and body with what the official SDK sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web

GOLDEN_DIR = Path(
    os.environ.get(
        "TRIGGER_ASYNC_GOLDEN_DIR",
        str(Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "golden"),
    )
)

# Headers Node's fetch adds by itself; a Python client sends its own versions of them.
TRANSPORT_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "sec-fetch-mode",
        "user-agent",
        "connection",
        "content-length",
        "transfer-encoding",
        "host",
    }
)


def golden_available() -> bool:
    return GOLDEN_DIR.is_dir()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN_DIR / f"{name}.json").read_text())
    return data


def golden_names() -> list[str]:
    return sorted(p.stem for p in GOLDEN_DIR.glob("*.json")) if golden_available() else []


@attrs.define
class Sent:
    server: str
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    arrived: float


class ReplayServer:
    """Answers with recorded responses, keyed by (method, path) in recorded order."""

    def __init__(self, label: str, log: list[Sent]) -> None:
        self.label = label
        self.log = log
        self.url = ""
        self.answers: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
        self.fallback: dict[str, Any] = {
            "status": 404,
            "headers": {},
            "body": {"error": "no answer"},
        }
        self._runner: web.AppRunner | None = None
        self.substitutions: dict[str, str] = {}

    def expect(self, method: str, path: str, response: Mapping[str, Any]) -> None:
        self.answers[(method, _normalize(path))].append(dict(response))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.log.append(
            Sent(
                self.label,
                request.method,
                request.raw_path.split("?", 1)[0],
                request.raw_path.partition("?")[2],
                {k.lower(): v for k, v in request.headers.items()},
                body,
                time.monotonic(),
            )
        )
        key = (request.method, _normalize(request.raw_path.split("?", 1)[0]))
        queue = self.answers.get(key)
        answer = queue.popleft() if queue and len(queue) > 1 else queue[0] if queue else self.fallback
        if answer.get("dropped"):
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        headers = {
            k: self._fill(v)
            for k, v in answer.get("headers", {}).items()
            if k.lower() not in {"content-length", "connection", "keep-alive", "date", "transfer-encoding"}
        }
        payload = answer.get("body")
        text = payload if isinstance(payload, str) else json.dumps(payload) if payload is not None else ""
        return web.Response(status=answer["status"], body=self._fill(text).encode(), headers=headers)

    def _fill(self, text: str) -> str:
        text = text.replace("{{epoch-ms}}", str(int(time.time() * 1000) + 1000))
        for placeholder, value in self.substitutions.items():
            text = text.replace(placeholder, value)
        return text

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _normalize(path: str) -> str:
    # Packet ids are random on both sides.
    return re.sub(r"packet_[0-9a-z]{21}|\{\{packet_id#\d+\}\}", "packet_X", path)


class Replay:
    """Two replay servers (A and B) loaded with a golden case's answers."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.sent: list[Sent] = []
        self.a = ReplayServer("A", self.sent)
        self.b = ReplayServer("B", self.sent)

    async def __aenter__(self) -> Replay:
        await self.a.start()
        await self.b.start()
        for server in (self.a, self.b):
            server.substitutions = {"{{baseURL}}": self.a.url, "{{baseURL_B}}": self.b.url}
        for request in self.case["requests"]:
            server = self.b if request.get("server") == "B" else self.a
            server.expect(request["method"], request["path"], request["response"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.a.close()
        await self.b.close()

    def url(self, placeholder: str) -> str:
        return placeholder.replace("{{baseURL}}", self.a.url).replace("{{baseURL_B}}", self.b.url)


def revive(value: Any) -> Any:
    """Turn the golden files' encoding markers into Python values."""
    from trigger_async._serialization import UNDEFINED

    if isinstance(value, dict):
        if set(value) == {"$date"}:
            return datetime.fromisoformat(value["$date"].replace("Z", "+00:00"))
        if set(value) == {"$bigint"}:
            return int(value["$bigint"])
        if set(value) == {"$set"}:
            return set(revive(v) for v in value["$set"])
        if set(value) == {"$undefined"}:
            return UNDEFINED
        if set(value) == {"$repeat"}:
            return value["$repeat"]["char"] * value["$repeat"]["count"]
        return {k: revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [revive(v) for v in value]
    return value


def snake(name: str) -> str:
    if name == "from":
        return "from_"
    if name == "idempotencyKeyTTL":
        return "idempotency_key_ttl"
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def kwargs_of(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return {snake(k): revive(v) for k, v in (options or {}).items()}


def request_options_of(value: Mapping[str, Any] | None) -> Any:
    from trigger_async import RequestOptions, RetryOptions

    if not value:
        return None
    retry = value.get("retry")
    retry_options = None
    if retry is not None:
        retry_options = RetryOptions(
            max_attempts=retry.get("maxAttempts"),
            factor=retry.get("factor"),
            min_timeout=retry["minTimeoutInMs"] / 1000 if "minTimeoutInMs" in retry else None,
            max_timeout=retry["maxTimeoutInMs"] / 1000 if "maxTimeoutInMs" in retry else None,
            randomize=retry.get("randomize"),
        )
    token = value.get("publicAccessToken")
    return RequestOptions(
        retry=retry_options,
        additional_headers=value.get("additionalHeaders"),
        public_access_token={"expiration_time": token["expirationTime"]} if token else None,
    )


def client_kwargs(config: Mapping[str, Any], replay: Replay) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key, value in config.items():
        if key == "baseURL":
            kwargs["base_url"] = replay.url(value)
        elif key == "requestOptions":
            kwargs["request_options"] = request_options_of(value)
        elif key == "future":
            if value.get("v2RealtimeStreams") is False:
                kwargs["realtime_streams_version"] = "v1"
        else:
            kwargs[snake(key)] = value
    return kwargs


def mask_uuids(values: list[str]) -> list[str]:
    """Replace each distinct value by ``{{uuid#n}}`` in order of first appearance."""
    seen: dict[str, str] = {}
    return [seen.setdefault(v, f"{{{{uuid#{len(seen) + 1}}}}}") for v in values]


def sdk_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in TRANSPORT_HEADERS and k != "x-trigger-request-idempotency-key"}


def iter_pairs(case: dict[str, Any], sent: list[Sent]) -> Iterator[tuple[dict[str, Any], Sent]]:
    """Pair each recorded request with ours, by (server, method, path) in order."""
    pools: dict[tuple[str, str, str], deque[Sent]] = defaultdict(deque)
    for item in sent:
        pools[(item.server, item.method, _normalize(item.path))].append(item)
    for recorded in case["requests"]:
        key = (recorded.get("server", "A"), recorded["method"], _normalize(recorded["path"]))
        assert pools[key], f"we sent no {key} (recorded request #{recorded['index']})"
        yield recorded, pools[key].popleft()
