"""Run endpoints: list (env and project forms), retrieve, cancel, replay, reschedule."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
from aiohttp import web

from ._auth import (
    KEY_PATTERN,
    PAT_PATTERN,
    Credential,
    Resource,
    authenticate,
    authenticate_legacy,
    bearer_token,
    environment_for_key,
)
from ._engine import ServiceError, TriggerSpec, cancel_run, resolve_delay, trigger_run
from ._http import Call, Route, fail, forbidden, json_response, raise_details
from ._packets import make_packet, metadata_packet
from ._presenters import list_item, retrieve_body
from ._statuses import FILTER_STATUS_MAP
from ._store import PROJECT_REF, Environment, Run
from ._tasks import MACHINE_PRESETS
from ._timeutil import DAY, js_date_string, parse_js_date, parse_period_ms
from ._validation import (
    MISSING,
    AnyValue,
    Array,
    CoerceDate,
    Enum,
    Issue,
    Number,
    Object,
    OneOf,
    String,
    custom_issue,
    js_number_text,
    js_to_number,
    validate,
    validation_error_text,
)

DEFAULT_PAGE_SIZE: Final = 25
DEFAULT_WINDOW_MS: Final = 7 * DAY
PAGE_SIZE_SCHEMA: Final = Number(integer=True, minimum=1, maximum=100, coerce=True)

# Sort key of a run in the list order (createdAt, id), both descending.
SortKey = tuple[int, str]


# cursors ---------------------------------------------------------------------------------


def encode_cursor(run: Run) -> str:
    """base64url of ``{"c": createdAtMs, "r": id}``, without padding."""
    raw = json.dumps({"c": run.created_at, "r": run.id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@attrs.frozen
class Cursor:
    """A decoded cursor; a legacy bare-id cursor has no timestamp and compares by id."""

    created_at: int | None
    run_id: str

    def is_older(self, run: Run) -> bool:
        """Whether ``run`` comes after the cursor in list order."""
        if self.created_at is None:
            return run.id < self.run_id
        return (run.created_at, run.id) < (self.created_at, self.run_id)

    def is_newer(self, run: Run) -> bool:
        """Whether ``run`` comes before the cursor in list order."""
        if self.created_at is None:
            return run.id > self.run_id
        return (run.created_at, run.id) > (self.created_at, self.run_id)


def decode_cursor(text: str, runs: dict[str, Run]) -> Cursor:
    """Decode a cursor; anything that is not one is taken as a legacy run-id cursor."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        data = None
    if isinstance(data, dict) and isinstance(data.get("c"), int) and isinstance(data.get("r"), str):
        return Cursor(data["c"], data["r"])
    known = runs.get(text)
    if known is not None:
        return Cursor(known.created_at, known.id)
    return Cursor(None, text)


# list ------------------------------------------------------------------------------------


