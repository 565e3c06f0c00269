"""Queues: list, retrieve, pause/resume, concurrency override and reset.

A task's queue (``task/<id>``, type ``task``) exists from the task's first run; a custom
queue from the first run that names it in ``options.queue.name``. Every environment's
maximum concurrency limit is 100. ``queued`` counts the queue's QUEUED runs, ``running``
its dequeued or executing ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Final
from urllib.parse import unquote

from aiohttp import web

from ._auth import authenticate
from ._http import Call, Route, fail, forbidden, json_response
from ._records import Queue
from ._store import ENV_MAX_CONCURRENCY, Environment, Store
from ._timeutil import iso
from ._validation import Enum, Issue, Number, Object, Path, Refine, custom_issue

DEFAULT_PER_PAGE: Final = 25
MAX_PER_PAGE: Final = 100
MAX_OVERRIDE: Final = 100_000
_QUEUED: Final = frozenset({"PENDING"})
_RUNNING: Final = frozenset({"DEQUEUED", "EXECUTING"})

QUEUE_TYPE: Final = Enum(("id", "task", "custom"))
LIST_QUERY: Final = Object(
    {
        "page": Number(integer=True, minimum=0, min_inclusive=False, coerce=True).optional(),
        "perPage": Number(integer=True, minimum=0, min_inclusive=False, coerce=True).optional(),
    }
)
RETRIEVE_QUERY: Final = Object({"type": QUEUE_TYPE.optional()})
PAUSE_BODY: Final = Object({"type": QUEUE_TYPE.optional(), "action": Enum(("pause", "resume"))})
RESET_BODY: Final = Object({"type": QUEUE_TYPE.optional()})


def _exactly_one(body: Any, path: Path) -> Iterator[Issue]:
    if isinstance(body, dict) and ("concurrencyLimit" in body) == ("percent" in body):
        yield custom_issue("Provide exactly one of `concurrencyLimit` or `percent`", path)


OVERRIDE_BODY: Final = Refine(
    Object(
        {
            "type": QUEUE_TYPE.optional(),
            "concurrencyLimit": Number(integer=True, minimum=0, maximum=MAX_OVERRIDE).optional(),
            "percent": Number(minimum=0, min_inclusive=False, maximum=100).optional(),
        }
    ),
    _exactly_one,
)


def queue_item(store: Store, queue: Queue, *, with_percent: bool = True) -> dict[str, Any]:
    """``QueueItem`` (the server's V1 shape with a ``concurrency`` object, no ``version``)."""
    runs = [run for run in store.runs_of([queue.env]) if run.queue == queue.name]
    out: dict[str, Any] = {
        "id": queue.id,
        "name": queue.orderable_name,
        "type": queue.kind,
        "running": sum(run.status in _RUNNING for run in runs),
        "queued": sum(run.status in _QUEUED for run in runs),
        "paused": queue.paused,
        "concurrencyLimit": queue.concurrency_limit,
        "concurrency": {
            "current": queue.concurrency_limit,
            "base": queue.base,
            "override": queue.concurrency_limit if queue.overridden_at is not None else None,
            "overriddenBy": None,
            "overriddenAt": iso(queue.overridden_at) if queue.overridden_at is not None else None,
        },
        "releaseConcurrencyOnWaitpoint": True,
    }
    if with_percent:
        out["concurrencyLimitOverridePercent"] = queue.override_percent
    return out


async def list_queues(call: Call) -> web.StreamResponse:
    """``GET /api/v1/queues?page=&perPage=``: offset pages ordered by task id / name."""
    credential = authenticate(call, allow_jwt=False)
    query = call.validated_query(LIST_QUERY)
    if not credential.allows("read", [("queues", None)]):
        forbidden()
    page = int(query.get("page", 1))
    per_page = min(int(query.get("perPage", DEFAULT_PER_PAGE)), MAX_PER_PAGE)
    env = credential.env
    queues = sorted((q for q in call.state.store.queues.values() if q.env is env), key=lambda q: q.orderable_name)
    window = queues[(page - 1) * per_page : page * per_page]
    return json_response(
        {
            "data": [queue_item(call.state.store, q) for q in window],
            "pagination": {
                "currentPage": page,
                "totalPages": math.ceil(len(queues) / per_page),
                "count": len(queues),
            },
        }
    )


async def retrieve_queue(call: Call) -> web.StreamResponse:
    """``GET /api/v1/queues/{queueParam}?type=id|task|custom`` (public tokens allowed)."""
    credential = authenticate(call, allow_jwt=True)
    query = call.validated_query(RETRIEVE_QUERY)
    if not credential.allows("read", [("queues", None)]):
        forbidden()
    queue = find_queue(call, credential.env, query.get("type", "id"))
    if queue is None:
        fail(404, "queue-not-found")
    return json_response(queue_item(call.state.store, queue))


def find_queue(call: Call, env: Environment, kind: str) -> Queue | None:
    """The queue a ``{queueParam}`` of ``kind`` names in ``env``."""
    store = call.state.store
    param = call.params["queueParam"].replace("%2F", "/")
    if kind == "id":
        return next((q for q in store.queues.values() if q.env is env and q.id == param), None)
    name = unquote(param).replace("%2F", "/")
    if kind == "task":
        name = "task/" + name.removeprefix("task/")
    return store.queues.get((env.id, name))


def _write(call: Call, schema: Any) -> tuple[Environment, dict[str, Any]]:
    credential = authenticate(call, allow_jwt=False)
    body = call.json_body(schema)
    if not credential.allows("write", [("queues", None)]):
        forbidden()
    return credential.env, dict(body)


async def pause_queue(call: Call) -> web.StreamResponse:
    """``POST /api/v1/queues/{queueParam}/pause``: ``action`` pause or resume (idempotent)."""
    env, body = _write(call, PAUSE_BODY)
    queue = find_queue(call, env, body.get("type", "id"))
    if queue is None:
        fail(404, "queue-not-found")
    queue.paused = body["action"] == "pause"
    return json_response(queue_item(call.state.store, queue))


async def override_queue(call: Call) -> web.StreamResponse:
    """``POST /api/v1/queues/{queueParam}/concurrency/override``."""
    env, body = _write(call, OVERRIDE_BODY)
    queue = find_queue(call, env, body.get("type", "id"))
    if queue is None:
        fail(404, "Queue not found")
    maximum = ENV_MAX_CONCURRENCY
    percent = body.get("percent")
    if percent is not None:
        limit = min(max(1, math.floor(maximum * percent / 100)), maximum)
    else:
        limit = int(body["concurrencyLimit"])
        if limit > maximum:
            fail(400, f"Concurrency limit ({limit}) cannot exceed the environment limit ({maximum})")
    if queue.overridden_at is None:
        queue.base = queue.concurrency_limit
    queue.concurrency_limit = limit
    queue.override_percent = percent
    queue.overridden_at = call.state.clock.now_ms()
    return json_response(queue_item(call.state.store, queue, with_percent=False))


async def reset_queue(call: Call) -> web.StreamResponse:
    """``POST /api/v1/queues/{queueParam}/concurrency/reset``: back to the base limit."""
    env, body = _write(call, RESET_BODY)
    queue = find_queue(call, env, body.get("type", "id"))
    if queue is None:
        fail(404, "Queue not found")
    if queue.overridden_at is None:
        fail(400, "Queue is not overridden")
    queue.concurrency_limit = queue.base
    queue.base = None
    queue.override_percent = None
    queue.overridden_at = None
    return json_response(queue_item(call.state.store, queue, with_percent=False))


ROUTES: Sequence[Route] = [
    Route("/api/v1/queues", loader=list_queues),
    Route("/api/v1/queues/{queueParam}", loader=retrieve_queue),
    Route("/api/v1/queues/{queueParam}/pause", action=pause_queue),
    Route("/api/v1/queues/{queueParam}/concurrency/override", action=override_queue),
    Route("/api/v1/queues/{queueParam}/concurrency/reset", action=reset_queue),
]
