"""``runs.bulk``: act on many runs at once (bound to its client, unlike the official SDK)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from .._base import Resource, request_options_of
from .._config import RequestOptions
from .._converter import parse
from .._pagination import Cursor, CursorPage, CursorPager
from .._serialization import encode_path_segment
from .._validation import optional_number, optional_str, require_str, required_number
from ..errors import InvalidArgumentError, InvalidArgumentTypeError, TriggerError
from ..models.batches import BulkAction
from ..options import RunFilter
from ._common import IdResponse, cursor_page, wire_vocabulary

__all__ = ["Bulk"]

_FILTER_KEYS = frozenset(
    {
        "status",
        "taskIdentifier",
        "version",
        "from",
        "to",
        "period",
        "bulkAction",
        "tag",
        "schedule",
        "isTest",
        "batch",
        "queue",
        "machine",
        "region",
    }
)


def _body(filter: object, run_ids: object, name: object, action: str, **extra: Any) -> dict[str, Any]:
    if (filter is None) == (run_ids is None):
        raise InvalidArgumentError("filter", "pass exactly one of filter= or run_ids=")
    body: dict[str, Any] = {}
    if filter is not None:
        if not isinstance(filter, Mapping) and not hasattr(filter, "to_wire"):
            raise InvalidArgumentTypeError("filter", f"expected a mapping of run filters, got {type(filter).__name__}")
        wire = wire_vocabulary(filter, "filter")
        unknown = sorted(set(wire) - _FILTER_KEYS)
        if unknown:
            raise InvalidArgumentError("filter", f"unknown key(s) {', '.join(unknown)}")
        body["filter"] = wire
    else:
        if isinstance(run_ids, str) or not isinstance(run_ids, Sequence) or not run_ids:
            raise InvalidArgumentError("run_ids", "must be a non-empty list of run ids")
        body["runIds"] = [require_str(run_id, "run_ids") for run_id in run_ids]
    label = optional_str(name, "name")
    if label is not None:
        if len(label) > 255:
            raise InvalidArgumentError("name", "is at most 255 characters")
        body["name"] = label
    body.update({k: v for k, v in extra.items() if v is not None})
    body["action"] = action
    return body


def _path(bulk_action_id: object) -> str:
    segment = encode_path_segment(require_str(bulk_action_id, "bulk_action_id"), argument="bulk_action_id")
    return f"/api/v1/bulk-actions/{segment}"


class Bulk(Resource):
    """Bulk actions over runs matched by a filter or listed by id."""

    async def cancel(
        self,
        *,
        filter: Mapping[str, Any] | RunFilter | None = None,
        run_ids: Sequence[str] | None = None,
        name: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> str:
        """Cancel every matching run; returns the bulk action id.

        ``filter`` takes the run-list filter keys with the official names (``status``,
        ``taskIdentifier``, ``from``, ``to``, ``queue``...); datetimes must be aware.
        """
        body = _body(filter, run_ids, name, "cancel")
        return await self._id("POST", "/api/v1/bulk-actions", body, request_options)

    async def replay(
        self,
        *,
        filter: Mapping[str, Any] | RunFilter | None = None,
        run_ids: Sequence[str] | None = None,
        name: str | None = None,
        target_region: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> str:
        """Replay every matching run; returns the bulk action id."""
        body = _body(
            filter,
            run_ids,
            name,
            "replay",
            targetRegion=optional_str(target_region, "target_region"),
        )
        return await self._id("POST", "/api/v1/bulk-actions", body, request_options)

    async def retrieve(self, bulk_action_id: str, *, request_options: RequestOptions | None = None) -> BulkAction:
        return await self._request_model(
            BulkAction,
            "GET",
            _path(bulk_action_id),
            request_options=request_options_of(request_options),
        )

    async def abort(self, bulk_action_id: str, *, request_options: RequestOptions | None = None) -> str:
        return await self._id("POST", f"{_path(bulk_action_id)}/abort", None, request_options)

    def list(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> CursorPager[BulkAction]:
        limit = optional_number(limit, "limit", minimum=1, integer=True)  # type: ignore[assignment]
        if after is not None and before is not None:
            raise InvalidArgumentError("after", "pass at most one of after / before")
        options = request_options_of(request_options)
        scope = self._scope()

        async def fetch(cursor: Cursor) -> CursorPage[BulkAction]:
            query = [("page[size]", str(limit))] if limit else []
            if cursor.after:
                query.append(("page[after]", cursor.after))
            if cursor.before:
                query.append(("page[before]", cursor.before))
            response = await self._request(
                "GET", "/api/v1/bulk-actions", scope=scope, query=query, request_options=options
            )
            return cursor_page(response, BulkAction, fetch)

        return CursorPager(fetch, Cursor(after=optional_str(after, "after"), before=optional_str(before, "before")))

    async def poll(
        self,
        bulk_action_id: str,
        *,
        poll_interval_ms: int = 1000,
        max_attempts: int = 500,
        request_options: RequestOptions | None = None,
    ) -> BulkAction:
        """Retrieve the bulk action until it is no longer ``PENDING``."""
        path = _path(bulk_action_id)
        interval = required_number(poll_interval_ms, "poll_interval_ms", minimum=0)
        attempts = int(required_number(max_attempts, "max_attempts", minimum=1, integer=True))
        options = request_options_of(request_options)
        scope = self._scope()
        for attempt in range(attempts):
            action = await self._request_model(BulkAction, "GET", path, scope=scope, request_options=options)
            if action.status != "PENDING":
                return action
            if attempt + 1 < attempts:
                await asyncio.sleep(interval / 1000)
        raise TriggerError(f"Bulk action {bulk_action_id} did not complete after {attempts} attempts")

    async def _id(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        request_options: RequestOptions | None,
    ) -> str:
        from .._serialization import UNDEFINED

        response = await self._request(
            method,
            path,
            body=UNDEFINED if body is None else body,
            request_options=request_options_of(request_options),
        )
        return parse(response, IdResponse).id
