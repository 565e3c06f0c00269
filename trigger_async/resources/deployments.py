"""``deployments``: the deployed versions of a project's environment."""

from __future__ import annotations

from datetime import datetime

from .._base import Resource, request_options_of
from .._config import RequestOptions
from .._pagination import Cursor, CursorPage, CursorPager
from .._serialization import js_iso
from .._validation import check_choice, optional_number, optional_str
from ..errors import InvalidArgumentError, InvalidArgumentTypeError
from ..models.deployments import Deployment
from ._common import cursor_page

__all__ = ["Deployments"]

STATUSES = ("PENDING", "BUILDING", "DEPLOYING", "DEPLOYED", "FAILED", "CANCELED", "TIMED_OUT")


def _date(value: object, argument: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return js_iso(value, argument=argument)
    if isinstance(value, str) and value:
        return value
    raise InvalidArgumentTypeError(argument, f"expected an aware datetime or an ISO date string, got {value!r}")


class Deployments(Resource):
    """Deployments of this environment."""

    async def retrieve_current(self, *, request_options: RequestOptions | None = None) -> Deployment:
        """The deployment new runs go to."""
        return await self._request_model(
            Deployment,
            "GET",
            "/api/v1/deployments/current",
            request_options=request_options_of(request_options),
        )

    def list(
        self,
        *,
        status: str | None = None,
        period: str | None = None,
        from_: datetime | str | None = None,
        to: datetime | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> CursorPager[Deployment]:
        """Deployments, newest first; ``await`` for a page, ``async for`` for all."""
        if limit is not None:
            limit = int(optional_number(limit, "limit", minimum=1, integer=True) or 0)
            if limit > 100:
                raise InvalidArgumentError("limit", f"must be between 1 and 100, got {limit!r}")
        entries = [
            ("status", check_choice(status, "status", STATUSES)),
            ("period", optional_str(period, "period")),
            ("from", _date(from_, "from_")),
            ("to", _date(to, "to")),
            ("page[size]", str(limit) if limit else None),
        ]
        filters = [(k, v) for k, v in entries if v]
        options = request_options_of(request_options)
        scope = self._scope()

        async def fetch(where: Cursor) -> CursorPage[Deployment]:
            query = list(filters)
            if where.after:
                query.append(("page[after]", where.after))
            response = await self._request(
                "GET", "/api/v1/deployments", scope=scope, query=query, request_options=options
            )
            return cursor_page(response, Deployment, fetch)

        return CursorPager(fetch, Cursor(after=optional_str(cursor, "cursor")))