@attrs.frozen
class ListQuery:
    """Validated list parameters."""

    page_size: int
    after: str | None
    before: str | None
    statuses: frozenset[str] | None
    tasks: tuple[str, ...] | None
    versions: frozenset[str] | None
    tags: frozenset[str] | None
    queues: frozenset[str] | None
    regions: frozenset[str] | None
    machines: frozenset[str] | None
    bulk_action: str | None
    schedule: str | None
    batch: str | None
    error: str | None
    is_test: bool | None
    created_from: int | None
    created_to: int | None
    envs: tuple[str, ...] | None


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _instant(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    number = js_to_number(value)
    if number == number and abs(number) != float("inf"):
        return int(number)
    return parse_js_date(value)


def parse_list_query(call: Call) -> ListQuery:
    """Validate the list query; 400 ``Query Error`` with zod-shaped details."""
    query = call.query
    issues: list[Issue] = []
    page_size = DEFAULT_PAGE_SIZE
    if "page[size]" in query:
        found: list[Issue] = []
        _, size = PAGE_SIZE_SCHEMA.parse(query["page[size]"], ("page[size]",), found)
        issues.extend(found)
        if not found:
            page_size = int(size)
    statuses = _split(query.get("filter[status]"))
    if statuses:
        invalid = [s for s in statuses if s not in FILTER_STATUS_MAP]
        if invalid:
            issues.append(custom_issue(f"Invalid status values: {', '.join(invalid)}", ("filter[status]",)))
    machines = _split(query.get("filter[machine]"))
    if machines:
        invalid = [m for m in machines if m not in MACHINE_PRESETS]
        if invalid:
            issues.append(custom_issue(f"Invalid machine values: {', '.join(invalid)}", ("filter[machine]",)))
    is_test_text = query.get("filter[isTest]")
    if is_test_text is not None and is_test_text not in ("true", "false"):
        issues.append(custom_issue(f"Invalid value for isTest: {is_test_text}", ("filter[isTest]",)))
    if issues:
        raise_details("Query Error", issues)

    now = call.state.clock.now_ms()
    period_text = query.get("filter[createdAt][period]")
    created_from = _instant(query.get("filter[createdAt][from]"))
    created_to = _instant(query.get("filter[createdAt][to]"))
    period = parse_period_ms(period_text) if period_text else None
    if period is not None:
        created_from, created_to = now - period, None
    elif created_from is None and created_to is None:
        # Without any time filter the server only looks at the last seven days.
        created_from = now - DEFAULT_WINDOW_MS
    if created_to is not None:
        created_to = min(created_to, now)

    def as_set(name: str) -> frozenset[str] | None:
        values = _split(query.get(name))
        return frozenset(values) if values else None

    tasks = _split(query.get("filter[taskIdentifier]"))
    envs = _split(query.get("filter[env]"))
    internal_statuses = frozenset(s for name in statuses for s in FILTER_STATUS_MAP[name]) if statuses else None
    return ListQuery(
        page_size=page_size,
        after=query.get("page[after]") or None,
        before=query.get("page[before]") or None,
        statuses=internal_statuses,
        tasks=tuple(tasks) if tasks else None,
        versions=as_set("filter[version]"),
        tags=as_set("filter[tag]"),
        queues=as_set("filter[queue]"),
        regions=as_set("filter[region]"),
        machines=frozenset(machines) if machines else None,
        bulk_action=query.get("filter[bulkAction]") or None,
        schedule=query.get("filter[schedule]") or None,
        batch=query.get("filter[batch]") or None,
        error=query.get("filter[error]") or None,
        is_test=None if is_test_text is None else is_test_text == "true",
        created_from=created_from,
        created_to=created_to,
        envs=tuple(envs) if envs else None,
    )


def matches_query(run: Run, q: ListQuery) -> bool:
    """Whether ``run`` passes every filter of ``q`` (the page parameters aside)."""
    if q.statuses is not None and run.status not in q.statuses:
        return False
    if q.tasks is not None and run.task_identifier not in q.tasks:
        return False
    if q.versions is not None and run.version not in q.versions:
        return False
    if q.tags is not None and not q.tags.intersection(run.tags):
        return False
    if q.queues is not None and run.queue not in q.queues:
        return False
    if q.regions is not None and run.region not in q.regions:
        return False
    if q.machines is not None and run.machine not in q.machines:
        return False
    if q.bulk_action is not None and q.bulk_action not in run.bulk_action_ids:
        return False
    if q.schedule is not None and run.schedule_id != q.schedule:
        return False
    if q.batch is not None and run.batch_id != q.batch:
        return False
    if q.error is not None and q.error not in str((run.error or {}).get("message", "")):
        return False
    if q.is_test is not None and run.is_test != q.is_test:
        return False
    if q.created_from is not None and run.created_at < q.created_from:
        return False
    return not (q.created_to is not None and run.created_at > q.created_to)


def list_page(call: Call, envs: Iterable[Environment], q: ListQuery) -> dict[str, Any]:
    """One page, newest first, with ``next`` / ``previous`` cursors omitted when absent."""
    store = call.state.store
    ordered = sorted(
        (run for run in store.runs_of(envs) if matches_query(run, q)),
        key=lambda run: (run.created_at, run.id),
        reverse=True,
    )
    pagination: dict[str, str] = {}
    if q.before is not None:
        cursor = decode_cursor(q.before, store.runs)
        # Going backwards: the page is the slice of newer rows closest to the cursor.
        newer = [run for run in ordered if cursor.is_newer(run)]
        page = newer[-q.page_size :]
        if page:
            if len(newer) > len(page):
                pagination["previous"] = encode_cursor(page[0])
            # `newer` is a prefix of `ordered`; anything after it is older than the page.
            if len(ordered) > len(newer):
                pagination["next"] = encode_cursor(page[-1])
    else:
        remaining = ordered
        if q.after is not None:
            cursor = decode_cursor(q.after, store.runs)
            remaining = [run for run in ordered if cursor.is_older(run)]
        page = remaining[: q.page_size]
        if len(remaining) > q.page_size:
            pagination["next"] = encode_cursor(page[-1])
        if q.after is not None and page:
            pagination["previous"] = encode_cursor(page[0])
    data = [list_item(run, call.new_vocabulary) for run in page]
    return {"data": data, "pagination": pagination}


def _authorize_list(credential: Credential, q: ListQuery) -> None:
    type_level: list[Resource] = [("runs", None), ("tasks", None)]
    if q.tasks:
        allowed = all(credential.allows("read", [("tasks", task), *type_level]) for task in q.tasks)
    else:
        allowed = credential.allows("read", type_level)
    if not allowed:
        forbidden()


async def list_runs(call: Call) -> web.StreamResponse:
    """``GET /api/v1/runs``: the calling environment's runs."""
    credential = authenticate(call, allow_jwt=True)
    q = parse_list_query(call)
    _authorize_list(credential, q)
    return json_response(list_page(call, [credential.env], q))


_SLUG_ALIASES: Final = {"stg": "staging"}


async def list_project_runs(call: Call) -> web.StreamResponse:
    """``GET /api/v1/projects/{projectRef}/runs``.

    The server takes a personal access token here; the emulator also takes secret keys.
    ``filter[env]`` picks environments by slug: the caller's own environment for its own
    slug, every environment of the project with that slug otherwise. Without it a secret key
    lists its own environment.
    """
    token = bearer_token(call)
    if token is None:
        fail(401, "Invalid or Missing PAT")
    own: Environment | None = None
    if KEY_PATTERN.match(token):
        resolved = environment_for_key(call.state.store, token, call.header("x-trigger-branch"))
        if isinstance(resolved, str):
            fail(401, resolved)
        own = resolved
    elif not PAT_PATTERN.match(token):
        fail(401, "Invalid PAT")
    if call.params["projectRef"] != PROJECT_REF:
        fail(404, "Project not found")
    q = parse_list_query(call)
    envs: list[Environment] = []
    if q.envs is None:
        if own is None:
            fail(500, "Internal Server Error")
        envs = [own]
    else:
        slugs = {_SLUG_ALIASES.get(slug, slug) for slug in q.envs}
        for slug in slugs:
            if own is not None and own.slug == slug:
                envs.append(own)
            else:
                envs.extend(e for e in call.state.store.environments() if e.slug == slug)
    return json_response(list_page(call, envs, q))


# single runs -----------------------------------------------------------------------------


def _run_resources(run_id: str, run: Run | None) -> list[Resource]:
    resources: list[Resource] = [("runs", run_id)]
    if run is not None:
        resources.append(("tasks", run.task_identifier))
    return resources


async def retrieve_run(call: Call) -> web.StreamResponse:
    """``GET /api/v3/runs/{runId}``."""
    credential = authenticate(call, allow_jwt=True)
    run = call.state.store.find_run(credential.env, call.params["runId"])
    if run is None:
        fail(404, "Not found", headers={"x-should-retry": "true"})
    resources = _run_resources(run.id, run)
    resources += [("tags", tag) for tag in run.tags]
    if run.batch_id is not None:
        resources.append(("batch", run.batch_id))
    if not credential.allows("read", resources):
        forbidden()
    return json_response(retrieve_body(call.state.store, run, call.new_vocabulary, call.base_url))


async def cancel(call: Call) -> web.StreamResponse:
    """``POST /api/v2/runs/{runId}/cancel``: final runs are left as they are."""
    credential = authenticate(call, allow_jwt=True)
    run_id = call.params["runId"]
    run = call.state.store.find_run(credential.env, run_id)
    if not credential.allows("write", _run_resources(run_id, run)):
        forbidden()
    if run is None:
        fail(404, "Resource not found")
    cancel_run(call.state, run)
    return json_response({"id": run.id})


REPLAY_BODY: Final = Object(
    {
        "payload": AnyValue(),
        "payloadType": String().optional(),
        "metadata": AnyValue(),
        "tags": OneOf((String(), Array(String()))).optional(),
        "queue": String().optional(),
        "concurrencyKey": OneOf((String(), Number())).optional(),
        "machine": Enum(MACHINE_PRESETS).optional(),
        "version": String().optional(),
        "region": String().optional(),
        "delay": OneOf((String(), CoerceDate())).optional(),
        "ttl": OneOf((String(), Number(integer=True, minimum=0))).optional(),
        "idempotencyKey": String().optional(),
        "idempotencyKeyTTL": String().optional(),
        "maxAttempts": Number(integer=True, minimum=1).optional(),
        "maxDuration": Number(minimum=0).optional(),
        "priority": Number().optional(),
    }
)


def replay_spec(
    credential: Credential, run: Run, overrides: dict[str, Any], *, bulk_action_id: str | None = None
) -> TriggerSpec:
    """The trigger that replays ``run``, with the replay body's ``overrides``."""
    payload = run.payload
    if "payload" in overrides:
        payload = make_packet(overrides["payload"], overrides.get("payloadType"))
    metadata = run.seed_metadata
    if "metadata" in overrides:
        metadata = metadata_packet(overrides["metadata"], None)
    concurrency_key = overrides.get("concurrencyKey", run.concurrency_key)
    if concurrency_key is not None and not isinstance(concurrency_key, str):
        concurrency_key = js_number_text(concurrency_key)
    return TriggerSpec(
        task_id=run.task_identifier,
        credential=credential,
        payload=payload,
        tags=overrides.get("tags", list(run.tags)),
        metadata=metadata,
        queue=overrides.get("queue", run.queue),
        concurrency_key=concurrency_key,
        delay=overrides.get("delay", MISSING),
        ttl=overrides.get("ttl", MISSING),
        idempotency_key=overrides.get("idempotencyKey"),
        idempotency_key_ttl=overrides.get("idempotencyKeyTTL"),
        machine=overrides.get("machine", run.machine),
        max_attempts=overrides.get("maxAttempts"),
        max_duration=overrides.get("maxDuration"),
        priority=overrides.get("priority"),
        is_test=run.is_test,
        lock_to_version=overrides.get("version"),
        region=overrides.get("region", run.region),
        trigger_source="api",
        replayed_from=run.id,
        bulk_action_id=bulk_action_id,
    )


async def replay(call: Call) -> web.StreamResponse:
    """``POST /api/v1/runs/{runId}/replay``: a new run from any run, whatever its status.

    Copies payload, payload type, test flag, tags, the metadata given at trigger time,
    concurrency key, machine, queue and region. The optional JSON body the official SDK can
    send overrides those and may add delay, ttl, idempotency key, attempts, duration,
    priority and version.
    """
    credential = authenticate(call, allow_jwt=False)
    overrides: dict[str, Any] = {}
    if call.body.strip():
        try:
            data = json.loads(call.body_text())
        except ValueError:
            fail(400, "Invalid JSON")
        parsed, issues = validate(REPLAY_BODY, data)
        if issues:
            fail(400, validation_error_text(issues))
        overrides = parsed
    run_id = call.params["runId"]
    run = call.state.store.find_run(credential.env, run_id)
    if not credential.allows("write", _run_resources(run_id, run)):
        forbidden()
    if run is None:
        fail(404, "Resource not found")
    try:
        result = trigger_run(call.state, replay_spec(credential, run, overrides))
    except ServiceError as exc:
        fail(400, exc.message)
    return json_response({"id": result.run.id})


RESCHEDULE_BODY: Final = Object({"delay": OneOf((String(), CoerceDate()))})


async def reschedule(call: Call) -> web.StreamResponse:
    """``POST /api/v1/runs/{runId}/reschedule`` (legacy route): only DELAYED runs move."""
    credential = authenticate_legacy(call, "Invalid or missing API Key")
    try:
        data = json.loads(call.body_text())
    except ValueError:
        # The server crashes (500) on malformed JSON; a 400 is the documented simplification.
        fail(400, "Invalid request body")
    parsed, issues = validate(RESCHEDULE_BODY, data)
    if issues:
        fail(400, "Invalid request body")
    raw_delay = parsed["delay"]
    now = call.state.clock.now_ms()
    delay_until = resolve_delay(raw_delay, now)
    if delay_until is None or delay_until <= now:
        shown = raw_delay if isinstance(raw_delay, str) else js_date_string(raw_delay)
        fail(400, f"Invalid delay: {shown}")
    run = call.state.store.find_run(credential.env, call.params["runId"])
    if run is None:
        fail(404, "Run not found")
    if run.status != "DELAYED":
        fail(400, "Cannot reschedule a run that is not delayed")
    run.delay_until = delay_until
    run.updated_at = now
    return json_response(retrieve_body(call.state.store, run, call.new_vocabulary, call.base_url))


ROUTES: Sequence[Route] = [
    Route("/api/v1/runs", loader=list_runs, cors=True),
    Route("/api/v1/projects/{projectRef}/runs", loader=list_project_runs, cors=True),
    Route("/api/v3/runs/{runId}", loader=retrieve_run, cors=True),
    Route("/api/v2/runs/{runId}/cancel", action=cancel),
    Route("/api/v1/runs/{runId}/replay", action=replay, action_methods=frozenset({"POST"})),
    Route(
        "/api/v1/runs/{runId}/reschedule",
        action=reschedule,
        action_methods=frozenset({"POST"}),
        legacy_wrong_method=True,
    ),
]
