"""The aiohttp application: one catch-all handler running the server's request pipeline.

Order, as in the real server: record the request, scripted injections, trailing-slash
redirect, rate limiter (which answers a missing ``Authorization`` itself), lazy time-driven
run transitions, routing, method checks, the endpoint, then common headers. After the
endpoint the realtime shapes take in whatever the request changed (``_live``), which
answers the live requests waiting on them.

Routing is done here rather than by aiohttp's router so that path parameters are matched on
the percent-encoded path and decoded once, as the server does (a task id may contain ``/``).
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import Final
from urllib.parse import unquote

from aiohttp import web

from . import (
    _batches,
    _bulk,
    _deployments,
    _envvars,
    _objectstore,
    _prompts,
    _queues,
    _realtime,
    _runs,
    _schedules,
    _tasks,
    _tokens,
)
from ._auth import limiter_bucket
from ._http import (
    COMMON_HEADERS,
    Call,
    Reply,
    Route,
    add_cors,
    empty_response,
    error_response,
    json_response,
    problem_response,
)
from ._models import InjectedResponse, RecordedRequest
from ._ratelimit import UNAUTHORIZED_PROBLEM
from ._state import State

_log = logging.getLogger("trigger_async.testing")

#: Every endpoint, grouped by area; new areas append their module's ROUTES here.
ROUTES: Final[Sequence[Route]] = (
    *_tasks.ROUTES,
    *_runs.ROUTES,
    *_tokens.ROUTES,
    *_batches.ROUTES,
    *_objectstore.ROUTES,
    *_bulk.ROUTES,
    *_schedules.ROUTES,
    *_envvars.ROUTES,
    *_queues.ROUTES,
    *_deployments.ROUTES,
    *_prompts.ROUTES,
    *_realtime.ROUTES,
)

#: ``Route.limiter`` of the batch items stream: unlimited while the batch has grants left.
BATCH_ITEMS_LIMITER: Final = "batch-items"

_API_PATH: Final = re.compile(r"^/api")
MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024


def _find_route(raw_path: str) -> tuple[Route, dict[str, str]] | None:
    segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
    for route in ROUTES:
        params = route.match(segments)
        if params is not None:
            return route, params
    return None


def _last_value_query(request: web.Request) -> dict[str, str]:
    # The server flattens repeated query parameters; the last value wins.
    return dict(request.query.items())


class EmulatorApp:
    """Holds the state and answers every request."""

    def __init__(self, state: State) -> None:
        self.state = state

    def build(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        app.on_shutdown.append(self._release_waiters)
        return app

    async def _release_waiters(self, app: web.Application) -> None:
        # Held long-polls and open streams answer now, so closing never waits for them.
        self.state.live.shutdown()

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Entry point for every request."""
        arrived_at = time.monotonic()
        body = await request.read()
        raw_path, _, raw_query = request.raw_path.partition("?")
        path = unquote(raw_path)
        record = RecordedRequest(
            method=request.method.upper(),
            path=path,
            raw_path=raw_path,
            query_string=raw_query,
            headers={name.lower(): ", ".join(request.headers.getall(name)) for name in request.headers},
            body=body,
            arrived_at=arrived_at,
        )
        # Concurrent requests finish reading their bodies in any order; keep arrival order.
        bisect.insort(self.state.requests, record, key=lambda r: r.arrived_at)

        injected = self.state.take_injection(request.method, path)
        if injected is not None:
            return await self._answer_injected(request, injected)

        response = await self._handle(request, body, raw_path, raw_query)
        # Whatever the request changed reaches the realtime shapes (and wakes their waiters).
        self.state.live.sync()
        if not response.prepared:
            response.headers.update(COMMON_HEADERS)
        return response

    async def _answer_injected(self, request: web.Request, injected: InjectedResponse) -> web.StreamResponse:
        if injected.delay > 0:
            await asyncio.sleep(injected.delay)
        if injected.drop_connection:
            transport = request.transport
            if transport is not None:
                transport.close()
            # Nothing can be written on a closed transport; aiohttp discards this answer.
            return web.Response(status=499)
        headers = {name: value() if callable(value) else value for name, value in injected.headers.items()}
        body = injected.body
        content_type: str | None = None
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
            content_type = "application/octet-stream"
        elif isinstance(body, str):
            data = body.encode()
            content_type = "text/plain; charset=utf-8"
        else:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            content_type = "application/json; charset=utf-8"
        if content_type and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = content_type
        return web.Response(status=injected.status, body=data, headers=headers)

    async def _handle(self, request: web.Request, body: bytes, raw_path: str, raw_query: str) -> web.StreamResponse:
        state = self.state
        if len(raw_path) > 1 and raw_path.endswith("/"):
            location = re.sub(r"/+", "/", raw_path[:-1]) or "/"
            if raw_query:
                location += "?" + raw_query
            return web.Response(
                status=301,
                text=f"Moved Permanently. Redirecting to {location}",
                headers={"Location": location},
            )

        found = _find_route(raw_path)
        route, params = found if found is not None else (None, {})
        method = request.method.upper()

        if route is not None:
            limiter = route.limiter
        else:
            limiter = "api" if _API_PATH.match(raw_path) else None
        if limiter == BATCH_ITEMS_LIMITER:
            # The first stream requests of a batch carry grants minted when it was created.
            granted = method == "POST" and state.store.take_stream_grant(params["batchId"], state.clock.now_ms())
            limiter = None if granted else "api"
        limit_headers: dict[str, str] = {}
        if limiter is not None and method != "OPTIONS":
            authorization = request.headers.get("Authorization")
            if not authorization:
                return problem_response(UNAUTHORIZED_PROBLEM, 401)
            bucket, public_token = limiter_bucket(state.store, authorization)
            now = state.clock.now_ms()
            outcome = state.limiter.check(bucket, public_token=public_token, now_ms=now, budget=limiter)
            limit_headers = outcome.headers()
            if not outcome.allowed:
                return problem_response(outcome.problem(now), 429, limit_headers)

        state.store.advance()
        if not raw_path.endswith("/abort"):
            _bulk.settle_bulk_actions(state)
        if route is None:
            response: web.StreamResponse = error_response(404, "Not Found")
        else:
            call = Call(request, state, body, params, _last_value_query(request))
            response = await self._route(route, call)
            if route.cors and not response.prepared:
                add_cors(request, response)
        if not response.prepared:
            for name, value in limit_headers.items():
                # The limiter sets its headers first; a route's own (the batch quota's) win.
                response.headers.setdefault(name, value)
        return response

    async def _route(self, route: Route, call: Call) -> web.StreamResponse:
        method = call.method
        if method == "OPTIONS" and route.cors:
            return self._preflight(call.request)
        if method in ("GET", "HEAD"):
            handler = route.loader
        else:
            handler = route.action
            pinned = route.action_methods
            if handler is not None and pinned is not None and method not in pinned:
                if route.legacy_wrong_method:
                    # The legacy route returns an object that Remix sends with status 200.
                    return json_response({"status": 405, "body": "Method Not Allowed"})
                allow = {"Allow": ", ".join(sorted(pinned))}
                return error_response(405, "Method not allowed", allow)
        if handler is None:
            return empty_response(405)
        try:
            return await handler(call)
        except Reply as reply:
            return reply.response
        except Exception:
            _log.exception("emulator handler failed for %s %s", method, call.request.path)
            return error_response(500, "Internal Server Error")

    @staticmethod
    def _preflight(request: web.Request) -> web.StreamResponse:
        headers = {
            "Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
            "Access-Control-Max-Age": "300",
            "Vary": "Origin, Access-Control-Request-Headers",
        }
        origin = request.headers.get("Origin")
        if origin:
            headers["Access-Control-Allow-Origin"] = origin
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
        return json_response({}, headers=headers)


def build_app(state: State) -> web.Application:
    """The aiohttp application serving ``state``."""
    return EmulatorApp(state).build()
