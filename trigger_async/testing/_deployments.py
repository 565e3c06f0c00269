"""Deployments: ``GET /api/v1/deployments`` and ``GET /api/v1/deployments/current``.

The emulator deploys nothing: there are no deployments until ``Emulator.add_deployment``
seeds them. The newest seeded ``DEPLOYED`` deployment of an environment is its current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs
from aiohttp import web

from ._auth import authenticate
from ._http import Call, Route, fail, forbidden, json_response, raise_details
from ._records import Deployment
from ._store import Environment, Store, cuid_like, friendly_id
from ._timeutil import iso, parse_js_date, parse_period_ms
from ._validation import Enum, Number, Object, String, validate

STATUSES: Final = ("PENDING", "BUILDING", "DEPLOYING", "DEPLOYED", "FAILED", "CANCELED", "TIMED_OUT")
#: Every status a seeded deployment may have (the list filter does not accept INSTALLING).
ALL_STATUSES: Final = (*STATUSES, "INSTALLING")
DEFAULT_PAGE_SIZE: Final = 20

LIST_QUERY: Final = Object(
    {
        "from": String().optional(),
        "to": String().optional(),
        "period": String().optional(),
        "status": Enum(STATUSES).optional(),
        "page[after]": String().optional(),
        "page[size]": Number(coerce=True, minimum=1, maximum=100).optional(),
    }
)
_SIZE_MESSAGES: Final = {"too_small": "Limit must be at least 1", "too_big": "Limit must be less than 100"}


def add_deployment(store: Store, env: Environment, version: str, status: str, now_ms: int) -> Deployment:
    """Seed a deployment; a DEPLOYED one becomes the environment's current deployment."""
    if status not in ALL_STATUSES:
        raise ValueError(f"unknown deployment status {status!r}: {ALL_STATUSES}")
    deployment = Deployment(
        id=friendly_id("deployment"),
        env=env,
        version=version,
        short_code=cuid_like(f"short\0{env.id}\0{version}\0{store.next_sequence()}")[-8:],
        status=status,
        created_at=now_ms,
        sequence=store.next_sequence(),
        deployed_at=now_ms if status == "DEPLOYED" else None,
    )
    store.deployments[deployment.id] = deployment
    if status == "DEPLOYED":
        store.current_deployment[env.id] = deployment.id
    return deployment


def _item(deployment: Deployment) -> dict[str, Any]:
    return {
        "id": deployment.id,
        "createdAt": iso(deployment.created_at),
        "shortCode": deployment.short_code,
        "version": deployment.version,
        "runtime": None,
        "runtimeVersion": None,
        "status": deployment.status,
    }


async def current_deployment(call: Call) -> web.StreamResponse:
    """``GET /api/v1/deployments/current`` (not rate limited)."""
    credential = authenticate(call, allow_jwt=True)
    store = call.state.store
    current_id = store.current_deployment.get(credential.env.id)
    deployment = store.deployments.get(current_id) if current_id else None
    if deployment is None:
        fail(404, "Not found", headers={"x-should-retry": "false"})
    if not credential.allows("read", [("deployments", "current")]):
        forbidden()
    out = _item(deployment)
    if deployment.deployed_at is not None:
        out["deployedAt"] = iso(deployment.deployed_at)
    return json_response(out)


def _query(call: Call) -> dict[str, Any]:
    parsed, issues = validate(LIST_QUERY, dict(call.query))
    if issues:
        # page[size] carries custom messages for its bounds.
        raise_details(
            "Query Error",
            [
                attrs.evolve(issue, message=_SIZE_MESSAGES.get(issue.code, issue.message))
                if issue.path == ("page[size]",)
                else issue
                for issue in issues
            ],
        )
    return dict(parsed)


def _created_window(query: dict[str, Any], now_ms: int) -> tuple[int | None, int | None]:
    period = query.get("period")
    if period:
        duration = parse_period_ms(period)
        if not duration:
            # A service error thrown in a loader: the builder answers 500.
            fail(500, "Internal Server Error")
        return now_ms - duration, now_ms
    start = end = None
    if query.get("from"):
        start = parse_js_date(query["from"])
        if start is None:
            fail(500, "Internal Server Error")
        if query.get("to"):
            end = parse_js_date(query["to"])
            if end is None:
                fail(500, "Internal Server Error")
    return start, end


async def list_deployments(call: Call) -> web.StreamResponse:
    """``GET /api/v1/deployments``: newest first, ``page[size]`` clamped to 5..100."""
    credential = authenticate(call, allow_jwt=True)
    query = _query(call)
    if not credential.allows("read", [("deployments", "list")]):
        forbidden()
    limit = int(max(min(query.get("page[size]", DEFAULT_PAGE_SIZE), 100), 5))
    store = call.state.store
    env = credential.env
    after = store.deployments.get(query.get("page[after]") or "")
    start, end = _created_window(query, call.state.clock.now_ms())
    status = query.get("status")
    rows = sorted(
        (
            d
            for d in store.deployments.values()
            if d.env is env
            and (after is None or after.env is not env or d.sequence < after.sequence)
            and (start is None or d.created_at >= start)
            and (end is None or d.created_at <= end)
            and (status is None or d.status == status)
        ),
        key=lambda d: d.sequence,
        reverse=True,
    )
    page = rows[:limit]
    data = []
    for deployment in page:
        item = _item(deployment)
        item["deployedAt"] = iso(deployment.deployed_at) if deployment.deployed_at is not None else None
        # The server sends null here, which the official SDK's schema rejects: leave it out.
        data.append(item)
    pagination = {"next": page[-1].id} if len(rows) > limit else {}
    return json_response({"data": data, "pagination": pagination})


ROUTES: Sequence[Route] = [
    Route("/api/v1/deployments/current", loader=current_deployment, limiter=None),
    Route("/api/v1/deployments", loader=list_deployments, limiter="deployment"),
]
