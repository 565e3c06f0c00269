"""``queues``: inspect, pause and limit queues."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._base import Resource, request_options_of
from .._config import RequestOptions
from .._converter import structure
from .._pagination import OffsetPage, OffsetPager
from .._serialization import encode_queue_segment
from .._transport import Response
from .._validation import optional_number
from ..errors import InvalidArgumentError, InvalidArgumentTypeError
from ..models.queues import Queue, QueueRef
from ._common import make_offset_page, offset_page_parts, page_params

__all__ = ["Queues", "queue_target"]


def queue_target(queue: object) -> tuple[str, str]:
    """``(path segment, type)`` of a queue argument: an id, a ``QueueRef`` or such a dict."""
    if isinstance(queue, str):
        if not queue:
            raise InvalidArgumentError("queue", "must not be empty")
        return encode_queue_segment(queue), "id"
    kind: object
    name: object
    if isinstance(queue, QueueRef):
        kind, name = queue.type, queue.name
    elif isinstance(queue, Mapping):
        kind, name = queue.get("type"), queue.get("name")
    else:
        raise InvalidArgumentTypeError(
            "queue", f"expected a queue id, a QueueRef or a dict, got {type(queue).__name__}"
        )
    if kind not in ("task", "custom"):
        raise InvalidArgumentError("queue", f"type must be 'task' or 'custom', got {kind!r}")
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError("queue", "name must be a non-empty str")
    return encode_queue_segment(name), str(kind)


def _queue(response: Response) -> Queue:
    body = response.body
    if isinstance(body, dict) and "version" not in body:
        # As the official SDK: a queue without a version is a V1 queue.
        body = {**body, "version": "V1"}
    return structure(body, Queue, status=response.status, headers=response.headers)


class Queues(Resource):
    """Queues of this environment.

    A queue is named by its id (``"queue_…"``), or by ``QueueRef("task", "<task id>")`` /
    ``QueueRef("custom", "<name>")`` (dicts with ``type`` and ``name`` work too).
    """

    def list(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> OffsetPager[Queue]:
        """Queues, ``await`` for one page or ``async for`` for all."""
        page_params(page, per_page)
        options = request_options_of(request_options)
        scope = self._scope()

        async def fetch(number: int | None) -> OffsetPage[Queue]:
            response = await self._request(
                "GET",
                "/api/v1/queues",
                scope=scope,
                query=page_params(number, per_page),
                request_options=options,
            )
            if isinstance(response.body, dict) and isinstance(response.body.get("data"), list):
                items = [
                    {**item, "version": item.get("version", "V1")} if isinstance(item, dict) else item
                    for item in response.body["data"]
                ]
                response = Response(
                    response.status,
                    response.headers,
                    {**response.body, "data": items},
                    response.text,
                )
            data, pagination = offset_page_parts(response, Queue)
            return make_offset_page(data, pagination, fetch)

        return OffsetPager(fetch, page)

    async def retrieve(self, queue: Any, *, request_options: RequestOptions | None = None) -> Queue:
        segment, kind = queue_target(queue)
        response = await self._request(
            "GET",
            f"/api/v1/queues/{segment}",
            query=[("type", kind)],
            request_options=request_options_of(request_options),
        )
        return _queue(response)

    async def pause(self, queue: Any, *, request_options: RequestOptions | None = None) -> Queue:
        """Stop starting new runs from this queue."""
        return await self._pause(queue, "pause", request_options)

    async def resume(self, queue: Any, *, request_options: RequestOptions | None = None) -> Queue:
        return await self._pause(queue, "resume", request_options)

    async def _pause(self, queue: Any, action: str, request_options: RequestOptions | None) -> Queue:
        segment, kind = queue_target(queue)
        response = await self._request(
            "POST",
            f"/api/v1/queues/{segment}/pause",
            body={"type": kind, "action": action},
            request_options=request_options_of(request_options),
        )
        return _queue(response)

    async def override_concurrency_limit(
        self, queue: Any, concurrency_limit: int, *, request_options: RequestOptions | None = None
    ) -> Queue:
        """Set a concurrency limit that wins over the one the task declares."""
        segment, kind = queue_target(queue)
        limit = optional_number(concurrency_limit, "concurrency_limit", minimum=0, integer=True)
        if limit is None:
            raise InvalidArgumentError("concurrency_limit", "is required")
        response = await self._request(
            "POST",
            f"/api/v1/queues/{segment}/concurrency/override",
            body={"type": kind, "concurrencyLimit": limit},
            request_options=request_options_of(request_options),
        )
        return _queue(response)

    async def reset_concurrency_limit(self, queue: Any, *, request_options: RequestOptions | None = None) -> Queue:
        """Drop an override and go back to the declared limit."""
        segment, kind = queue_target(queue)
        response = await self._request(
            "POST",
            f"/api/v1/queues/{segment}/concurrency/reset",
            body={"type": kind},
            request_options=request_options_of(request_options),
        )
        return _queue(response)
