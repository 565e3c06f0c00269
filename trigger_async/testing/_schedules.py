"""Schedules (legacy routes, secret keys only) and ``GET /api/v1/timezones`` (no auth).

Schedules are project-level with per-environment instances; a key sees the schedules that
have an instance in its environment (or none at all). ``{scheduleId}`` is a ``sched_`` id,
anything else is a deduplication key. Any task id is accepted (the emulator has no task
registry); ``Emulator.add_declarative_schedule`` seeds the DECLARATIVE kind.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zoneinfo
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, Final

from aiohttp import web

from ._auth import authenticate_legacy
from ._cron import cron_problem, describe_cron, parse_cron
from ._http import Call, Handler, Route, fail, json_response
from ._records import Schedule
from ._state import State
from ._store import Environment, nanoid
from ._timeutil import iso
from ._validation import Issue, Number, Object, Path, Refine, String, custom_issue, validate

UNAUTHORIZED: Final = "Invalid or Missing API Key"
NOT_FOUND: Final = "Schedule not found"
DEFAULT_PER_PAGE: Final = 20
MAX_PER_PAGE: Final = 100
APP_ORIGIN: Final = "https://cloud.trigger.dev"
MAX_WINDOW_SECONDS: Final = 24 * 3600

_DURATION_WINDOW: Final = re.compile(r"^(0|[1-9]\d*)([mh])$")
_PERCENT_WINDOW: Final = re.compile(r"^(0|[1-9]\d*)%$")


class WindowError(ValueError):
    """A schedule window the server rejects."""


def parse_window(value: str) -> tuple[str, int]:
    """``("duration", seconds)`` or ``("percentage", n)``; raises ``WindowError``."""
    match = _DURATION_WINDOW.match(value)
    if match:
        seconds = int(match.group(1)) * (60 if match.group(2) == "m" else 3600)
        if seconds > MAX_WINDOW_SECONDS:
            raise WindowError("Schedule window duration cannot exceed 24 hours")
        return "duration", seconds
    match = _PERCENT_WINDOW.match(value)
    if match:
        percentage = int(match.group(1))
        if percentage > 100:
            raise WindowError("Schedule window percentage cannot exceed 100%")
        return "percentage", percentage
    raise WindowError('Schedule window must be a whole duration such as "30m" or "2h", or a percentage such as "30%"')


def normalize_window(value: str | None) -> str | None:
    """The window as the server stores and returns it (``60m`` is ``1h``)."""
    if value is None:
        return None
    kind, amount = parse_window(value)
    if kind == "percentage":
        return f"{amount}%"
    if amount == 0:
        return "0m"
    return f"{amount // 3600}h" if amount % 3600 == 0 else f"{amount // 60}m"


def _window_rule(value: Any, path: Path) -> Iterator[Issue]:
    try:
        parse_window(value)
    except WindowError as exc:
        yield custom_issue(str(exc), path)


_FIELDS: Final = {
    "task": String(),
    "cron": String(),
    "deduplicationKey": String(),
    "externalId": String().optional(),
    "timezone": String().optional(),
    "window": Refine(String(), _window_rule).optional(),
}
CREATE_BODY: Final = Object(_FIELDS)
UPDATE_BODY: Final = Object({k: v for k, v in _FIELDS.items() if k != "deduplicationKey"})
LIST_QUERY: Final = Object(
    {
        "page": Number(integer=True, minimum=0, min_inclusive=False, coerce=True).optional(),
        "perPage": Number(integer=True, minimum=0, min_inclusive=False, coerce=True).optional(),
    }
)


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """The server's list: sorted IANA names with ``UTC`` first."""
    return ("UTC", *sorted(zoneinfo.available_timezones() - {"UTC"}))


# timing ------------------------------------------------------------------------------------


