"""Helpers shared by several resources."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._converter import structure
from .._pagination import CursorPage, OffsetPage
from .._serialization import js_iso
from .._transport import Response
from .._validation import optional_number
from ..errors import InvalidArgumentTypeError


@attrs.frozen
class IdResponse:
    id: str


@attrs.frozen
class SuccessResponse:
    success: bool


@attrs.frozen
class OkResponse:
    ok: bool


def page_params(page: object, per_page: object) -> list[tuple[str, str]]:
    """``perPage`` then ``page``, each only when given (the official SDK's order)."""
    per = optional_number(per_page, "per_page", minimum=1, integer=True)
    number = optional_number(page, "page", minimum=1, integer=True)
    params = []
    if per:
        params.append(("perPage", str(per)))
    if number:
        params.append(("page", str(number)))
    return params


@attrs.frozen
class _OffsetPagination:
    current_page: int
    total_pages: int
    count: int


def offset_page_parts(response: Response, item: type[Any]) -> tuple[list[Any], _OffsetPagination]:
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("pagination"), dict):
        # The official schema coerces these numbers from strings too.
        pagination = body["pagination"]
        body = {**body, "pagination": {k: _number(v) for k, v in pagination.items()}}
    envelope = structure(body, _envelope(item, _OffsetPagination), status=response.status, headers=response.headers)
    return envelope.data, envelope.pagination


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


_ENVELOPES: dict[tuple[type[Any], type[Any]], type[Any]] = {}


def _envelope(item: type[Any], pagination: type[Any]) -> type[Any]:
    """``{data: [item], pagination}`` as an attrs class (one per item and pagination kind)."""
    key = (item, pagination)
    if key not in _ENVELOPES:
        _ENVELOPES[key] = attrs.make_class(
            f"{item.__name__}{pagination.__name__}",
            {
                "data": attrs.field(type=list[item]),  # type: ignore[valid-type]
                "pagination": attrs.field(type=pagination, factory=pagination)
                if pagination is _CursorPagination
                else attrs.field(type=pagination),
            },
            frozen=True,
        )
    return _ENVELOPES[key]


@attrs.frozen
class _CursorPagination:
    next: str | None = None
    previous: str | None = None


def cursor_page(response: Response, item: type[Any], fetch: Any) -> CursorPage[Any]:
    """A cursor page from a ``{data, pagination: {next?, previous?}}`` answer."""
    envelope = structure(
        response.body, _envelope(item, _CursorPagination), status=response.status, headers=response.headers
    )
    return CursorPage(envelope.data, envelope.pagination.next, envelope.pagination.previous, fetch)


def make_offset_page(data: list[Any], pagination: _OffsetPagination, fetch: Any) -> OffsetPage[Any]:
    return OffsetPage(data, pagination.current_page, pagination.total_pages, pagination.count, fetch)


def wire_vocabulary(value: Any, argument: str) -> Any:
    """A nested option object given with the official SDK's key names: passed through, with
    aware datetimes as ISO strings and attrs option classes turned into their wire form."""
    if hasattr(value, "to_wire"):
        return wire_vocabulary(value.to_wire(), argument)
    if attrs.has(type(value)):  # e.g. a QueueRef in a run filter: its fields are wire names
        return wire_vocabulary(attrs.asdict(value, recurse=False), argument)
    if isinstance(value, datetime):
        return js_iso(value, argument=argument)
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise InvalidArgumentTypeError(argument, f"keys must be str, got {type(key).__name__}")
        return {k: wire_vocabulary(v, f"{argument}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire_vocabulary(v, f"{argument}[{i}]") for i, v in enumerate(value)]
    return value
