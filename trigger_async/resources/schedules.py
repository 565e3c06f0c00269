"""``schedules``: cron schedules of tasks."""

from __future__ import annotations

from typing import Any

import attrs

from .._base import Resource, request_options_of
from .._config import DEFAULT_RETRY, RequestOptions, RetryOptions
from .._converter import parse
from .._pagination import OffsetPage, OffsetPager
from .._serialization import encode_path_segment
from .._validation import check_bool, optional_str, require_str
from ..errors import InvalidArgumentError
from ..models.schedules import Schedule
from ._common import IdResponse, make_offset_page, offset_page_parts, page_params

__all__ = ["Schedules"]

_TIMEZONES_RETRY = RetryOptions(
    max_attempts=3,
    factor=2,
    min_timeout=1.0,
    max_timeout=60.0,
    randomize=False,
    max_retry_after=DEFAULT_RETRY.max_retry_after,
)


def _path(schedule_id: object) -> str:
    # An id that does not start with sched_ is a deduplication key: keep it one segment.
    return f"/api/v1/schedules/{encode_path_segment(require_str(schedule_id, 'schedule_id'), argument='schedule_id')}"


def _window(value: object) -> str | None:
    return optional_str(value, "window")


class Schedules(Resource):
    """Create and manage cron schedules (imperative schedules)."""

    async def create(
        self,
        *,
        task: str,
        cron: str,
        deduplication_key: str,
        external_id: str | None = None,
        timezone: str | None = None,
        window: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> Schedule:
        """Create (or, for a known ``deduplication_key``, update) a schedule of ``task``.

        ``timezone`` is an IANA name; left out, the server uses UTC (never this machine's zone).
        """
        body = _body(task, cron, external_id, timezone, window, deduplication_key=deduplication_key)
        return await self._request_model(
            Schedule,
            "POST",
            "/api/v1/schedules",
            body=body,
            request_options=request_options_of(request_options),
        )

    async def retrieve(self, schedule_id: str, *, request_options: RequestOptions | None = None) -> Schedule:
        """A schedule by id (``sched_…``) or by deduplication key."""
        return await self._request_model(
            Schedule, "GET", _path(schedule_id), request_options=request_options_of(request_options)
        )

    async def update(
        self,
        schedule_id: str,
        *,
        task: str,
        cron: str,
        external_id: str | None = None,
        timezone: str | None = None,
        window: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> Schedule:
        """Replace a schedule's cron, timezone, external id and window."""
        body = _body(task, cron, external_id, timezone, window)
        return await self._request_model(
            Schedule,
            "PUT",
            _path(schedule_id),
            body=body,
            request_options=request_options_of(request_options),
        )

    async def delete(self, schedule_id: str, *, request_options: RequestOptions | None = None) -> str:
        """Delete a schedule; returns its id."""
        response = await self._request(
            "DELETE", _path(schedule_id), request_options=request_options_of(request_options)
        )
        return parse(response, IdResponse).id

    async def activate(self, schedule_id: str, *, request_options: RequestOptions | None = None) -> Schedule:
        return await self._request_model(
            Schedule,
            "POST",
            f"{_path(schedule_id)}/activate",
            request_options=request_options_of(request_options),
        )

    async def deactivate(self, schedule_id: str, *, request_options: RequestOptions | None = None) -> Schedule:
        return await self._request_model(
            Schedule,
            "POST",
            f"{_path(schedule_id)}/deactivate",
            request_options=request_options_of(request_options),
        )

    def list(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> OffsetPager[Schedule]:
        """Schedules of this environment: ``await`` for one page, ``async for`` for all."""
        page_params(page, per_page)  # validate now, before any request
        options = request_options_of(request_options)
        scope = self._scope()

        async def fetch(number: int | None) -> OffsetPage[Schedule]:
            response = await self._request(
                "GET",
                "/api/v1/schedules",
                scope=scope,
                query=page_params(number, per_page),
                request_options=options,
            )
            data, pagination = offset_page_parts(response, Schedule)
            return make_offset_page(data, pagination, fetch)

        return OffsetPager(fetch, page)


def _body(
    task: object,
    cron: object,
    external_id: object,
    timezone: object,
    window: object,
    **extra: object,
) -> dict[str, Any]:
    entries: list[tuple[str, Any]] = [
        ("task", require_str(task, "task")),
        ("cron", require_str(cron, "cron")),
    ]
    if "deduplication_key" in extra:
        entries.append(("deduplicationKey", require_str(extra["deduplication_key"], "deduplication_key")))
    entries += [
        ("externalId", optional_str(external_id, "external_id")),
        ("timezone", optional_str(timezone, "timezone")),
        ("window", _window(window)),
    ]
    if len(require_str(cron, "cron").split()) != 5:
        raise InvalidArgumentError("cron", f"must have 5 fields (minute hour day month weekday), got {cron!r}")
    return {k: v for k, v in entries if v is not None}


@attrs.frozen
class _Timezones:
    timezones: list[str]


class GlobalSchedules(Schedules):
    """Module-level ``schedules``: the CRUD methods plus ``timezones()``."""

    async def timezones(self, *, exclude_utc: bool = False, request_options: RequestOptions | None = None) -> list[str]:
        """The IANA time zones a schedule may use (no credentials needed)."""
        check_bool(exclude_utc, "exclude_utc")
        response = await self._request(
            "GET",
            "/api/v1/timezones",
            query=[("excludeUtc", "true")] if exclude_utc else None,
            request_options=request_options_of(request_options),
            authenticated=False,
            retry_defaults=_TIMEZONES_RETRY,
            # As the official helper: status-based retries only.
            retry_connection_errors=False,
        )
        return parse(response, _Timezones).timezones