def _phase(schedule: Schedule, env: Environment) -> float:
    digest = hashlib.sha256(f"{env.id}\0{schedule.deduplication_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def next_times(schedule: Schedule, env: Environment, now_ms: int) -> tuple[int, int] | None:
    """``(nominal, effective)`` epoch ms of the next occurrence in ``env``."""
    cron = parse_cron(schedule.cron)
    timezone = schedule.timezone or "UTC"
    nominal = cron.next_after(now_ms, timezone)
    if nominal is None:
        return None
    if schedule.window is None:
        return nominal, nominal
    following = cron.next_after(nominal, timezone)
    interval = (following - nominal) if following is not None else 0
    kind, amount = parse_window(schedule.window)
    window_ms = min(amount * 1000, interval) if kind == "duration" else interval * amount // 100
    return nominal, nominal + math.floor(_phase(schedule, env) * window_ms)


def _timing(out: dict[str, Any], schedule: Schedule, env: Environment, now_ms: int, *, when_active: bool) -> None:
    times = next_times(schedule, env, now_ms) if schedule.active or not when_active else None
    out["nextRun"] = iso(times[0]) if times else None
    out["nextRunEffectiveAt"] = iso(times[1]) if times else None


# shapes --------------------------------------------------------------------------------------


def _common(schedule: Schedule) -> dict[str, Any]:
    return {
        "type": "CRON",
        "expression": schedule.cron,
        "description": schedule.description,
    }


def upsert_body(schedule: Schedule, env: Environment, now_ms: int) -> dict[str, Any]:
    """The create/update answer."""
    out: dict[str, Any] = {
        "id": schedule.id,
        "type": schedule.type,
        "task": schedule.task,
        "active": schedule.active,
        "generator": _common(schedule),
        "timezone": schedule.timezone,
    }
    if schedule.window is not None:
        out["window"] = schedule.window
    if schedule.external_id:
        out["externalId"] = schedule.external_id
    if schedule.user_provided_key:
        out["deduplicationKey"] = schedule.deduplication_key
    out["environments"] = [{"id": e.id, "shortcode": e.shortcode, "type": e.type} for e in schedule.environments]
    _timing(out, schedule, env, now_ms, when_active=False)
    return out


def retrieve_body(schedule: Schedule, env: Environment, now_ms: int) -> dict[str, Any]:
    """The retrieve / activate / deactivate answer (no next run while inactive)."""
    out: dict[str, Any] = {"id": schedule.id, "type": schedule.type, "task": schedule.task, "active": schedule.active}
    _timing(out, schedule, env, now_ms, when_active=True)
    out["generator"] = _common(schedule)
    out["timezone"] = schedule.timezone
    if schedule.window is not None:
        out["window"] = schedule.window
    if schedule.external_id:
        out["externalId"] = schedule.external_id
    if schedule.user_provided_key:
        out["deduplicationKey"] = schedule.deduplication_key
    out["environments"] = [{"id": e.id, "type": e.type} for e in schedule.environments]
    return out


def list_item(schedule: Schedule, env: Environment, now_ms: int) -> dict[str, Any]:
    """One item of the list answer."""
    out: dict[str, Any] = {
        "id": schedule.id,
        "type": schedule.type,
        "task": schedule.task,
        "generator": _common(schedule),
        "timezone": schedule.timezone,
    }
    if schedule.window is not None:
        out["window"] = schedule.window
    if schedule.user_provided_key:
        out["deduplicationKey"] = schedule.deduplication_key
    out["externalId"] = schedule.external_id
    out["active"] = schedule.active
    _timing(out, schedule, env, now_ms, when_active=False)
    environments = []
    for e in schedule.environments:
        item: dict[str, Any] = {"id": e.id, "type": e.type, "slug": e.db_slug}
        if e.branch_name is not None:
            item["branchName"] = e.branch_name
        environments.append(item)
    out["environments"] = environments
    return out


# lookup --------------------------------------------------------------------------------------


def find_schedule(state: State, schedule_id: str) -> Schedule | None:
    """By ``sched_`` id, else by deduplication key (project-wide)."""
    if schedule_id.startswith("sched_"):
        return state.store.schedules.get(schedule_id)
    return next((s for s in state.store.schedules.values() if s.deduplication_key == schedule_id), None)


def _visible(schedule: Schedule, env: Environment) -> bool:
    return not schedule.environments or any(e is env for e in schedule.environments)


def _visible_schedule(call: Call, env: Environment) -> Schedule:
    schedule = find_schedule(call.state, call.params["scheduleId"])
    if schedule is None or not _visible(schedule, env):
        fail(404, NOT_FOUND)
    return schedule


def _read_body(call: Call, schema: Object) -> dict[str, Any]:
    try:
        data = json.loads(call.body_text())
    except ValueError:
        # The server's unguarded request.json() crashes (500); a 400 is the simplification.
        fail(400, "Invalid request body")
    parsed, issues = validate(schema, data)
    if issues:
        fail(400, "Invalid request body", issues=[issue.to_zod() for issue in issues])
    return dict(parsed)


def check_schedule(cron: str, timezone: str | None) -> None:
    """The service checks (422): cron, then timezone."""
    problem = cron_problem(cron)
    if problem is not None:
        fail(422, f"Invalid cron expression: {problem}")
    if timezone and timezone not in timezones():
        fail(
            422,
            f"Invalid IANA timezone: '{timezone}'. View the list of valid timezones at {APP_ORIGIN}/timezones",
        )


def new_schedule(
    state: State,
    env: Environment,
    body: dict[str, Any],
    *,
    kind: str = "IMPERATIVE",
) -> Schedule:
    """Create a schedule with an instance in ``env``."""
    key = body.get("deduplicationKey")
    now = state.clock.now_ms()
    schedule = Schedule(
        id=f"sched_{nanoid()}",
        type=kind,
        task=body["task"],
        cron=body["cron"],
        description=describe_cron(body["cron"]),
        timezone=body.get("timezone", "UTC"),
        deduplication_key=key if key else nanoid(24),
        user_provided_key=bool(key),
        created_at=now,
        sequence=state.store.next_sequence(),
        external_id=body.get("externalId") or None,
        window=normalize_window(body.get("window")),
        environments=[env],
    )
    state.store.schedules[schedule.id] = schedule
    return schedule


def _update(schedule: Schedule, env: Environment, body: dict[str, Any]) -> None:
    if schedule.type == "DECLARATIVE":
        fail(422, "Cannot update a declarative schedule")
    schedule.cron = body["cron"]
    schedule.description = describe_cron(body["cron"])
    schedule.timezone = body.get("timezone", "UTC")
    schedule.external_id = body.get("externalId") or None
    schedule.window = normalize_window(body.get("window"))
    # The task is never changed, and the instances become exactly the caller's environment.
    schedule.environments = [env]


# handlers --------------------------------------------------------------------------------------


async def create_schedule(call: Call) -> web.StreamResponse:
    """``POST /api/v1/schedules``: create, or update the schedule with the same key."""
    env = authenticate_legacy(call, UNAUTHORIZED).env
    body = _read_body(call, CREATE_BODY)
    check_schedule(body["cron"], body.get("timezone"))
    key = body["deduplicationKey"]
    existing = (
        next((s for s in call.state.store.schedules.values() if s.deduplication_key == key), None) if key else None
    )
    if existing is not None:
        _update(existing, env, body)
        schedule = existing
    else:
        schedule = new_schedule(call.state, env, body)
    return json_response(upsert_body(schedule, env, call.state.clock.now_ms()))


async def list_schedules(call: Call) -> web.StreamResponse:
    """``GET /api/v1/schedules?page=&perPage=``: offset pages, newest first."""
    env = authenticate_legacy(call, UNAUTHORIZED).env
    parsed, issues = validate(LIST_QUERY, dict(call.query))
    if issues:
        fail(400, "Invalid request parameters", issues=[issue.to_zod() for issue in issues])
    page = int(parsed.get("page", 1))
    per_page = min(int(parsed.get("perPage", DEFAULT_PER_PAGE)), MAX_PER_PAGE)
    mine = sorted(
        (s for s in call.state.store.schedules.values() if any(e is env for e in s.environments)),
        key=lambda s: (s.created_at, s.sequence),
        reverse=True,
    )
    now = call.state.clock.now_ms()
    window = mine[(page - 1) * per_page : page * per_page]
    return json_response(
        {
            "data": [list_item(s, env, now) for s in window],
            "pagination": {
                "currentPage": page,
                "totalPages": math.ceil(len(mine) / per_page),
                "count": len(mine),
            },
        }
    )


async def retrieve_schedule(call: Call) -> web.StreamResponse:
    """``GET /api/v1/schedules/{scheduleId}``."""
    env = authenticate_legacy(call, UNAUTHORIZED).env
    schedule = _visible_schedule(call, env)
    return json_response(retrieve_body(schedule, env, call.state.clock.now_ms()))


async def change_schedule(call: Call) -> web.StreamResponse:
    """``PUT`` (update; an unknown id creates a new schedule) and ``DELETE``."""
    env = authenticate_legacy(call, UNAUTHORIZED).env
    state = call.state
    if call.method == "DELETE":
        schedule = _visible_schedule(call, env)
        del state.store.schedules[schedule.id]
        return json_response({"id": schedule.id})
    body = _read_body(call, UPDATE_BODY)
    found = find_schedule(state, call.params["scheduleId"])
    if found is not None and not _visible(found, env):
        fail(404, NOT_FOUND)
    check_schedule(body["cron"], body.get("timezone"))
    if found is None:
        # The URL id is not used: a brand-new schedule with a random deduplication key.
        schedule = new_schedule(state, env, body)
    else:
        _update(found, env, body)
        schedule = found
    return json_response(upsert_body(schedule, env, state.clock.now_ms()))


def _set_active(active: bool) -> Handler:
    async def handler(call: Call) -> web.StreamResponse:
        env = authenticate_legacy(call, UNAUTHORIZED).env
        schedule = _visible_schedule(call, env)
        schedule.active = active
        return json_response(retrieve_body(schedule, env, call.state.clock.now_ms()))

    handler.__doc__ = f"``POST /api/v1/schedules/{{scheduleId}}/{'activate' if active else 'deactivate'}``."
    return handler


async def list_timezones(call: Call) -> web.StreamResponse:
    """``GET /api/v1/timezones?excludeUtc=true``: no auth, no rate limit."""
    names = timezones()
    if call.query.get("excludeUtc") == "true":
        names = names[1:]
    return json_response({"timezones": list(names)})


ROUTES: Sequence[Route] = [
    Route(
        "/api/v1/schedules",
        loader=list_schedules,
        action=create_schedule,
        action_methods=frozenset({"POST"}),
        legacy_wrong_method=True,
    ),
    Route(
        "/api/v1/schedules/{scheduleId}",
        loader=retrieve_schedule,
        action=change_schedule,
        action_methods=frozenset({"PUT", "DELETE"}),
    ),
    Route(
        "/api/v1/schedules/{scheduleId}/activate",
        action=_set_active(True),
        action_methods=frozenset({"POST"}),
        legacy_wrong_method=True,
    ),
    Route(
        "/api/v1/schedules/{scheduleId}/deactivate",
        action=_set_active(False),
        action_methods=frozenset({"POST"}),
        legacy_wrong_method=True,
    ),
    Route("/api/v1/timezones", loader=list_timezones, cors=True, limiter=None),
]
