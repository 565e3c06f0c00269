"""``tasks``: trigger runs of a task."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from .._base import CallScope, Resource, request_options_of
from .._config import RequestOptions
from .._context import TaskContext
from .._converter import structure
from .._idempotency import wire_fields
from .._jwt import AUDIENCE, ISSUER, sign_hs256
from .._serialization import UNDEFINED, encode_path_segment, serialize_packet, utf8_len
from .._validation import (
    delay_value,
    idempotency_ttl_value,
    json_object,
    machine_value,
    optional_number,
    optional_str,
    require_str,
    seconds_of,
    tags_value,
    ttl_value,
)
from ..errors import InvalidArgumentError, InvalidArgumentTypeError
from ..models.runs import RunHandle

__all__ = ["Tasks"]

_CONCURRENCY_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,122}$")
DEFAULT_TOKEN_LIFETIME = 3600


def _concurrency(value: object) -> list[str] | None:
    if value is None:
        return None
    names = (
        [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) else None
    )
    if names is None:
        raise InvalidArgumentTypeError(
            "concurrency", f"expected a str or a list of str, got {type(value).__name__}"
        )
    if len(names) > 2:
        raise InvalidArgumentError(
            "concurrency", "The concurrency option accepts at most two named limits."
        )
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                "concurrency", "The concurrency option takes limit names: non-empty strings."
            )
        if not _CONCURRENCY_NAME.match(name):
            raise InvalidArgumentError(
                "concurrency",
                f'Concurrency limit "{name}": names are 1-122 characters using only letters, '
                "numbers, underscores and hyphens.",
            )
    return names


def _debounce(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if hasattr(value, "to_wire"):
        wire: dict[str, Any] = value.to_wire()
        return wire
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(
            "debounce", f"expected a mapping, got {type(value).__name__}"
        )
    unknown = set(value) - {"key", "delay", "mode", "maxDelay"}
    if unknown:
        raise InvalidArgumentError("debounce", f"unknown key(s) {', '.join(sorted(unknown))}")
    key = value.get("key")
    if not isinstance(key, str) or not key or len(key) > 512:
        raise InvalidArgumentError(
            "debounce.key", "must be a non-empty str of at most 512 characters"
        )
    if not isinstance(value.get("delay"), str):
        raise InvalidArgumentError("debounce.delay", "must be a duration string such as '5s'")
    if value.get("mode") not in (None, "leading", "trailing"):
        raise InvalidArgumentError("debounce.mode", "must be 'leading' or 'trailing'")
    return dict(value)


def _concurrency_key(value: object) -> str | int | float | None:
    if value is None or isinstance(value, str):
        return value
    return optional_number(value, "concurrency_key")


def _external_deployment_id(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate is None:
            continue
        trimmed = candidate.strip()
        if trimmed and len(trimmed) <= 128:
            return trimmed
    return None


def trigger_options(
    scope: CallScope,
    *,
    payload_type: str,
    payload_size: int | None,
    queue: str | None,
    concurrency: object,
    concurrency_key: object,
    idempotency_key: object,
    idempotency_key_ttl: object,
    delay: object,
    ttl: object,
    tags: object,
    max_attempts: object,
    metadata: object,
    max_duration: object,
    machine: object,
    priority: object,
    region: object,
    version: object,
    external_deployment_id: object,
    debounce: object,
    with_key_options: bool = True,
) -> dict[str, Any]:
    """The ``options`` object of a trigger, keys in the official SDK's order."""
    ctx: TaskContext | None = scope.task
    key, key_options = wire_fields(idempotency_key, ctx)
    # With inherit_context (and for module-level calls) the task's version and the
    # TRIGGER_VERSION / TRIGGER_EXTERNAL_DEPLOYMENT_ID captured at construction apply.
    inherit = scope.config.inherit_context
    version_value = optional_str(version, "version")
    if version_value is None and inherit:
        version_value = (ctx.version if ctx else None) or scope.config.env_version
    deployment = _external_deployment_id(
        optional_str(external_deployment_id, "external_deployment_id"),
        scope.config.external_deployment_id,
        *(
            (ctx.external_deployment_id if ctx else None, scope.config.env_external_deployment_id)
            if inherit
            else ()
        ),
    )
    entries: list[tuple[str, Any]] = [
        ("queue", {"name": require_str(queue, "queue")} if queue is not None else None),
        ("concurrency", _concurrency(concurrency)),
        ("concurrencyKey", _concurrency_key(concurrency_key)),
        ("test", ctx.is_test if ctx is not None else None),
        ("payloadType", payload_type),
        ("payloadSize", payload_size),
        ("idempotencyKey", key),
        ("idempotencyKeyTTL", idempotency_ttl_value(idempotency_key_ttl)),
        ("idempotencyKeyOptions", key_options if with_key_options else None),
        ("delay", delay_value(delay)),
        ("ttl", ttl_value(ttl)),
        ("tags", tags_value(tags)),
        ("maxAttempts", optional_number(max_attempts, "max_attempts", minimum=1, integer=True)),
        ("metadata", json_object(metadata, "metadata")),
        ("maxDuration", seconds_of(max_duration, "max_duration")),
        ("parentRunId", ctx.run_id if ctx is not None else None),
        ("machine", machine_value(machine)),
        ("priority", seconds_of(priority, "priority", minimum=-math.inf)),
        ("region", optional_str(region, "region")),
        ("lockToVersion", version_value),
        ("externalDeploymentId", deployment),
        ("debounce", _debounce(debounce)),
    ]
    return {name: value for name, value in entries if value is not None}


