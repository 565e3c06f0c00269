"""``tasks``: trigger runs of a task."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

import attrs

from .._base import CallScope, Resource, request_options_of
from .._config import RequestOptions
from .._context import TaskContext
from .._converter import parse
from .._idempotency import wire_fields
from .._jwt import AUDIENCE, ISSUER, server_minting_kind, sign_hs256
from .._serialization import UNDEFINED, encode_path_segment, serialize_packet, utf8_len
from .._taskref import TaskRef
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
from ..errors import InvalidArgumentError, InvalidArgumentTypeError, TriggerError
from ..models.batches import BatchHandle
from ..models.runs import RunHandle
from ..options import Debounce
from ._offload import OFFLOAD_THRESHOLD, offload

__all__ = ["Tasks"]

P = TypeVar("P")
O = TypeVar("O")  # noqa: E741

_CONCURRENCY_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,122}$")
DEFAULT_TOKEN_LIFETIME = 3600


def _concurrency(value: object) -> list[str] | None:
    if value is None:
        return None
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) else None
    if names is None:
        raise InvalidArgumentTypeError("concurrency", f"expected a str or a list of str, got {type(value).__name__}")
    if len(names) > 2:
        raise InvalidArgumentError("concurrency", "The concurrency option accepts at most two named limits.")
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError("concurrency", "The concurrency option takes limit names: non-empty strings.")
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
        raise InvalidArgumentTypeError("debounce", f"expected a mapping, got {type(value).__name__}")
    unknown = set(value) - {"key", "delay", "mode", "maxDelay"}
    if unknown:
        raise InvalidArgumentError("debounce", f"unknown key(s) {', '.join(sorted(unknown))}")
    key = value.get("key")
    if not isinstance(key, str) or not key or len(key) > 512:
        raise InvalidArgumentError("debounce.key", "must be a non-empty str of at most 512 characters")
    if not isinstance(value.get("delay"), str):
        raise InvalidArgumentError("debounce.delay", "must be a duration string such as '5s'")
    if value.get("mode") not in (None, "leading", "trailing"):
        raise InvalidArgumentError("debounce.mode", "must be 'leading' or 'trailing'")
    if value.get("maxDelay") is not None and not isinstance(value.get("maxDelay"), str):
        raise InvalidArgumentError("debounce.maxDelay", "must be a duration string such as '1m'")
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


OPTION_NAMES = frozenset(
    {
        "queue",
        "concurrency",
        "concurrency_key",
        "idempotency_key",
        "idempotency_key_ttl",
        "delay",
        "ttl",
        "tags",
        "max_attempts",
        "metadata",
        "max_duration",
        "machine",
        "priority",
        "region",
        "version",
        "external_deployment_id",
        "debounce",
    }
)
# Key orders of the official SDK: a single trigger's options, and a batch item's.
TRIGGER_ORDER = (
    "queue",
    "concurrency",
    "concurrencyKey",
    "test",
    "payloadType",
    "payloadSize",
    "idempotencyKey",
    "idempotencyKeyTTL",
    "idempotencyKeyOptions",
    "delay",
    "ttl",
    "tags",
    "maxAttempts",
    "metadata",
    "maxDuration",
    "parentRunId",
    "machine",
    "priority",
    "region",
    "lockToVersion",
    "externalDeploymentId",
    "debounce",
)
ITEM_ORDER = (
    "queue",
    "concurrency",
    "concurrencyKey",
    "test",
    "payloadType",
    "delay",
    "ttl",
    "tags",
    "maxAttempts",
    "metadata",
    "maxDuration",
    "idempotencyKey",
    "idempotencyKeyTTL",
    "idempotencyKeyOptions",
    "machine",
    "priority",
    "region",
    "lockToVersion",
    "externalDeploymentId",
    "debounce",
    "payloadSize",
)


def option_values(scope: CallScope, options: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Validated wire values of trigger options given by their Python names.

    The idempotency key and the payload fields are left to the caller, which knows whether
    this is a single trigger or a batch item.
    """
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise InvalidArgumentError(f"{prefix}options", f"unknown option(s) {', '.join(unknown)}")

    def arg(name: str) -> str:
        return f"{prefix}{name}"

    ctx: TaskContext | None = scope.task
    # With inherit_context (and for module-level calls) the task's version and the
    # TRIGGER_VERSION / TRIGGER_EXTERNAL_DEPLOYMENT_ID captured at construction apply.
    inherit = scope.config.inherit_context
    version_value = optional_str(options.get("version"), arg("version"))
    if version_value is None and inherit:
        version_value = (ctx.version if ctx else None) or scope.config.env_version
    deployment = _external_deployment_id(
        optional_str(options.get("external_deployment_id"), arg("external_deployment_id")),
        scope.config.external_deployment_id,
        *((ctx.external_deployment_id if ctx else None, scope.config.env_external_deployment_id) if inherit else ()),
    )
    queue = options.get("queue")
    values = {
        "queue": {"name": require_str(queue, arg("queue"))} if queue is not None else None,
        "concurrency": _concurrency(options.get("concurrency")),
        "concurrencyKey": _concurrency_key(options.get("concurrency_key")),
        "test": ctx.is_test if ctx is not None else None,
        "idempotencyKeyTTL": idempotency_ttl_value(options.get("idempotency_key_ttl"), arg("idempotency_key_ttl")),
        "delay": delay_value(options.get("delay"), arg("delay")),
        "ttl": ttl_value(options.get("ttl"), arg("ttl")),
        "tags": tags_value(options.get("tags"), arg("tags")),
        "maxAttempts": optional_number(options.get("max_attempts"), arg("max_attempts"), minimum=1, integer=True),
        "metadata": json_object(options.get("metadata"), arg("metadata")),
        "maxDuration": seconds_of(options.get("max_duration"), arg("max_duration")),
        "parentRunId": ctx.run_id if ctx is not None else None,
        "machine": machine_value(options.get("machine"), arg("machine")),
        "priority": seconds_of(options.get("priority"), arg("priority"), minimum=-math.inf),
        "region": optional_str(options.get("region"), arg("region")),
        "lockToVersion": version_value,
        "externalDeploymentId": deployment,
        "debounce": _debounce(options.get("debounce")),
    }
    return {name: value for name, value in values.items() if value is not None}


