"""Realtime endpoints: Electric shapes of runs, and the v1 server-sent run streams.

Every route is a builder loader: secret keys or public tokens (read scopes), CORS, no rate
limiter (so a missing ``Authorization`` is the route's own 401 ``Invalid or Missing API key``).

Shapes, in the ElectricSQL 1.0 long-poll protocol (the state is in ``_live``):

* ``GET /realtime/v1/runs/{runId}``: the run (unknown in the caller's environment: 404
  ``Not found`` with ``x-should-retry: false``); scope ``read`` on the run, its task, one of
  its tags or its batch.
* ``GET /realtime/v1/runs?tags=a,b&createdAt=1h``: the environment's runs carrying **every**
  tag (the server's ``"runTags" @> ARRAY[...]``; no tags: every run), created after now
  minus ``createdAt`` (``<n>w|d|h|hr|m|s`` parts; invalid, missing or longer than 24 h means
  24 h), the window being pinned when the shape is made. Scope ``read:runs``, ``read:tags``
  or ``read:tags:<one of the tags>``. An empty tag, or one with a control character, ``\\``
  or ``"``, is a 400 ``Query Error``.
* ``GET /realtime/v1/batches/{batchId}``: the batch's runs (404 ``Not found`` with
  ``x-should-retry: true``); scope ``read:batch:<id>`` or ``read:runs``.

``offset=-1`` (or no handle) answers the snapshot: an ``insert`` per row (none with
``log=changes_only``), then ``up-to-date``. ``handle`` + ``offset`` answers the changes since
that offset at once, or with ``live=true`` holds the request until there is one or the poll
timeout passes (then ``[up-to-date]`` with the same offset). A handle the emulator does not
know (never made, forgotten, rotated, or another shape's) is a 409 ``must-refetch`` carrying
a new handle. Every 200 has ``electric-handle``, ``electric-offset``, ``electric-schema``
(``{}``: values are plain JSON), ``electric-cursor`` and ``electric-up-to-date``; a client that
sends no ``x-trigger-electric-version`` gets the legacy ``electric-shape-id`` /
``electric-chunk-last-offset`` names and may send ``shape_id``. A malformed offset is
Electric's 400. Without ``x-trigger-api-version: 2025-07-16`` a ``DEQUEUED`` status reads
``EXECUTING``. ``skipColumns`` (comma list) drops columns; the reserved ``id``,
``taskIdentifier``, ``friendlyId``, ``status`` and ``createdAt`` are always kept, a name that
is no column is a 400 ``Query Error`` (the emulator's strictness: the server ignores it), and a
public token's ``realtime.skipColumns`` claim replaces the parameter.

Streams: ``GET /realtime/v1/streams/{runId}/{streamKey}`` answers ``text/event-stream`` in
the v1 format (``id: <ms>-<seq>`` + ``data: <json>``), resumes after ``Last-Event-ID`` (an
id that does not parse starts from the beginning), pushes chunks as they are appended, sends
``: ping`` after 10 s without data, and ends when the stream is closed, after
``Timeout-Seconds`` without data (``< 1``: 400, ``> 600``: 400, as text) or when the
emulator stops. A stream nobody appended to yet stays open and empty.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, Final

import attrs
from aiohttp import web

from ._auth import Credential, Resource, authenticate
from ._http import COMMON_HEADERS, Call, Reply, Route, add_cors, fail, forbidden, json_response, raise_details
from ._live import EventId, LiveHub, Shape, ShapeDefinition, parse_event_id, row_key
from ._packets import js_json
from ._presenters import RAW_COLUMNS
from ._store import Run
from ._timeutil import DAY, HOUR, MINUTE, SECOND, WEEK
from ._validation import custom_issue

#: Columns ``skipColumns`` can never drop (the server filters them out of the list).
RESERVED_COLUMNS: Final = frozenset({"id", "taskIdentifier", "friendlyId", "status", "createdAt"})
SKIPPABLE_COLUMNS: Final = frozenset(RAW_COLUMNS) - RESERVED_COLUMNS

#: The longest look-back of a tag shape's ``createdAt`` (and its default).
MAX_CREATED_AT_AGE_MS: Final = DAY
PING_INTERVAL_S: Final = 10.0

_UNSAFE_TAG: Final = re.compile(r'[\x00-\x1f\x7f\\"]')
_OFFSET: Final = re.compile(r"^(\d+)_(\d+|inf)$")
_DURATION_AGO: Final = re.compile(r"^(\d+(?:w|d|hr|h|m|s))+$")
_DURATION_UNITS: Final = (
    (re.compile(r"(\d+)w"), WEEK),
    (re.compile(r"(\d+)d"), DAY),
    (re.compile(r"(\d+)(?:hr|h)"), HOUR),
    (re.compile(r"(\d+)m"), MINUTE),
    (re.compile(r"(\d+)s"), SECOND),
)
_JS_INT: Final = re.compile(r"^\s*([+-]?\d+)")
_UP_TO_DATE: Final = {"headers": {"control": "up-to-date"}}
_MUST_REFETCH: Final = {"headers": {"control": "must-refetch"}}


# query parameters ----------------------------------------------------------------------------


@attrs.frozen
class ShapeQuery:
    """The Electric parameters of a shape request."""

    offset: int | None  # None: -1, the snapshot
    offset_text: str
    handle: str | None
    live: bool
    changes_only: bool
    legacy: bool  # no x-trigger-electric-version: legacy header and parameter names


def _shape_query(call: Call) -> ShapeQuery:
    query = call.query
    legacy = call.header("x-trigger-electric-version") is None
    offset_text = query.get("offset", "-1")
    offset: int | None = None
    if offset_text != "-1":
        match = _OFFSET.match(offset_text)
        if match is None:
            raise Reply(
                json_response({"message": "Invalid request", "errors": {"offset": ["has invalid format"]}}, 400)
            )
        offset = int(match.group(1))
    handle = query.get("shape_id") if legacy else query.get("handle")
    return ShapeQuery(
        offset=offset,
        offset_text=offset_text,
        handle=handle or None,
        live=query.get("live") == "true",
        changes_only=query.get("log") == "changes_only",
        legacy=legacy,
    )


def _skip_columns(call: Call, credential: Credential) -> frozenset[str]:
    if credential.realtime_skip_columns is not None:
        return frozenset(name.strip() for name in credential.realtime_skip_columns) & SKIPPABLE_COLUMNS
    raw = call.query.get("skipColumns")
    if not raw:
        return frozenset()
    names = [name.strip() for name in raw.split(",")]
    unknown = [name for name in names if name and name not in RAW_COLUMNS]
    if unknown:
        raise_details(
            "Query Error", [custom_issue(f"Unknown column: {js_json(name)}", ("skipColumns",)) for name in unknown]
        )
    return frozenset(names) & SKIPPABLE_COLUMNS


def _tags(call: Call) -> tuple[str, ...]:
    raw = call.query.get("tags")
    if not raw:
        return ()
    tags = raw.split(",")
    for tag in tags:
        if tag == "" or _UNSAFE_TAG.search(tag):
            raise_details("Query Error", [custom_issue(f"Invalid tag: {js_json(tag)}", ("tags",))])
    return tuple(tags)


def duration_ago_ms(text: str) -> int | None:
    """A realtime look-back such as ``1h`` or ``2d12h`` in ms (the first number of each unit
    counts, as in the server's parser); ``None`` if the text is not one."""
    if len(text) > 100 or not _DURATION_AGO.match(text):
        return None
    total = 0
    for pattern, unit in _DURATION_UNITS:
        match = pattern.search(text)
        if match:
            total += int(match.group(1)) * unit
    return total


def created_at_floor(now_ms: int, created_at: str | None) -> int:
    """Runs of a tag shape are created strictly after this instant."""
    floor = now_ms - MAX_CREATED_AT_AGE_MS
    duration = duration_ago_ms(created_at if created_at is not None else "24h")
    if duration is None or now_ms - duration < floor:
        return floor
    return now_ms - duration


# shapes -------------------------------------------------------------------------------------


def _run_resources(run: Run) -> list[Resource]:
    resources: list[Resource] = [("runs", run.id), ("tasks", run.task_identifier)]
    resources += [("tags", tag) for tag in run.tags]
    if run.batch_id is not None:
        resources.append(("batch", run.batch_id))
    return resources


def _message(key: str, operation: str, value: dict[str, Any], legacy_statuses: bool) -> dict[str, Any]:
    if legacy_statuses and value.get("status") == "DEQUEUED":
        value = {**value, "status": "EXECUTING"}
    return {"key": key, "value": value, "headers": {"operation": operation}}


def _shape_headers(query: ShapeQuery, handle: str) -> dict[str, str]:
    name = "electric-shape-id" if query.legacy else "electric-handle"
    return {
        name: handle,
        "Cache-Control": "no-store",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "*",
    }


def _answer(query: ShapeQuery, hub: LiveHub, handle: str, offset: str, messages: list[Any]) -> web.Response:
    headers = _shape_headers(query, handle)
    headers["electric-chunk-last-offset" if query.legacy else "electric-offset"] = offset
    headers["electric-schema"] = "{}"
    headers["electric-cursor"] = hub.next_cursor()
    headers["electric-up-to-date"] = ""
    body = js_json([*messages, _UP_TO_DATE]).encode()
    return web.Response(body=body, headers=headers, content_type="application/json")


def _must_refetch(query: ShapeQuery, shape: Shape) -> web.Response:
    body = js_json([_MUST_REFETCH]).encode()
    return web.Response(
        status=409, body=body, headers=_shape_headers(query, shape.handle), content_type="application/json"
    )


async def _serve_shape(call: Call, definition: ShapeDefinition) -> web.StreamResponse:
    query = _shape_query(call)
    hub = call.state.live
    hub.sync()
    legacy_statuses = not call.new_vocabulary
    if query.offset is None or query.handle is None:
        shape = hub.snapshot_shape(definition, query.handle)
        messages = []
        if not query.changes_only:
            messages = [_message(row_key(row["id"]), "insert", row, legacy_statuses) for row in shape.rows.values()]
        return _answer(query, hub, shape.handle, f"{shape.offset}_0", messages)
    known = hub.shape(query.handle)
    if known is None or known.definition.identity != definition.identity:
        return _must_refetch(query, hub.new_shape(definition))
    if query.live:
        changes = await hub.changes_after(known, query.offset, call.state.settings.realtime_poll_timeout)
        if changes is None:
            return _must_refetch(query, hub.new_shape(definition))
    else:
        changes = known.changes_after(query.offset)
    offset = f"{changes[-1].offset}_0" if changes else query.offset_text
    messages = [_message(c.key, c.operation, c.value, legacy_statuses) for c in changes]
    return _answer(query, hub, known.handle, offset, messages)


async def run_shape(call: Call) -> web.StreamResponse:
    """``GET /realtime/v1/runs/{runId}``: one run."""
    credential = authenticate(call, allow_jwt=True)
    skip = _skip_columns(call, credential)
    run = call.state.store.find_run(credential.env, call.params["runId"])
    if run is None:
        fail(404, "Not found", headers={"x-should-retry": "false"})
    if not credential.allows("read", _run_resources(run)):
        forbidden()
    return await _serve_shape(call, ShapeDefinition(credential.env.id, "run", run.id, skip=skip))


async def tagged_runs_shape(call: Call) -> web.StreamResponse:
    """``GET /realtime/v1/runs?tags=…&createdAt=…``: the environment's runs with every tag."""
    credential = authenticate(call, allow_jwt=True)
    tags = _tags(call)
    skip = _skip_columns(call, credential)
    resources: list[Resource] = [("runs", None), ("tags", None), *(("tags", tag) for tag in tags)]
    if not credential.allows("read", resources):
        forbidden()
    floor = created_at_floor(call.state.clock.now_ms(), call.query.get("createdAt"))
    definition = ShapeDefinition(credential.env.id, "runs", tags=tags, skip=skip, created_after=floor)
    return await _serve_shape(call, definition)


async def batch_shape(call: Call) -> web.StreamResponse:
    """``GET /realtime/v1/batches/{batchId}``: the batch's runs."""
    credential = authenticate(call, allow_jwt=True)
    skip = _skip_columns(call, credential)
    batch = call.state.store.batches.get(call.params["batchId"])
    if batch is None or batch.env.id != credential.env.id:
        fail(404, "Not found", headers={"x-should-retry": "true"})
    if not credential.allows("read", [("batch", batch.id), ("runs", None)]):
        forbidden()
    return await _serve_shape(call, ShapeDefinition(credential.env.id, "batch", batch.id, skip=skip))


# streams ------------------------------------------------------------------------------------


def _text_error(message: str) -> Reply:
    return Reply(web.Response(status=400, body=message.encode(), headers={"Content-Type": "text/plain;charset=UTF-8"}))


def _inactivity_timeout(call: Call) -> float | None:
    # `parseInt(header)`; NaN and 0 mean "no timeout", as the server's truthiness checks do.
    raw = call.header("timeout-seconds")
    match = _JS_INT.match(raw) if raw is not None else None
    if match is None or int(match.group(1)) == 0:
        return None
    seconds = int(match.group(1))
    if seconds < 1:
        raise _text_error("Timeout seconds must be greater than 0")
    if seconds > 600:
        raise _text_error("Timeout seconds must be less than 600")
    return float(seconds)


def _events_text(events: Sequence[tuple[EventId, str]]) -> bytes:
    return "".join(f"id: {ms}-{seq}\ndata: {data}\n\n" for (ms, seq), data in events).encode()


async def _pump(
    call: Call, response: web.StreamResponse, run_id: str, key: str, after: EventId | None, inactivity: float | None
) -> None:
    hub = call.state.live
    loop = asyncio.get_running_loop()
    position: int | None = None
    last_data = last_write = loop.time()
    while True:
        stream = hub.peek_stream(run_id, key)
        if stream is not None:
            if position is None:
                position = stream.position_after(after)
            fresh = stream.events[position:]
            if fresh:
                await response.write(_events_text(fresh))
                position += len(fresh)
                last_data = last_write = loop.time()
            if stream.closed:
                return
        transport = call.request.transport
        if hub.closing or transport is None or transport.is_closing():
            return
        now = loop.time()
        if inactivity is not None and now - last_data >= inactivity:
            return
        if now - last_write >= PING_INTERVAL_S:
            await response.write(b": ping\n\n")
            last_write = now
        wait = PING_INTERVAL_S - (now - last_write)
        if inactivity is not None:
            wait = min(wait, inactivity - (now - last_data))
        await hub.wait(wait)


async def run_stream(call: Call) -> web.StreamResponse:
    """``GET /realtime/v1/streams/{runId}/{streamKey}``: a run's stream as v1 SSE."""
    credential = authenticate(call, allow_jwt=True)
    run = call.state.store.find_run(credential.env, call.params["runId"])
    if run is None:
        fail(404, "Not found", headers={"x-should-retry": "false"})
    if not credential.allows("read", _run_resources(run)):
        forbidden()
    inactivity = _inactivity_timeout(call)
    after = parse_event_id(call.header("last-event-id"))
    response = web.StreamResponse(
        headers={**COMMON_HEADERS, "Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    add_cors(call.request, response)
    if call.method == "HEAD":
        return response
    await response.prepare(call.request)
    try:
        await _pump(call, response, run.id, call.params["streamKey"], after, inactivity)
        await response.write_eof()
    except ConnectionError:
        pass  # the reader went away
    return response


ROUTES: Sequence[Route] = [
    Route("/realtime/v1/runs", loader=tagged_runs_shape, cors=True, limiter=None),
    Route("/realtime/v1/runs/{runId}", loader=run_shape, cors=True, limiter=None),
    Route("/realtime/v1/batches/{batchId}", loader=batch_shape, cors=True, limiter=None),
    Route("/realtime/v1/streams/{runId}/{streamKey}", loader=run_stream, cors=True, limiter=None),
]
