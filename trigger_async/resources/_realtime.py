"""Realtime: ElectricSQL shape subscriptions (runs) and server-sent event streams.

Both long-poll or stream for as long as the caller iterates; closing the iterator (``break``
out of ``async for``) ends the subscription and gives the connection back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .._base import USER_AGENT, CallScope, effective_options, standard_headers
from .._config import RequestOptions
from .._constants import API_VERSION, SDK_VERSION
from .._converter import parse_datetime
from .._packets import parse_packet
from .._serialization import build_query
from .._transport import CLOSED_MESSAGE
from ..errors import ApiConnectionError, ClientClosedError, make_status_error
from ..models.realtime import RealtimeRun

__all__ = ["ELECTRIC_VERSION", "run_from_row", "shape_rows", "sse_events"]

log = logging.getLogger("trigger_async")
ELECTRIC_VERSION = "1.0.0-beta.1"
# Realtime requests wait for changes; a held request may take this long before it answers.
_LONG_POLL = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=120.0)

_STATUS = {
    "DELAYED": "DELAYED",
    "WAITING_FOR_DEPLOY": "PENDING_VERSION",
    "PENDING_VERSION": "PENDING_VERSION",
    "PENDING": "QUEUED",
    "PAUSED": "WAITING",
    "WAITING_TO_RESUME": "WAITING",
    "DEQUEUED": "DEQUEUED",
    "RETRYING_AFTER_FAILURE": "EXECUTING",
    "EXECUTING": "EXECUTING",
    "CANCELED": "CANCELED",
    "COMPLETED_SUCCESSFULLY": "COMPLETED",
    "SYSTEM_FAILURE": "SYSTEM_FAILURE",
    "CRASHED": "CRASHED",
    "EXPIRED": "EXPIRED",
    "TIMED_OUT": "TIMED_OUT",
    "INTERRUPTED": "FAILED",
    "COMPLETED_WITH_ERRORS": "FAILED",
}
_FAILED = frozenset({"FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"})


def _packet(data: Any, kind: Any) -> Any:
    if data is None:
        return None
    if not isinstance(data, str):
        return data
    try:
        return parse_packet(kind if isinstance(kind, str) else None, data.encode("utf-8"))
    except (ValueError, RecursionError):
        return data


def _date(value: Any) -> Any:
    return parse_datetime(value) if isinstance(value, str) and value else None


def run_from_row(row: Mapping[str, Any]) -> RealtimeRun:
    """The public run of a raw ``TaskRun`` row (statuses mapped as the official SDK maps them)."""
    status = _STATUS.get(str(row.get("status")), "QUEUED")
    success = status == "COMPLETED"
    failed = status in _FAILED
    return RealtimeRun(
        id=str(row.get("friendlyId") or row.get("id")),
        task_identifier=str(row.get("taskIdentifier", "")),
        status=status,
        created_at=parse_datetime(row["createdAt"]),
        updated_at=parse_datetime(row["updatedAt"]),
        is_test=bool(row.get("isTest", False)),
        is_queued=status in ("PENDING_VERSION", "QUEUED", "DELAYED"),
        is_waiting=status == "WAITING",
        is_executing=status in ("DEQUEUED", "EXECUTING"),
        is_completed=success or failed,
        is_failed=failed,
        is_success=success,
        is_cancelled=status == "CANCELED",
        payload=_packet(row.get("payload"), row.get("payloadType")),
        output=_packet(row.get("output"), row.get("outputType")),
        metadata=_packet(row.get("metadata"), row.get("metadataType")),
        duration_ms=row.get("usageDurationMs") or 0,
        cost_in_cents=row.get("costInCents") or 0,
        base_cost_in_cents=row.get("baseCostInCents") or 0,
        tags=list(row.get("runTags") or []),
        idempotency_key=row.get("idempotencyKey"),
        started_at=_date(row.get("startedAt")),
        finished_at=_date(row.get("completedAt")),
        delayed_until=_date(row.get("delayUntil")),
        queued_at=_date(row.get("queuedAt")),
        expired_at=_date(row.get("expiredAt")),
        error=row.get("error") if isinstance(row.get("error"), dict) else None,
        realtime_streams=list(row.get("realtimeStreams") or []),
    )


def electric_headers(scope: CallScope) -> CIMultiDict[str]:
    """The lean header set of shape requests (no content type, source or request key)."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Authorization"] = f"Bearer {scope.token}"
    headers["trigger-version"] = SDK_VERSION
    if scope.config.preview_branch:
        headers["x-trigger-branch"] = scope.config.preview_branch
    headers["x-trigger-electric-version"] = ELECTRIC_VERSION
    headers["x-trigger-api-version"] = API_VERSION
    headers["User-Agent"] = USER_AGENT
    return headers


def _backoff(failures: int) -> float:
    # Electric's own loop: from 100 ms, x1.3, capped at 10 s, for ever.
    return float(min(10.0, 0.1 * 1.3 ** min(failures, 40)))


