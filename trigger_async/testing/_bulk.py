"""Bulk actions: cancel or replay many runs, selected by a run filter or by ids.

The server processes a bulk action in the background; the emulator applies it while
answering the create request, so the action is ``COMPLETED`` (with its counts) at once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, get_args

from aiohttp import web

from ..models.runs import RunStatus
from ._auth import Credential, authenticate
from ._engine import ServiceError, cancel_run, trigger_run
from ._http import Call, Route, fail, forbidden, json_response, raise_details
from ._records import BulkAction
from ._runs import ListQuery, matches_query, replay_spec
from ._state import State
from ._statuses import FILTER_STATUS_MAP
from ._store import Run, friendly_id
from ._tasks import MACHINE_PRESETS
from ._timeutil import iso, parse_period_ms
from ._validation import (
    MISSING,
    Array,
    Boolean,
    CoerceDate,
    Discriminated,
    Enum,
    Issue,
    Never,
    Number,
    Object,
    OneOf,
    Path,
    Refine,
    Status,
    String,
    custom_issue,
)

CREATE_BODY_MAX_BYTES: Final = 1024 * 1024
MAX_RUN_IDS: Final = 500
DEFAULT_PAGE_SIZE: Final = 25
MAX_PAGE_SIZE: Final = 100

#: The ``RunStatus`` enum of the new API vocabulary, in its declared order.
RUN_STATUSES: Final = get_args(RunStatus)

_STRINGS: Final = OneOf((String(), Array(String())))
_QUEUE: Final = Object({"type": Enum(("task", "custom")), "name": String()})


def _non_empty(value: Any) -> bool:
    if value is MISSING:
        return False
    if isinstance(value, list):
        return any(_non_empty(item) for item in value)
    if isinstance(value, str):
        return value.strip() != ""
    return True


def _some_filter(value: Any, path: Path) -> Iterator[Issue]:
    if isinstance(value, dict) and not any(_non_empty(v) for v in value.values()):
        yield custom_issue("At least one filter must be provided", path)


FILTER: Final = Refine(
    Object(
        {
            "status": OneOf((Enum(RUN_STATUSES), Array(Enum(RUN_STATUSES)))).optional(),
            "taskIdentifier": _STRINGS.optional(),
            "version": _STRINGS.optional(),
            "from": OneOf((CoerceDate(), Number())).optional(),
            "to": OneOf((CoerceDate(), Number())).optional(),
            "period": String().optional(),
            "bulkAction": String().optional(),
            "tag": _STRINGS.optional(),
            "schedule": String().optional(),
            "isTest": Boolean().optional(),
            "batch": String().optional(),
            "queue": OneOf((_QUEUE, Array(_QUEUE))).optional(),
            "machine": OneOf((Enum(MACHINE_PRESETS), Array(Enum(MACHINE_PRESETS)))).optional(),
            "region": _STRINGS.optional(),
        }
    ),
    _some_filter,
)


def _selection(action: str, target_region: Any) -> Object:
    return Object(
        {
            "action": Enum((action,)),
            "targetRegion": target_region,
            "filter": FILTER.optional(),
            "runIds": Array(String(), min_length=1).optional(),
            "name": String(max_length=255, max_message="Name must be less than 255 characters").optional(),
        }
    )


def _exactly_one(body: Any, path: Path) -> Iterator[Issue]:
    if isinstance(body, dict) and ("filter" in body) + ("runIds" in body) != 1:
        yield custom_issue("Exactly one of filter or runIds must be provided", path)


CREATE_BODY: Final = Refine(
    Discriminated(
        "action",
        {
            "cancel": _selection("cancel", Never().optional()),
            "replay": _selection("replay", String().optional()),
        },
    ),
    _exactly_one,
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def filter_query(raw: dict[str, Any], now_ms: int) -> ListQuery:
    """The run-list query a bulk action filter selects.

    The time window is frozen at creation: a ``period`` (or, with no time filter at all,
    the default ``7d``) becomes ``now - period .. now``, and a missing ``to`` is now.
    """

    def strings(name: str) -> frozenset[str] | None:
        return frozenset(_as_list(raw[name])) if name in raw else None

    statuses = (
        frozenset(s for status in _as_list(raw["status"]) for s in FILTER_STATUS_MAP[status])
        if "status" in raw
        else None
    )
    queues = (
        frozenset(q["name"] if q["type"] == "custom" else f"task/{q['name']}" for q in _as_list(raw["queue"]))
        if "queue" in raw
        else None
    )
    created_from = raw.get("from")
    created_to = raw.get("to")
    period_text = raw.get("period") or (None if created_from is not None or created_to is not None else "7d")
    if period_text is not None:
        period = parse_period_ms(period_text)
        if not period:
            # "Invalid period" is thrown by the service: the route's generic 500.
            fail(500, "Failed to create bulk action")
        created_from, created_to = now_ms - period, now_ms
    elif created_to is None:
        created_to = now_ms
    tasks = strings("taskIdentifier")
    return ListQuery(
        page_size=MAX_PAGE_SIZE,
        after=None,
        before=None,
        statuses=statuses,
        tasks=tuple(sorted(tasks)) if tasks else None,
        versions=strings("version"),
        tags=strings("tag"),
        queues=queues,
        regions=strings("region"),
        machines=strings("machine"),
        bulk_action=raw.get("bulkAction") or None,
        schedule=raw.get("schedule") or None,
        batch=raw.get("batch") or None,
        error=None,
        is_test=raw.get("isTest"),
        created_from=None if created_from is None else int(created_from),
        created_to=None if created_to is None else int(created_to),
        envs=None,
    )


def _selected_runs(call: Call, credential: Credential, body: dict[str, Any]) -> list[Run]:
    store = call.state.store
    if "runIds" in body:
        found = (store.find_run(credential.env, run_id) for run_id in dict.fromkeys(body["runIds"]))
        return [run for run in found if run is not None]
    q = filter_query(body["filter"], call.state.clock.now_ms())
    runs = [run for run in store.runs_of([credential.env]) if matches_query(run, q)]
    return sorted(runs, key=lambda run: (run.created_at, run.id), reverse=True)


def _apply(call: Call, credential: Credential, action: BulkAction, runs: Iterable[Run], region: str | None) -> None:
    for run in runs:
        action.total += 1
        if action.type == "CANCEL":
            if run.is_final:
                action.failure += 1
                continue
            cancel_run(call.state, run)
            run.bulk_action_ids.append(action.id)
            action.success += 1
        else:
            overrides: dict[str, Any] = {"region": region} if region else {}
            spec = replay_spec(credential, run, overrides, bulk_action_id=action.id)
            try:
                trigger_run(call.state, spec)
            except ServiceError:
                action.failure += 1
            else:
                action.success += 1


async def create_bulk_action(call: Call) -> web.StreamResponse:
    """``POST /api/v1/bulk-actions``: 202 ``{id}``; the action is applied at once."""
    credential = authenticate(call, allow_jwt=False)
    call.require_content_length(CREATE_BODY_MAX_BYTES)
    body = call.json_body(CREATE_BODY)
    if not credential.allows("write", [("runs", None)]):
        forbidden()
    if "runIds" in body and len(body["runIds"]) > MAX_RUN_IDS:
        fail(
            400,
            f"Too many runIds ({len(body['runIds'])}). Maximum is {MAX_RUN_IDS}. Use a filter to select more runs.",
        )
    runs = _selected_runs(call, credential, body)
    now = call.state.clock.now_ms()
    action = BulkAction(
        id=friendly_id("bulk"),
        env=credential.env,
        type="CANCEL" if body["action"] == "cancel" else "REPLAY",
        status="PENDING",
        created_at=now,
        name=body.get("name"),
    )
    call.state.store.bulk_actions[action.id] = action
    state, region = call.state, body.get("targetRegion")

    def work() -> None:
        _apply(call, credential, action, runs, region)
        action.status = "COMPLETED"
        action.completed_at = state.clock.now_ms()

    action.work = work
    return json_response({"id": action.id}, 202)


def settle_bulk_actions(state: State) -> None:
    """Apply every action still PENDING, as the server's worker would have by the next request.

    The app calls this before every request but an abort, so an action can be aborted only
    straight after its creation (while it is really PENDING)."""
    for action in list(state.store.bulk_actions.values()):
        if action.status == "PENDING" and action.work is not None:
            work, action.work = action.work, None
            work()


def bulk_action_body(action: BulkAction) -> dict[str, Any]:
    """``BulkActionObject``."""
    out: dict[str, Any] = {"id": action.id}
    if action.name is not None:
        out["name"] = action.name
    out["type"] = action.type
    out["status"] = action.status
    out["counts"] = {"total": action.total, "success": action.success, "failure": action.failure}
    out["createdAt"] = iso(action.created_at)
    if action.completed_at is not None:
        out["completedAt"] = iso(action.completed_at)
    return out


def _find(call: Call, credential: Credential) -> BulkAction | None:
    action = call.state.store.bulk_actions.get(call.params["bulkActionId"])
    return action if action is not None and action.env is credential.env else None


async def retrieve_bulk_action(call: Call) -> web.StreamResponse:
    """``GET /api/v1/bulk-actions/{bulkActionId}``."""
    credential = authenticate(call, allow_jwt=False)
    action = _find(call, credential)
    if action is None:
        fail(404, "Not found", headers={"x-should-retry": "false"})
    if not credential.allows("read", [("runs", None)]):
        forbidden()
    return json_response(bulk_action_body(action))


async def abort_bulk_action(call: Call) -> web.StreamResponse:
    """``POST /api/v1/bulk-actions/{bulkActionId}/abort``: only a PENDING action can stop."""
    credential = authenticate(call, allow_jwt=False)
    action = _find(call, credential)
    if not credential.allows("write", [("runs", None)]):
        forbidden()
    if action is None:
        fail(404, "Resource not found")
    if action.status == "COMPLETED":
        fail(409, f"Bulk action group already completed: {action.id}")
    if action.status == "ABORTED":
        fail(409, f"Bulk action group already aborted: {action.id}")
    action.status = "ABORTED"
    action.work = None
    action.completed_at = call.state.clock.now_ms()
    return json_response({"id": action.id})


# list ------------------------------------------------------------------------------------------


_PAGE_SIZE: Final = Number(integer=True, minimum=0, min_inclusive=False, maximum=MAX_PAGE_SIZE, coerce=True)


def _page_size(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE_SIZE
    issues: list[Issue] = []
    status, size = _PAGE_SIZE.parse(text, ("page[size]",), issues)
    if status is not Status.ABORTED and size < 1:
        # `.positive().min(1)`: the second check reports too.
        issues.append(
            Issue(
                "too_small",
                "Number must be greater than or equal to 1",
                ("page[size]",),
                (("minimum", 1), ("type", "number"), ("inclusive", True), ("exact", False)),
            )
        )
    if issues:
        raise_details("Query Error", issues)
    return int(size)


def _encode_cursor(action: BulkAction) -> str:
    raw = json.dumps({"createdAt": action.created_at, "id": action.id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(text: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("createdAt"), int) or not isinstance(data.get("id"), str):
        # The presenter throws; a loader turns that into a 500.
        fail(500, "Internal Server Error")
    return data["createdAt"], data["id"]


async def list_bulk_actions(call: Call) -> web.StreamResponse:
    """``GET /api/v1/bulk-actions``: cursor pages, newest first."""
    credential = authenticate(call, allow_jwt=False)
    size = _page_size(call.query.get("page[size]"))
    if not credential.allows("read", [("runs", None)]):
        forbidden()
    after = call.query.get("page[after]") or None
    before = call.query.get("page[before]") or None
    if after and before:
        fail(500, "Internal Server Error")
    actions = [a for a in call.state.store.bulk_actions.values() if a.env is credential.env]
    cursor = _decode_cursor(after or before or "") if (after or before) else None
    if before:
        assert cursor is not None
        rows = sorted((a for a in actions if (a.created_at, a.id) > cursor), key=lambda a: (a.created_at, a.id))
    else:
        ordered = sorted(actions, key=lambda a: (a.created_at, a.id), reverse=True)
        rows = [a for a in ordered if cursor is None or (a.created_at, a.id) < cursor]
    has_more = len(rows) > size
    page = rows[:size]
    if before:
        page.reverse()
    pagination: dict[str, str] = {}
    if page and (has_more or before):
        pagination["next"] = _encode_cursor(page[-1])
    if page and ((not before and after) or (before and has_more)):
        pagination["previous"] = _encode_cursor(page[0])
    return json_response({"data": [bulk_action_body(a) for a in page], "pagination": pagination})


ROUTES: Sequence[Route] = [
    Route("/api/v1/bulk-actions", loader=list_bulk_actions, action=create_bulk_action),
    Route("/api/v1/bulk-actions/{bulkActionId}", loader=retrieve_bulk_action),
    Route("/api/v1/bulk-actions/{bulkActionId}/abort", action=abort_bulk_action),
]
