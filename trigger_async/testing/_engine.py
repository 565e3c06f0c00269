"""The run engine: creating runs (trigger, replay, batch items) and moving them on.

``trigger_run`` follows the server's processing order, because that order decides which
error a request with several problems gets.
"""

from __future__ import annotations

import re
from typing import Any, Final

import attrs

from ._auth import Credential
from ._packets import Packet, make_packet
from ._state import State
from ._statuses import FAILURE_STATUSES, FINAL_STATUSES, INTERNAL_STATUSES, KEY_RELEASING_STATUSES
from ._store import Environment, Run
from ._timeutil import (
    DAY,
    HOUR,
    parse_duration_ms,
    parse_idempotency_ttl_ms,
    parse_js_date,
    stringify_duration,
)
from ._validation import MISSING

MAX_TAGS: Final = 10
METADATA_MAX_BYTES: Final = 262_144
DEFAULT_IDEMPOTENCY_TTL_MS: Final = 30 * DAY
REQUEST_IDEMPOTENCY_TTL_MS: Final = 24 * HOUR
DEV_DEFAULT_TTL: Final = "10m"
INT32_MAX: Final = 2_147_483_647
_QUEUE_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_\-/.]")


class ServiceError(Exception):
    """A service validation error: 422 unless it carries another status."""

    def __init__(self, message: str, status: int = 422, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra


@attrs.frozen
class TriggerSpec:
    """A normalised trigger request, whichever endpoint it came from."""

    task_id: str
    credential: Credential
    payload: Packet
    context: Any = None
    tags: Any = MISSING  # str | list[str] | MISSING, as sent
    metadata: Packet | None = None
    queue: str | None = None
    concurrency_key: str | None = None
    delay: Any = MISSING  # str, epoch ms (a coerced Date) or MISSING
    ttl: Any = MISSING  # str, seconds or MISSING
    idempotency_key: str | None = None
    idempotency_key_ttl: str | None = None
    idempotency_key_user: str | None = None
    idempotency_key_scope: str | None = None
    machine: str | None = None
    max_attempts: int | None = None
    max_duration: float | None = None
    priority: float | None = None
    is_test: bool = False
    lock_to_version: str | None = None
    region: str | None = None
    parent_run_id: str | None = None
    resume_parent_on_completion: bool = False
    bulk_action_id: str | None = None
    request_key: str | None = None
    trigger_source: str = "api"
    trigger_version: str | None = None
    replayed_from: str | None = None
    batch_id: str | None = None


@attrs.frozen
class TriggerResult:
    """The run a trigger produced or found, and whether the answer says ``isCached``."""

    run: Run
    cached: bool


def resolve_delay(value: Any, now_ms: int) -> int | None:
    """When a delayed run should start, or ``None`` when the delay is to be ignored.

    Dates in the past and unparseable strings are silently ignored, as the server does.
    """
    if value is MISSING or value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # an already-coerced Date is used as is
    if not isinstance(value, str):
        return None
    moment = parse_js_date(value)
    if moment is not None:
        return moment if moment > now_ms else None
    duration = parse_duration_ms(value)
    return now_ms + duration if duration is not None else None


def sanitize_queue_name(name: str) -> str:
    """Queue names keep letters, digits, ``_ - / .`` and at most 128 characters."""
    return _QUEUE_NAME_UNSAFE.sub("", name)[:128]


def _tag_list(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [t for t in raw if isinstance(t, str)]
    return []


def trigger_run(state: State, spec: TriggerSpec) -> TriggerResult:
    """Create a run (or find the one an idempotency key names)."""
    store = state.store
    env = spec.credential.env
    now = state.clock.now_ms()
    task = spec.task_id

    if (
        spec.parent_run_id
        and spec.credential.is_public_token
        and not spec.credential.allows("write", [("runs", spec.parent_run_id)])
    ):
        raise ServiceError("Unauthorized", 403)

    request_scope = (env.id, task, spec.request_key or "")
    if state.settings.dedupe_request_idempotency and spec.request_key:
        hit = store.request_idempotency.get(request_scope)
        if hit is not None and hit[1] > now:
            existing = store.find_run(env, hit[0])
            if existing is not None:
                # The intended replay answers the first run again with isCached false.
                return TriggerResult(existing, False)

    raw_tags = _tag_list(spec.tags)
    if len(raw_tags) > MAX_TAGS:
        raise ServiceError(f"Runs can only have {MAX_TAGS} tags, you're trying to set {len(raw_tags)}.")
    tags: list[str] = []
    for tag in raw_tags:
        if tag.strip() and tag not in tags:
            tags.append(tag)

    delay_until = resolve_delay(spec.delay, now)

    parent = store.find_run(env, spec.parent_run_id) if spec.parent_run_id else None
    if parent is not None and spec.resume_parent_on_completion and parent.is_final:
        raise ServiceError(f"Cannot trigger {task} as the parent run has a status of {parent.status}")

    key = spec.idempotency_key or None
    if key is not None:
        existing_id = store.idempotency.get((env.id, task, key))
        existing = store.runs.get(existing_id) if existing_id else None
        if existing is not None:
            expired = existing.idempotency_key_expires_at is not None and existing.idempotency_key_expires_at < now
            if expired or existing.status in KEY_RELEASING_STATUSES:
                existing.idempotency_key = None
                existing.idempotency_key_user = None
                existing.idempotency_key_scope = None
                existing.idempotency_key_expires_at = None
                del store.idempotency[(env.id, task, key)]
            else:
                if spec.resume_parent_on_completion and spec.parent_run_id and parent is None:
                    raise ServiceError("Parent run not found in the calling environment", 404)
                return TriggerResult(existing, True)

    queue = sanitize_queue_name(spec.queue) if spec.queue else f"task/{task}"

    ttl: str | None
    if spec.ttl is MISSING or spec.ttl is None:
        ttl = DEV_DEFAULT_TTL if env.type == "DEVELOPMENT" else None
    elif isinstance(spec.ttl, str):
        ttl = spec.ttl
    else:
        ttl = stringify_duration(spec.ttl)

    if spec.metadata is not None and spec.metadata.size > METADATA_MAX_BYTES:
        raise ServiceError(f"Metadata exceeds maximum size of {METADATA_MAX_BYTES} bytes", 413)

    token_hash: str | None = None
    if spec.credential.one_time_use:
        token_hash = spec.credential.token_hash
        if token_hash in store.used_one_time_tokens:
            raise ServiceError(f"Cannot trigger {task} with a one-time use token as it has already been used.")

    idempotency_expires: int | None = None
    if key is not None:
        ttl_ms = parse_idempotency_ttl_ms(spec.idempotency_key_ttl)
        idempotency_expires = now + (ttl_ms if ttl_ms is not None else DEFAULT_IDEMPOTENCY_TTL_MS)

    max_duration = spec.max_duration
    if max_duration is not None:
        max_duration = min(max(max_duration, 5), INT32_MAX)
    priority_ms: int | None = None
    if spec.priority is not None:
        priority_ms = min(max(round(spec.priority * 1000), -INT32_MAX - 1), INT32_MAX)

    run_id = store.new_run_id()
    run = Run(
        id=run_id,
        env=env,
        task_identifier=task,
        status="DELAYED" if delay_until is not None else "PENDING",
        created_at=now,
        updated_at=now,
        payload=store.offload(spec.payload, f"{run_id}/payload"),
        queue=queue,
        is_test=spec.is_test,
        tags=tags,
        seed_metadata=spec.metadata,
        metadata=spec.metadata,
        context=spec.context,
        idempotency_key=key,
        idempotency_key_user=spec.idempotency_key_user if key is not None else None,
        idempotency_key_scope=spec.idempotency_key_scope if key is not None else None,
        idempotency_key_expires_at=idempotency_expires,
        version=spec.lock_to_version,
        delay_until=delay_until,
        queued_at=None if delay_until is not None else now,
        ttl=ttl,
        depth=parent.depth + 1 if parent is not None else 0,
        parent_id=parent.id if parent is not None else None,
        root_id=(parent.root_id or parent.id) if parent is not None else None,
        resume_parent_on_completion=spec.resume_parent_on_completion and parent is not None,
        concurrency_key=spec.concurrency_key,
        machine=spec.machine,
        max_attempts=spec.max_attempts,
        max_duration=None if max_duration is None else int(max_duration),
        priority_ms=priority_ms,
        region=spec.region if env.type != "DEVELOPMENT" else None,
        bulk_action_ids=[spec.bulk_action_id] if spec.bulk_action_id else [],
        trigger_source=spec.trigger_source,
        trigger_version=spec.trigger_version,
        replayed_from=spec.replayed_from,
        one_time_use_token=token_hash,
        batch_id=spec.batch_id,
    )
    store.add_run(run)
    # A task's own queue exists from its first run; a named queue from the first run using it.
    store.ensure_queue(env, f"task/{task}")
    if queue:
        store.ensure_queue(env, queue)
    if key is not None:
        store.idempotency[(env.id, task, key)] = run.id
    if token_hash is not None:
        store.used_one_time_tokens.add(token_hash)
    if state.settings.dedupe_request_idempotency and spec.request_key:
        store.request_idempotency[request_scope] = (run.id, now + REQUEST_IDEMPOTENCY_TTL_MS)
    return TriggerResult(run, False)


# lifecycle -------------------------------------------------------------------------------


def cancel_run(state: State, run: Run) -> None:
    """Cancel a run that is not final, and its descendants."""
    if run.is_final:
        return
    now = state.clock.now_ms()
    run.status = "CANCELED"
    run.finished_at = run.updated_at = now
    run.error = {"message": "Canceled by user"}
    for child in state.store.children_of(run):
        cancel_run(state, child)


def start_run(state: State, run: Run) -> None:
    """QUEUED/DEQUEUED (or retrying/waiting) -> EXECUTING, as a worker picking it up."""
    if run.status not in {"PENDING", "DEQUEUED", "RETRYING_AFTER_FAILURE", "WAITING_TO_RESUME"}:
        raise ValueError(f"run {run.id} is {run.status} and cannot start")
    now = state.clock.now_ms()
    if run.status != "WAITING_TO_RESUME":
        run.attempt_count += 1
    run.status = "EXECUTING"
    if run.started_at is None:
        run.started_at = now
    run.updated_at = now


def _finish(state: State, run: Run, status: str) -> None:
    if run.is_final:
        raise ValueError(f"run {run.id} is already {run.status}")
    now = state.clock.now_ms()
    if run.started_at is None:
        run.started_at = now
    run.attempt_count = max(run.attempt_count, 1)
    run.status = status
    run.finished_at = run.updated_at = now


def complete_run(state: State, run: Run, output: Any) -> None:
    """Finish successfully with a JSON ``output`` (``None``: the task returned nothing).

    An output of 512 KiB or more is offloaded to the object store, as the server does.
    """
    _finish(state, run, "COMPLETED_SUCCESSFULLY")
    if output is not None:
        run.output = state.store.offload(make_packet(output, None), f"{run.id}/output")


def fail_run(state: State, run: Run, error: Any, status: str) -> None:
    """Finish with a failure status and an error (a message or a serialized error object)."""
    if status not in FAILURE_STATUSES:
        raise ValueError(f"{status!r} is not a failure status: {sorted(FAILURE_STATUSES)}")
    _finish(state, run, status)
    run.error = dict(error) if isinstance(error, dict) else {"message": str(error)}


def set_run_status(state: State, run: Run, status: str) -> None:
    """Force an internal status (for states no control reaches, e.g. WAITING_TO_RESUME)."""
    if status not in INTERNAL_STATUSES:
        raise ValueError(f"unknown internal status {status!r}")
    now = state.clock.now_ms()
    if status in FINAL_STATUSES and run.finished_at is None:
        run.finished_at = now
    if status == "EXECUTING" and run.started_at is None:
        run.started_at = now
    if status == "PENDING" and run.queued_at is None:
        run.queued_at = now
    if status == "EXPIRED" and run.expired_at is None:
        run.expired_at = now
    run.status = status
    run.updated_at = now


def create_failed_run(state: State, env: Environment, task: str, payload: Packet, message: str, batch_id: str) -> Run:
    """A pre-failed run (SYSTEM_FAILURE) standing in for a batch item that could not trigger."""
    store = state.store
    now = state.clock.now_ms()
    run = Run(
        id=store.new_run_id(),
        env=env,
        task_identifier=task,
        status="SYSTEM_FAILURE",
        created_at=now,
        updated_at=now,
        payload=payload,
        queue=f"task/{task}",
        finished_at=now,
        error={"message": message},
        batch_id=batch_id,
    )
    store.add_run(run)
    return run