def expiration_exp(value: object, now: int, default: int, argument: str) -> int:
    """``exp`` for a token: a duration string/timedelta from now, absolute epoch seconds
    (int), or an aware datetime."""
    from .._durations import parse_time_span

    if value is None:
        return now + default
    if isinstance(value, bool):
        raise InvalidArgumentTypeError(argument, "expected a duration, a datetime or epoch seconds")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, timedelta):
        return now + int(value.total_seconds())
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidArgumentError(argument, "naive datetime; pass a timezone-aware datetime")
        return math.floor(value.timestamp())
    if isinstance(value, str):
        return now + parse_time_span(value, argument)
    raise InvalidArgumentTypeError(
        argument, f"expected a duration, a datetime or epoch seconds, got {type(value).__name__}"
    )


def public_token(
    scope: CallScope,
    headers: Mapping[str, str],
    scopes: list[str],
    options: RequestOptions | None,
    argument: str = "request_options.public_access_token",
) -> str:
    """The server's ``x-trigger-jwt`` if it sent one, else a token signed here (as the SDK)."""
    server_token = headers.get("x-trigger-jwt")
    if server_token:
        return server_token
    claims: dict[str, Any] = {}
    raw_claims = headers.get("x-trigger-jwt-claims")
    if raw_claims:
        try:
            parsed = json.loads(raw_claims)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            claims.update(parsed)
    claims["scopes"] = scopes
    now = int(time.time())
    expiration = (options.public_access_token or {}).get("expiration_time") if options else None
    claims.update(
        iss=ISSUER,
        aud=AUDIENCE,
        exp=expiration_exp(expiration, now, DEFAULT_TOKEN_LIFETIME, f"{argument}.expiration_time"),
        iat=now,
    )
    return sign_hs256(claims, scope.token)


def task_id_of(task: object) -> str:
    """A task id from a string or a task reference (anything with an ``id``)."""
    task_id = task if isinstance(task, str) else getattr(task, "id", None)
    if not isinstance(task_id, str):
        raise InvalidArgumentTypeError(
            "task", f"expected a task id or a TaskRef, got {type(task).__name__}"
        )
    if not task_id:
        raise InvalidArgumentError("task", "must not be empty")
    return task_id


class Tasks(Resource):
    """Trigger runs of a task."""

    async def trigger(
        self,
        task: Any,
        payload: Any = UNDEFINED,
        *,
        queue: str | None = None,
        concurrency: str | Sequence[str] | None = None,
        concurrency_key: str | int | None = None,
        idempotency_key: str | Sequence[str] | None = None,
        idempotency_key_ttl: str | timedelta | None = None,
        delay: str | datetime | timedelta | None = None,
        ttl: str | int | timedelta | None = None,
        tags: str | Sequence[str] | None = None,
        max_attempts: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_duration: float | timedelta | None = None,
        machine: str | None = None,
        priority: float | timedelta | None = None,
        region: str | None = None,
        version: str | None = None,
        external_deployment_id: str | None = None,
        debounce: Mapping[str, Any] | None = None,
        request_options: RequestOptions | None = None,
    ) -> RunHandle:
        """Trigger one run of ``task`` (a task id or a ``TaskRef``) with ``payload``.

        ``payload`` may be any JSON-like value (dicts, lists, aware datetimes, sets, big
        ints, attrs/dataclass instances); a ``str`` is sent as plain text. Keys are never
        renamed. Returns a :class:`RunHandle` with the run id and a public access token.
        """
        task_id = task_id_of(task)
        path = f"/api/v1/tasks/{encode_path_segment(task_id, argument='task')}/trigger"
        options_arg = request_options_of(request_options)
        data, payload_type = serialize_packet(payload)
        scope = self._scope()
        options = trigger_options(
            scope,
            payload_type=payload_type,
            payload_size=utf8_len(data) if data is not None else 0,
            queue=queue,
            concurrency=concurrency,
            concurrency_key=concurrency_key,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            delay=delay,
            ttl=ttl,
            tags=tags,
            max_attempts=max_attempts,
            metadata=metadata,
            max_duration=max_duration,
            machine=machine,
            priority=priority,
            region=region,
            version=version,
            external_deployment_id=external_deployment_id,
            debounce=debounce,
        )
        _ = scope.token  # no token: fail before anything is sent
        body: dict[str, Any] = {} if data is None else {"payload": data}
        body["options"] = options
        response = await self._request(
            "POST", path, scope=scope, body=body, request_options=options_arg, span_link=True
        )
        created = structure(
            response.body, _TriggerResponse, status=response.status, headers=response.headers
        )
        token = public_token(scope, response.headers, [f"read:runs:{created.id}"], options_arg)
        return RunHandle(
            id=created.id,
            public_access_token=token,
            is_cached=created.is_cached,
            task_identifier=task_id,
        )


@attrs.frozen
class _TriggerResponse:
    id: str
    is_cached: bool | None = None
