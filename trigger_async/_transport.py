"""The one HTTP transport: lazy aiohttp sessions (one per event loop) and the retry loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

import aiohttp
import attrs
from yarl import URL

from ._config import RetryOptions, Timeout
from ._retry import GIVE_UP, decide
from .errors import ApiConnectionError, ApiError, ApiTimeoutError, ClientClosedError, make_status_error

CLOSED_MESSAGE = "This AsyncTriggerClient was closed with aclose(); create a new one."

__all__ = ["Response", "Transport"]

log = logging.getLogger("trigger_async")


@attrs.frozen
class Response:
    """A successful (2xx) answer: status, lower-cased headers and the parsed JSON body."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str


async def _close_with_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    # An async generator the loop knows about: asyncio.run() and other runners call
    # loop.shutdown_asyncgens() before closing the loop, which runs this finally clause
    # *inside* the loop, so a client that was never closed still closes its session
    # cleanly (no "Unclosed client session" warning, no "Event loop is closed" error).
    try:
        yield
    finally:
        if not session.closed:
            await session.close()


def _dispose_on_closed_loop(session: aiohttp.ClientSession) -> None:
    """Drop a session whose loop closed without shutting down its async generators.

    Nothing can be awaited on a closed loop, so the sockets are closed directly; this is
    the only place that touches aiohttp/asyncio internals, and it is best effort.
    """
    connector = session.connector
    session.detach()
    if connector is None:
        return
    with contextlib.suppress(Exception):
        for protocols in getattr(connector, "_conns", {}).values():
            for protocol, _ in protocols:
                transport = protocol.transport
                sock = getattr(transport, "_sock", None)
                if sock is not None:
                    sock.close()
                    transport._sock = None
        connector._close()


_closing: set[asyncio.Task[None]] = set()


def _close_orphaned(sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession]) -> None:
    """Close the sessions of a transport that was garbage-collected without ``aclose()``."""
    for loop, entry in list(sessions.items()):
        sessions.pop(loop, None)
        if entry.session.closed:
            continue
        if loop.is_closed():
            _dispose_on_closed_loop(entry.session)
            continue
        try:
            loop.call_soon_threadsafe(_start_closing, loop, entry.closer)
        except RuntimeError:  # the loop closed in between
            _dispose_on_closed_loop(entry.session)


async def _aclose(closer: AsyncGenerator[None, None]) -> None:
    await closer.aclose()


def _start_closing(loop: asyncio.AbstractEventLoop, closer: AsyncGenerator[None, None]) -> None:
    task = loop.create_task(_aclose(closer))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


@attrs.define
class _LoopSession:
    session: aiohttp.ClientSession
    closer: AsyncGenerator[None, None]


def _new_session(limit: int) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit),
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    # aiohttp silently re-sends idempotent requests once when a kept-alive connection
    # turns out dead; the retry policy alone decides how many attempts reach the wire.
    session._retry_connection = False
    return session


