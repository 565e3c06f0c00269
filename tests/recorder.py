"""A loopback HTTP server that records every request and answers from a script.

Unscripted requests get small valid answers, so tests can focus on what was sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

import attrs
from aiohttp import web


def run_body(run_id: str, **overrides: Any) -> dict[str, Any]:
    """A ``RetrievedRun`` body the official schema accepts."""
    body: dict[str, Any] = {
        "id": run_id,
        "status": "COMPLETED",
        "taskIdentifier": "my-task",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:01.000Z",
        "isTest": False,
        "isQueued": False,
        "isExecuting": False,
        "isWaiting": False,
        "isCompleted": True,
        "isSuccess": True,
        "isFailed": False,
        "isCancelled": False,
        "tags": [],
        "costInCents": 0,
        "baseCostInCents": 0,
        "durationMs": 0,
        "depth": 0,
        "triggerFunction": "trigger",
        "relatedRuns": {"children": []},
        "attemptCount": 1,
    }
    body.update(overrides)
    return body


def listed_run(run_id: str, **overrides: Any) -> dict[str, Any]:
    body = run_body(run_id, env={"id": "env_1", "name": "dev"}, **overrides)
    for key in ("triggerFunction", "relatedRuns", "attemptCount"):
        body.pop(key)
    return body


@attrs.frozen
class Answer:
    status: int = 200
    body: Any = None
    headers: Mapping[str, str | Callable[[], str]] = attrs.field(factory=dict)
    delay: float = 0.0
    drop: bool = False


@attrs.frozen
class Seen:
    method: str
    path: str
    raw_path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


def now_ms_plus(milliseconds: int) -> Callable[[], str]:
    return lambda: str(int(time.time() * 1000) + milliseconds)


class Recorder:
    """``async with Recorder() as rec:`` → ``rec.url``, ``rec.script(...)``, ``rec.seen``."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.url = ""
        self._scripts: dict[tuple[str, str], deque[Answer]] = defaultdict(deque)
        self._repeat: dict[tuple[str, str], Answer] = {}
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)
        self._prefixes: list[tuple[str, str, deque[Answer]]] = []

    def script(self, method: str, path: str, *answers: Answer, repeat: bool = False) -> None:
        """Answer the next requests to ``method path`` with ``answers`` (the last forever if
        ``repeat``)."""
        self._scripts[(method, path)].extend(answers)
        if repeat:
            self._repeat[(method, path)] = answers[-1]

    def script_prefix(self, method: str, prefix: str, *answers: Answer) -> None:
        """Answer requests whose decoded path starts with ``prefix`` (random ids inside)."""
        self._prefixes.append((method, prefix, deque(answers)))

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.seen.append(
            Seen(
                request.method,
                request.path,
                request.raw_path.split("?", 1)[0],
                request.raw_path.partition("?")[2],
                {k.lower(): v for k, v in request.headers.items()},
                raw,
                time.monotonic(),
            )
        )
        key = (request.method, request.path)
        queue = self._scripts.get(key)
        answer = (
            queue.popleft() if queue else self._repeat.get(key) or self._by_prefix(request) or self._default(request)
        )
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.drop:
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        headers = {k: v() if callable(v) else v for k, v in answer.headers.items()}
        if isinstance(answer.body, (bytes, str)):
            data = answer.body.encode() if isinstance(answer.body, str) else answer.body
            headers.setdefault("Content-Type", "text/plain")
        else:
            data = json.dumps(answer.body).encode() if answer.body is not None else b""
            headers.setdefault("Content-Type", "application/json")
        return web.Response(status=answer.status, body=data, headers=headers)

    def _by_prefix(self, request: web.Request) -> Answer | None:
        for method, prefix, answers in self._prefixes:
            if request.method == method and request.path.startswith(prefix) and answers:
                return answers.popleft()
        return None

    def _default(self, request: web.Request) -> Answer:
        parts = [unquote(part) for part in request.raw_path.split("?")[0].strip("/").split("/")]
        if request.method == "GET" and parts[:3] == ["api", "v3", "runs"] and len(parts) == 4:
            return Answer(body=run_body(parts[3]))
        if request.method == "POST" and parts[-1] == "trigger":
            return Answer(body={"id": f"run_{next(self._ids):04d}"})
        if request.method == "GET" and request.path.endswith("/runs"):
            return Answer(body={"data": [], "pagination": {}})
        if request.method == "POST" and parts[-1] in ("cancel", "replay"):
            return Answer(body={"id": parts[3] if parts[-1] == "cancel" else "run_replayed"})
        if request.method == "POST" and parts[-1] == "reschedule":
            return Answer(body=run_body(parts[3], status="DELAYED"))
        return Answer(status=404, body={"error": "Not found"})

    async def __aenter__(self) -> Recorder:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class ThreadedRecorder:
    """A :class:`Recorder` on its own loop in a background thread, so it outlives the loops
    of ``asyncio.run()`` calls made by the test."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.recorder.__aenter__(), self._loop).result(10)
        return self.recorder

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.recorder.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