async def shape_rows(
    scope: CallScope, path: str, params: Iterable[tuple[str, str]]
) -> AsyncIterator[list[dict[str, Any]]]:
    """Follow a shape; yield the changed rows each time the shape is up to date."""
    base = list(params)
    handle: str | None = None
    expired: str | None = None
    offset = "-1"
    cursor: str | None = None
    live = False
    rows: dict[str, dict[str, Any]] = {}
    failures = 0
    while True:
        if scope.transport.closed:
            raise ClientClosedError(CLOSED_MESSAGE)
        query = [*base, ("log", "full"), ("offset", offset)]
        if handle:
            query.append(("handle", handle))
        if expired:
            query.append(("expired_handle", expired))
        if live:
            query.append(("live", "true"))
            if cursor:
                query.append(("cursor", cursor))
        url = URL(f"{scope.config.base_url}{path}?{build_query(sorted(query))}", encoded=True)
        session = await scope.transport.session()
        try:
            async with session.get(url, headers=electric_headers(scope), timeout=_LONG_POLL) as resp:
                status, headers = resp.status, resp.headers
                raw = await resp.read()
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError):
            failures += 1
            await asyncio.sleep(_backoff(failures))
            continue
        if status == 409:
            # The shape was rotated: start again from scratch under the new handle.
            expired, handle = handle, headers.get("electric-handle")
            offset, cursor, live, rows = "-1", None, False, {}
            continue
        if status == 429 or status >= 500:
            failures += 1
            await asyncio.sleep(_backoff(failures))
            continue
        if status >= 400:
            raise _error_from(status, headers, raw)
        text = raw.decode("utf-8", errors="replace")
        failures = 0
        expired = None
        handle = headers.get("electric-handle", handle)
        offset = headers.get("electric-offset", offset)
        cursor = headers.get("electric-cursor", cursor)
        up_to_date = "electric-up-to-date" in headers
        changed: list[str] = []
        try:
            messages = json.loads(text) if text else []
        except ValueError:
            messages = []
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict):
                continue
            meta = message.get("headers") or {}
            control = meta.get("control")
            if control == "up-to-date":
                up_to_date = True
            elif control == "must-refetch":
                offset, cursor, live, rows = "-1", None, False, {}
            elif "key" in message and isinstance(message.get("value"), dict):
                key, value = message["key"], message["value"]
                operation = meta.get("operation")
                if operation == "insert" or key not in rows:
                    rows[key] = dict(value)
                elif operation == "update":
                    rows[key].update(value)
                else:
                    continue
                if key not in changed:
                    changed.append(key)
        if up_to_date:
            live = True
            if changed:
                yield [rows[key] for key in changed]


def parse_sse(buffer: str) -> tuple[list[dict[str, str]], str]:
    """Complete events of an SSE text buffer, and the unfinished rest."""
    events: list[dict[str, str]] = []
    normalized = buffer.replace("\r\n", "\n").replace("\r", "\n")
    *blocks, rest = normalized.split("\n\n")
    for block in blocks:
        event: dict[str, str] = {}
        data: list[str] = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name in ("id", "event", "retry"):
                event[name] = value
        if data:
            event["data"] = "\n".join(data)
            events.append(event)
    return events, rest


class _StreamFailed(Exception):
    """The stream said it failed (a v2 ``error`` event): not a reason to reconnect."""


def _error_from(status: int, headers: Mapping[str, str], raw: bytes) -> Exception:
    text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    return make_status_error(status, {k.lower(): v for k, v in headers.items()}, body, text)


def _retryable(status: int) -> bool:
    # As the official client: 408, 429 and 5xx reconnect; any other error status ends it.
    return status in (408, 429) or status >= 500


async def sse_events(scope: CallScope, path: str, request_options: RequestOptions | None) -> AsyncIterator[Any]:
    """The chunks of a realtime stream (v1 events, or v2 ``batch`` records), in order.

    The stream ends when the server closes it; a dropped connection reconnects with
    ``Last-Event-ID`` so nothing is delivered twice or lost.
    """
    options = effective_options(scope, request_options)
    last_id: str | None = None
    seen: set[str] = set()
    failures = 0
    while True:
        if scope.transport.closed:
            raise ClientClosedError(CLOSED_MESSAGE)
        headers = standard_headers(scope, options, idempotency_key=None, no_cache=False)
        headers["Accept"] = "text/event-stream"
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        session = await scope.transport.session()
        url = URL(f"{scope.config.base_url}{path}", encoded=True)
        try:
            async with session.get(url, headers=headers, timeout=_LONG_POLL) as resp:
                if resp.status >= 400:
                    error = _error_from(resp.status, resp.headers, await resp.read())
                    if not _retryable(resp.status):
                        raise error
                    raise ConnectionError(str(error))
                version = resp.headers.get("X-Stream-Version", "v1")
                buffer = ""
                async for chunk in resp.content.iter_any():
                    failures = 0
                    buffer += chunk.decode("utf-8", errors="replace")
                    events, buffer = parse_sse(buffer)
                    for event in events:
                        if version != "v2":
                            last_id = event.get("id", last_id)
                            yield json.loads(event["data"])
                            continue
                        if event.get("event") == "error":
                            raise _StreamFailed(event["data"])
                        for item, seq in _v2_records(event["data"], seen):
                            last_id = seq
                            yield item
                return  # the server closed the stream: it has ended
        except _StreamFailed as failed:
            raise ApiConnectionError(f"The stream failed: {failed}") from None
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError):
            failures += 1
            delay = min(0.1 * 2 ** min(failures - 1, 10), 5.0) * random.uniform(0.5, 1.0)
            log.debug("stream %s interrupted; reconnecting", path)
            await asyncio.sleep(delay)


def _v2_records(data: str, seen: set[str]) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = []
    try:
        records = json.loads(data).get("records", [])
    except (ValueError, AttributeError):
        return out
    for record in records:
        headers = record.get("headers") or []
        if headers and headers[0] and headers[0][0] == "":
            continue  # a stream command, not data
        try:
            body = json.loads(record.get("body") or "null")
        except ValueError:
            continue
        item_id = body.get("id") if isinstance(body, dict) else None
        if item_id is not None:
            if item_id in seen:
                continue
            seen.add(item_id)
        out.append((body.get("data") if isinstance(body, dict) else body, str(record.get("seq_num"))))
    return out