class Transport:
    """Sends requests with retries; owns one aiohttp session per running event loop.

    Sessions are created lazily inside the running loop, so a client can be built at
    import time and used from several ``asyncio.run()`` calls one after another.
    """

    def __init__(self, *, connection_limit: int = 100) -> None:
        self._limit = connection_limit
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = weakref.WeakKeyDictionary()
        # A client dropped without aclose() still closes its sessions: the finalizer holds the
        # sessions (not the transport), so they are never garbage themselves and can be closed
        # on their own loops instead of warning from __del__.
        weakref.finalize(self, _close_orphaned, self._sessions)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def has_sessions(self) -> bool:
        return any(not entry.session.closed for entry in self._sessions.values())

    async def session(self) -> aiohttp.ClientSession:
        """The session of the running loop, created on first use."""
        if self._closed:
            raise ClientClosedError(CLOSED_MESSAGE)
        loop = asyncio.get_running_loop()
        entry = self._sessions.get(loop)
        if entry is not None and not entry.session.closed:
            return entry.session
        self._sweep()
        session = _new_session(self._limit)
        closer = _close_with_loop(session)
        self._sessions[loop] = _LoopSession(session, closer)
        await closer.asend(None)
        return session

    def _sweep(self) -> None:
        for loop, entry in list(self._sessions.items()):
            if loop.is_closed():
                del self._sessions[loop]
                if not entry.session.closed:
                    _dispose_on_closed_loop(entry.session)

    async def aclose(self, *, final: bool = True) -> None:
        """Close the running loop's session and drop those of loops that have ended.

        ``final`` makes every later request fail with ``ClientClosedError``, calls in flight
        included; the module-level transport closes with ``final=False`` and reopens on use.
        """
        self._closed = self._closed or final
        self._sweep()
        with contextlib.suppress(RuntimeError):
            entry = self._sessions.pop(asyncio.get_running_loop(), None)
            if entry is not None:
                await entry.closer.aclose()

    async def send(
        self,
        method: str,
        url: str | URL,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        retry: RetryOptions,
        timeout: Timeout,
        now: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        retry_connection_errors: bool = True,
    ) -> Response:
        """Send one logical request, retrying per ``retry``; raise ``ApiError`` on failure."""
        client_timeout = aiohttp.ClientTimeout(total=timeout.total, connect=timeout.connect)
        attempt = 0
        while True:
            attempt += 1
            session = await self.session()
            try:
                async with session.request(
                    method,
                    url,
                    headers=headers,
                    data=body,
                    timeout=client_timeout,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    response_headers = {k.lower(): v for k, v in resp.headers.items()}
                    raw = await resp.read()
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
                failure: BaseException | None = exc
            else:
                failure = None
            if failure is not None:
                if self._closed:
                    raise ClientClosedError(CLOSED_MESSAGE) from None
                decision = (
                    decide(attempt, retry, status=None, headers={}, now=now(), rng=rng)
                    if retry_connection_errors
                    else GIVE_UP
                )
                cause = _safe_cause(failure)
                log.debug("%s %s attempt %d failed: %s", method, _path(url), attempt, cause)
                if not decision.retry:
                    error: ApiConnectionError = (
                        ApiTimeoutError() if isinstance(failure, asyncio.TimeoutError) else ApiConnectionError()
                    )
                    # Raised outside the except block, from a cause that cannot carry the
                    # request's headers (aiohttp's response errors hold them, token included).
                    raise error from cause
                await asyncio.sleep(decision.delay)
                continue
            text = raw.decode("utf-8", errors="replace")
            parsed = _parse_json(text)
            if 200 <= status < 300:
                log.debug("%s %s -> %d (attempt %d)", method, _path(url), status, attempt)
                return Response(status, response_headers, parsed, text)
            decision = decide(attempt, retry, status=status, headers=response_headers, now=now(), rng=rng)
            log.debug("%s %s -> %d (attempt %d)", method, _path(url), status, attempt)
            if decision.retry:
                await asyncio.sleep(decision.delay)
                continue
            api_error: ApiError = make_status_error(status, response_headers, parsed, text)
            if decision.server_wait is not None:
                api_error.retry_after = decision.server_wait
            raise api_error


async def fetch_plain(transport: Transport, url: str, timeout: Timeout) -> tuple[int, str | None, bytes]:
    """An unauthenticated GET with no SDK headers and no retries (presigned downloads)."""
    session = await transport.session()
    client_timeout = aiohttp.ClientTimeout(total=timeout.total, connect=timeout.connect)
    async with session.get(URL(url, encoded=True), timeout=client_timeout) as resp:
        return resp.status, resp.headers.get("content-type"), await resp.read()


def _parse_json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _safe_cause(exc: BaseException) -> BaseException:
    """The failure to chain: aiohttp's response errors are replaced by a plain description."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return ConnectionError(f"{type(exc).__name__}: {exc.status}, {exc.message}")
    return exc


def _path(url: str | URL) -> str:
    # Logs name the path only: query strings can carry user data.
    return url.raw_path if isinstance(url, URL) else url.split("?", 1)[0]