def ordered(values: Mapping[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    return {name: values[name] for name in order if values.get(name) is not None}


def expiration_exp(value: object, now: int, default: int, argument: str) -> int:
    """``exp`` for a token: a duration string/timedelta from now, absolute epoch seconds
    (int), or an aware datetime."""
    from .._durations import parse_time_span

    if value is None:
        return now + default
    if isinstance(value, bool):
        raise InvalidArgumentTypeError(argument, "expected a duration, a datetime or epoch seconds")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidArgumentError(argument, f"must be a finite number of epoch seconds, got {value!r}")
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
    created: str,
    argument: str = "request_options.public_access_token",
) -> str:
    """The server's ``x-trigger-jwt`` if it sent one, else a token signed here (as the SDK)."""
    server_token = headers.get("x-trigger-jwt")
    if server_token:
        return server_token
    kind = server_minting_kind(scope.token)
    if kind is not None:
        # Its signature could never verify: say so rather than hand out a dead token.
        raise TriggerError(
            "This credential cannot self-sign public tokens, and the server did not return one. Upgrade the "
            f"server or use the root API key. (The {created} was created.)"
        )
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
        raise InvalidArgumentTypeError("task", f"expected a task id or a TaskRef, got {type(task).__name__}")
    if not task_id:
        raise InvalidArgumentError("task", "must not be empty")
    return task_id


class Tasks(Resource):
    """Trigger runs of a task."""

    @overload
    async def trigger(
        self,
        task: TaskRef[P, O],
        payload: P,
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
        debounce: Mapping[str, Any] | Debounce | None = None,
        request_options: RequestOptions | None = None,
    ) -> RunHandle[O]: ...

    @overload
    async def trigger(
        self,
        task: str,
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
        debounce: Mapping[str, Any] | Debounce | None = None,
        request_options: RequestOptions | None = None,
    ) -> RunHandle[Any]: ...

    async def trigger(
        self,
        task: TaskRef[Any, Any] | str,
        payload: Any = UNDEFINED,
        *,
        request_options: RequestOptions | None = None,
        **options: Any,
    ) -> RunHandle[Any]:
        """Trigger one run of ``task`` (a task id or a ``TaskRef``) with ``payload``.

        ``payload`` may be any JSON-like value (dicts, lists, aware datetimes, sets, big
        ints, attrs/dataclass instances); a ``str`` is sent as plain text; a payload of
        128 KiB or more goes through object storage first. Keys are never renamed. Returns a
        :class:`RunHandle` with the run id and a public access token for the run.
        """
        task_id = task_id_of(task)
        path = f"/api/v1/tasks/{encode_path_segment(task_id, argument='task')}/trigger"
        options_arg = request_options_of(request_options)
        data, payload_type = serialize_packet(payload)
        scope = self._scope()
        values = option_values(scope, options)
        values["idempotencyKey"], values["idempotencyKeyOptions"] = wire_fields(
            options.get("idempotency_key"), scope.task
        )
        _ = scope.token  # no token: fail before anything is sent
        size = utf8_len(data) if data is not None else 0
        if data is not None and size >= OFFLOAD_THRESHOLD:
            data = await offload(self, scope, data, payload_type, options_arg)
            payload_type = "application/store"
        values.update(payloadType=payload_type, payloadSize=size)
        body: dict[str, Any] = {} if data is None else {"payload": data}
        body["options"] = ordered(values, TRIGGER_ORDER)
        response = await self._request(
            "POST", path, scope=scope, body=body, request_options=options_arg, span_link=True
        )
        created = parse(response, _TriggerResponse)
        token = public_token(scope, response.headers, [f"read:runs:{created.id}"], options_arg, f"run {created.id}")
        return RunHandle(
            id=created.id,
            public_access_token=token,
            is_cached=created.is_cached,
            task_identifier=task_id,
            output_type=getattr(task, "output_type", None),
        )

    async def batch_trigger(
        self,
        task: TaskRef[Any, Any] | str,
        items: Any,
        *,
        idempotency_key: str | Sequence[str] | None = None,
        idempotency_key_ttl: str | timedelta | None = None,
        request_options: RequestOptions | None = None,
    ) -> BatchHandle:
        """Trigger many runs of one task in one batch.

        ``items`` is a sequence, iterable or async iterable of ``BatchItem(payload,
        **options)`` or ``{"payload": ..., "options": {...}}`` (options use the keyword
        names of :meth:`trigger`). Failures raise ``BatchTriggerError`` naming the phase.
        """
        from .batch import run_batch

        task_id = task_id_of(task)
        return await run_batch(
            self,
            items,
            default_task=task_id,
            item_task_key=None,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            request_options=request_options,
            with_key_options=True,
        )


@attrs.frozen
class _TriggerResponse:
    id: str
    is_cached: bool | None = None
